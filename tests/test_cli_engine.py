"""The engine through the `tidemark` CLI, against real servers."""

from __future__ import annotations

import json

from tests.conftest import Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def test_migrate_status_rollback_round_trip(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "-- Migration: Users table\n-- Description: who logs in\n"
                   "CREATE TABLE users (id int PRIMARY KEY, email text);\n")
    migrations.add("email_index", "CREATE INDEX users_email_idx ON users (email);\n")
    r = run_cli("status", *_args(database, migrations), "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"]["pending"] == 2 and doc["history_exists"] is False
    assert not database.exists("public._migrations"), "status must never write"

    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.exists("public.users") and database.exists("public.users_email_idx")
    rows = database.query("SELECT name, batch_id, rollback_kind FROM public._migrations ORDER BY name")
    assert [n for n, _, _ in rows] == ["20260101000001_users.sql", "20260101000002_email_index.sql"]
    assert len({b for _, b, _ in rows}) == 1, "one batch per invocation"
    assert {k for _, _, k in rows} == {"generated"}

    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert doc["health"] == "healthy"
    assert [m["title"] for m in doc["migrations"]] == ["Users table", "email index"]
    assert doc["migrations"][0]["description"] == "who logs in"

    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert not database.exists("public.users_email_idx") and database.exists("public.users")
    r = run_cli("rollback-to", "20260101000001", *_args(database, migrations))
    assert r.code == 0 and "nothing to roll back" in r.stdout
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code == 0
    assert not database.exists("public.users")
    assert database.scalar("SELECT count(*) FROM public._migration_rollbacks") == 2
    assert database.scalar("SELECT count(*) FROM public._migrations") == 0


def test_failed_migration_leaves_nothing_and_names_file_line(database: Database, migrations: MigrationDir
                                                             ) -> None:
    migrations.add("ok", "CREATE TABLE a (id int);\n")
    bad = migrations.add("bad", "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1);\nSELECT 1/0;\n")
    migrations.add("later", "CREATE TABLE c (id int);\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1
    assert f"{bad}:4" in r.stderr and "division by zero" in r.stderr
    assert database.exists("public.a")
    assert not database.exists("public.b"), "no partial schema"
    assert not database.exists("public.c"), "later files do not run"
    assert database.scalar("SELECT count(*) FROM public._migrations") == 1
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    states = {m["name"]: m["state"] for m in doc["migrations"]}
    assert states["20260101000002_bad.sql"] == "failed"
    assert doc["health"] == "error"
    assert run_cli("status", *_args(database, migrations), "--check").code == 1


def test_error_position_maps_to_file_line_and_column(database: Database, migrations: MigrationDir) -> None:
    path = migrations.add("typo", "-- header\nCREATE TABLE a (id int);\n\nSELECT nope FROM a;\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1
    assert f"{path}:4:8" in r.stderr, r.stderr


def test_syntax_error_caught_before_anything_runs(database: Database, migrations: MigrationDir) -> None:
    migrations.add("fine", "CREATE TABLE a (id int);\n")
    path = migrations.add("broken", "CREATE TABLE b (id int);\nCREAT TABLE c (id int);\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2
    assert f"{path}:2" in r.stderr and "syntax error" in r.stderr
    assert not database.exists("public.a"), "nothing runs when a pending file does not parse"
    assert not database.exists("public._migrations")


def test_bad_files_are_reported_with_path(database: Database, migrations: MigrationDir) -> None:
    (migrations.path / "init.sql").write_text("SELECT 1;")
    migrations.add("empty", "  \n")
    migrations.add("latin1", "", raw="SELECT 'caf\xe9';".encode("latin-1"))
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2
    assert "init.sql" in r.stderr and "naming convention" in r.stderr
    assert "empty" in r.stderr and "is empty" in r.stderr
    assert "not UTF-8" in r.stderr
    assert not database.exists("public._migrations")


def test_duplicate_version(database: Database, migrations: MigrationDir) -> None:
    migrations.add("one", "SELECT 1;", version="20260101000001")
    migrations.add("two", "SELECT 2;", version="20260101000001")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2 and "duplicate version 20260101000001" in r.stderr


def test_dry_run_changes_nothing_and_shows_locks(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE users (id int)")
    migrations.add("col", "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX CONCURRENTLY e ON users (email);\n")
    r = run_cli("dry-run", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert "ACCESS EXCLUSIVE on public.users" in r.stdout
    assert "SHARE UPDATE EXCLUSIVE on public.users" in r.stdout
    assert "OUTSIDE a transaction" in r.stdout
    assert "DROP COLUMN" in r.stdout and "email" in r.stdout
    assert not database.exists("public._migrations"), "dry run creates nothing"
    assert run_cli("migrate", "--dry-run", *_args(database, migrations)).code == 0
    assert not database.exists("public._migrations")


def test_target_and_names(database: Database, migrations: MigrationDir) -> None:
    for i in range(3):
        migrations.add(f"t{i}", f"CREATE TABLE t{i} (id int);")
    r = run_cli("migrate", "--target", "20260101000002_t1", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.exists("t1") and not database.exists("t2")
    r = run_cli("migrate", "--target", "nope", *_args(database, migrations))
    assert r.code == 2 and "unknown migration" in r.stderr
    r = run_cli("rollback-to", "20260101000001_t0.sql", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.exists("t0") and not database.exists("t1")
    r = run_cli("rollback", "5", *_args(database, migrations))
    assert r.code == 2 and "only 1 is applied" in r.stderr


def test_manual_rollback_refused_before_anything_runs(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);")
    migrations.add("data", "UPDATE t SET id = 1;")  # rows as they were are not known: manual
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("rollback", "2", *_args(database, migrations))
    assert r.code == 2
    assert "20260101000002_data.sql" in r.stderr and "-- ROLLBACK:" in r.stderr
    assert database.exists("t") and database.scalar("SELECT count(*) FROM public._migrations") == 2


def test_custom_rollback(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n"
                   "-- ROLLBACK: DROP TABLE IF EXISTS t CASCADE;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.scalar("SELECT rollback_kind FROM public._migrations") == "custom"
    assert run_cli("rollback", *_args(database, migrations)).code == 0
    assert not database.exists("t")


def test_modified_and_line_endings(database: Database, migrations: MigrationDir) -> None:
    f = migrations.add("t", "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    f.write_bytes(b"\xef\xbb\xbfCREATE TABLE t (id int);\r\nCREATE TABLE u (id int);\r\n")
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert doc["migrations"][0]["state"] == "applied"
    assert doc["migrations"][0]["line_endings_only"] is True
    assert doc["health"] == "warning"
    f.write_text("CREATE TABLE t (id bigint);\nCREATE TABLE u (id int);\n")
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert doc["migrations"][0]["state"] == "modified" and doc["health"] == "error"
    migrations.add("next", "CREATE TABLE v (id int);")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1 and "repair" in r.stderr and not database.exists("v")
    r = run_cli("repair", "--reason", "widened before anyone used it", "--yes", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert "-CREATE TABLE t (id int);" in r.stdout and "+CREATE TABLE t (id bigint);" in r.stdout
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.exists("v")
    events = json.loads(run_cli("history", *_args(database, migrations), "--json").stdout)["events"]
    assert any(e["event"] == "repaired" and e["reason"] == "widened before anyone used it" for e in events)


def test_out_of_order_and_missing(database: Database, migrations: MigrationDir) -> None:
    migrations.add("b", "CREATE TABLE b (id int);", version="20260101000005")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    migrations.add("a", "CREATE TABLE a (id int);", version="20260101000003")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1 and "--allow-out-of-order" in r.stderr
    assert run_cli("migrate", "--allow-out-of-order", *_args(database, migrations)).code == 0
    (migrations.path / "20260101000005_b.sql").unlink()
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert {m["name"]: m["state"] for m in doc["migrations"]}["20260101000005_b.sql"] == "missing"
    assert doc["health"] == "warning"


def test_baseline(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE existing (id int)")
    migrations.add("existing", "CREATE TABLE existing (id int);")
    migrations.add("more", "CREATE TABLE more (id int);")
    r = run_cli("baseline", "20260101000001_existing", *_args(database, migrations))
    assert r.code == 0, r.stderr
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.exists("more")
    rows = database.query("SELECT name, baselined, rollback_kind FROM public._migrations ORDER BY name")
    assert rows == [("20260101000001_existing.sql", True, "manual"), ("20260101000002_more.sql", False, "generated")]


def test_connection_errors_are_one_line_without_password(pg_server, migrations: MigrationDir) -> None:
    migrations.add("t", "SELECT 1;")
    params = __import__("psycopg").conninfo.conninfo_to_dict(pg_server.admin_dsn)
    if pg_server.password is None:
        return
    wrong = pg_server.admin_dsn.replace(pg_server.password, "not-the-password-123")
    r = run_cli("status", "--dsn", wrong, "--migrations-dir", str(migrations.path))
    assert r.code == 2
    assert "password authentication failed" in r.stderr
    assert "not-the-password-123" not in r.stderr and pg_server.password not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    url = f"postgresql://postgres:sekrit-pw@127.0.0.1:1/{params['dbname']}"
    r = run_cli("status", "--dsn", url, "--migrations-dir", str(migrations.path))
    assert r.code == 2 and "cannot connect" in r.stderr and "sekrit-pw" not in r.stderr
