"""Backups before migrating: pg_dump from the wheel, mode 0600, a failed backup stops the run."""

from __future__ import annotations

import stat

import psycopg
import pytest

from app.core.backup import BackupFailed, backup, backup_folder, client_command
from app.core.connect import Target
from app.core.dirs import data_dir
from app.core.protection import Action, confirm, requirement
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _backups(db: Database) -> list:
    folder = data_dir() / "backups" / db.name
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_migrate_backup_writes_schema_and_history_first(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    database.execute("INSERT INTO users VALUES (1, 'secret-row@example.org')")
    migrations.add("orders", "CREATE TABLE orders (id bigint PRIMARY KEY);\n")
    r = run_cli("migrate", *_args(database, migrations), "--backup")
    assert r.code == 0, r.stderr
    [path] = _backups(database)
    assert f"written to {path}" in r.stdout
    assert path.suffix == ".sql"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "CREATE TABLE public.users" in text
    assert "CREATE TABLE public.orders" not in text, "the backup is taken before anything runs"
    assert "20260101000001_users.sql" in text, "history rows are in it"
    assert "secret-row@example.org" not in text, "schema mode holds no user data"
    assert database.server.password not in text


def test_full_backup_is_custom_format(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE keep (v text); INSERT INTO keep VALUES ('row-data-here')")
    migrations.add("t", "CREATE TABLE t (id int);\n")
    r = run_cli("migrate", *_args(database, migrations), "--backup=full")
    assert r.code == 0, r.stderr
    [path] = _backups(database)
    assert path.suffix == ".dump" and path.read_bytes()[:5] == b"PGDMP"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_failed_backup_stops_migrate_with_nothing_run(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    blocker = data_dir() / "backups" / database.name
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the backup folder should be")  # root ignores permission bits
    try:
        r = run_cli("migrate", *_args(database, migrations), "--backup")
    finally:
        blocker.unlink()
    assert r.code == 2
    assert "backup failed" in r.stderr and "nothing ran" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not database.exists("public.users")
    assert not database.exists("public._migrations")


def test_pg_dump_failure_is_reported_and_leaves_no_file(database: Database, tmp_path) -> None:
    database.execute("CREATE TABLE busy (id int)")
    target = Target(database.dsn, "--dsn")
    with database.connect() as holder:
        holder.execute("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(BackupFailed) as err:
            backup(target, root=tmp_path, lock_wait_s=1)
        holder.execute("ROLLBACK")
    assert "pg_dump" in str(err.value) and "lock" in str(err.value)
    assert database.server.password not in str(err.value)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_login_failure_is_a_backup_failure(database: Database, tmp_path) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database.dsn)
    params["password"] = "wrong-" + str(params["password"])
    target = Target(psycopg.conninfo.make_conninfo(**params), "--dsn")
    with pytest.raises(BackupFailed) as err:
        backup(target, root=tmp_path)
    assert "wrong-" not in str(err.value)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_password_reaches_pg_dump_only_through_its_environment(database: Database, tmp_path) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database.dsn)
    password = params.pop("password")
    target = Target(psycopg.conninfo.make_conninfo(**params), "environment prod", "prod",
                    password=str(password), protected=True)
    args, env = client_command(target)
    assert all(str(password) not in a for a in args)
    assert env["PGPASSWORD"] == password
    result = backup(target, root=tmp_path)
    assert result.path.parent == tmp_path / "prod" == backup_folder(target, tmp_path)
    assert "CREATE SCHEMA" in result.path.read_text() or "PostgreSQL database dump" in result.path.read_text()


def test_protected_environment_backs_up_by_default(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    target = Target(database.dsn, "environment production", "production-" + database.name, protected=True)
    runner = MigrationRunner(target, migrations.path)
    said: list[str] = []
    need = requirement(target, Action.MIGRATE)
    result = runner.run_migrations(confirmed=confirm(need, typed=need.name),
                                   progress=lambda e: said.append(e.message))
    assert result.backup is not None and result.backup.path.is_file()
    assert any("written to" in s for s in said)
    folder = data_dir() / "backups" / target.environment
    assert list(folder.iterdir()) == [result.backup.path]
    # The backup was taken before the run: it holds no table t.
    assert "CREATE TABLE public.t (" not in result.backup.path.read_text()

    u = migrations.add("u", "CREATE TABLE u (id int);\n")
    said.clear()
    result = runner.run_migrations(confirmed=confirm(need, typed=need.name, no_backup=True),
                                   progress=lambda e: said.append(e.message))
    assert result.backup is None and [m.name for m in result.applied] == [u.name]
    assert any("warning: no backup" in s for s in said)
    assert len(list(folder.iterdir())) == 1


def test_unprotected_target_is_not_backed_up_unless_asked(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert _backups(database) == []
