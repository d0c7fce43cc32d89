"""Inputs a user can cause are one-line errors (exit 2), never an internal error (exit 70).

Odd entries in the migrations folder, unreadable files, deeply nested TOML, hand-edited
history rows and out-of-range duration options; the database and its history stay as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.conftest import CliResult, Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _one_line_usage_error(r: CliResult) -> str:
    assert r.code == 2, (r.code, r.stderr)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    return r.stderr


# --- the migrations folder ----------------------------------------------------------------------

def test_loop_broken_link_folder_and_fifo_named_sql_are_reported(database: Database, migrations: MigrationDir) -> None:
    migrations.add("ok", "CREATE TABLE t (id int);")
    d = migrations.path
    (d / "20260101000002_loop.sql").symlink_to(d / "20260101000002_loop.sql")
    (d / "20260101000003_broken.sql").symlink_to(d / "nowhere.sql")
    (d / "20260101000004_folder.sql").mkdir()
    os.mkfifo(d / "20260101000005_fifo.sql")  # read blocking, it would hang the run for a writer
    (d / "notes.sql").mkdir()  # misnamed too, but said for what it is
    r = run_cli("migrate", *_args(database, migrations))
    err = _one_line_usage_error(r)
    assert "20260101000002_loop.sql: is a symbolic link loop" in err
    assert "20260101000003_broken.sql: is a broken symbolic link" in err
    assert "20260101000004_folder.sql: is a folder, not a migration file" in err
    assert "20260101000005_fifo.sql: is a FIFO (named pipe), not a migration file" in err
    assert "notes.sql: is a folder" in err
    assert not database.exists("public._migrations") and not database.exists("public.t")
    assert _one_line_usage_error(run_cli("status", *_args(database, migrations)))


def test_migrations_folder_that_is_a_link_loop(tmp_path: Path) -> None:
    loop = tmp_path / "migrations"
    loop.symlink_to(loop)
    r = run_cli("lint", "--migrations-dir", str(loop))
    assert "is a broken symbolic link or a link loop" in _one_line_usage_error(r)


def _discover_messages(folders: list[Path]) -> list[str]:
    """discover() on each folder, as an unprivileged user when we are root (root reads a chmod 000
    file): a forked child drops to uid 65534 and sends back each error's message."""
    from app.core.errors import UsageError
    from app.core.files import discover

    def messages() -> list[str]:
        out = []
        for d in folders:
            try:
                discover(d)
                out.append("no error")
            except UsageError as exc:
                out.append(exc.message)
        return out

    if os.geteuid() != 0:
        return messages()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no exec, so it needs no access to the interpreter's files
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, "\n".join(messages()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, data
    return data.splitlines()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_file_and_folder_are_one_line_errors() -> None:
    base = Path(tempfile.mkdtemp(prefix="tidemark-perm-"))
    try:
        base.chmod(0o755)
        folder = base / "migrations"
        folder.mkdir(mode=0o755)
        secret = folder / "20260101000001_secret.sql"
        secret.write_text("SELECT 1;\n")
        secret.chmod(0o000)
        closed = base / "closed"
        closed.mkdir()
        closed.chmod(0o000)
        got = _discover_messages([folder, closed])
        assert "20260101000001_secret.sql: cannot be read: permission denied" in got[0]
        assert f"cannot read the migrations folder {closed}: Permission denied" in got[1]
    finally:
        for p in (base / "closed", base / "migrations" / "20260101000001_secret.sql"):
            p.chmod(0o700)
        shutil.rmtree(base)


# --- TOML ---------------------------------------------------------------------------------------

def test_deeply_nested_environments_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    from app.core.environments import environments_file

    path = environments_file()
    path.parent.mkdir(parents=True)
    path.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    r = run_cli("env", "list")
    err = _one_line_usage_error(r)
    assert str(path) in err and "nested too deeply" in err and len(err.strip().splitlines()) == 1


def test_deeply_nested_supabase_config(tmp_path: Path) -> None:
    from app.core.errors import UsageError
    from app.core.supabase import read_config

    cfg = tmp_path / "config.toml"
    cfg.write_text("a = " + "{b = " * 20_000 + "1" + "}" * 20_000 + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match="nested too deeply"):
        read_config(cfg)


# --- hand-edited history ------------------------------------------------------------------------

EDITS = {
    "null version": ("UPDATE public._migrations SET version = NULL WHERE version = '20260101000002'",
                     "column version is NULL"),
    "name with a folder": ("UPDATE public._migrations SET name = 'sub/20260101000002_b.sql' "
                           "WHERE version = '20260101000002'", "column name is 'sub/20260101000002_b.sql'"),
    "empty name": ("UPDATE public._migrations SET name = '' WHERE version = '20260101000002'",
                   "column name is empty"),
    "checksum integer": ("ALTER TABLE public._migrations ALTER COLUMN checksum TYPE integer USING 0",
                         "column checksum is integer"),
    "executed_at text": ("ALTER TABLE public._migrations ALTER COLUMN executed_at TYPE text",
                         "column executed_at is text"),
}


def _history(db: Database) -> list[tuple]:
    return db.query("SELECT to_jsonb(m)::text FROM public._migrations m ORDER BY id") + db.query(
        "SELECT count(*) FROM public._migration_rollbacks") + db.query(
        "SELECT count(*) FROM public._migration_audit")


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_hand_edited_history_is_a_one_line_error(database: Database, migrations: MigrationDir, edit: str) -> None:
    migrations.add("a", "CREATE TABLE a (id int);")
    migrations.add("b", "CREATE TABLE b (id int);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    migrations.add("c", "CREATE TABLE c (id int);")
    sql, expected = EDITS[edit]
    database.execute(sql)
    before = _history(database)
    for command in (["status"], ["migrate"], ["rollback", "1", "--yes"], ["history"]):
        r = run_cli(*command, *_args(database, migrations))
        if command == ["history"] and r.code == 0:
            continue  # the audit trail does not read the rows' values
        err = _one_line_usage_error(r)
        assert "public._migrations" in err and expected in err, (command, err)
        assert "nothing was changed" in err and len(err.strip().splitlines()) == 1, err
    assert _history(database) == before
    assert not database.exists("public.c") and database.exists("public.b")


# --- duration options ---------------------------------------------------------------------------

@pytest.mark.parametrize("option, value", [
    ("--wait-lock", "nan"), ("--wait-lock", "-1"), ("--wait-lock", "inf"), ("--wait-lock", "-inf"),
    ("--wait-lock", "1e400"), ("--wait-lock", "1e300"), ("--lock-timeout", "nan"), ("--lock-timeout", "infs"),
    ("--statement-timeout", "-5s"), ("--index-timeout", "NaNms"), ("--lock-timeout", "1e300s"),
])
def test_non_finite_or_negative_durations_are_usage_errors(option: str, value: str) -> None:
    r = run_cli("migrate", f"{option}={value}", "--dsn", "postgresql://nobody@127.0.0.1:1/none")
    err = _one_line_usage_error(r)
    assert f"argument {option}" in err and "cannot connect" not in err
