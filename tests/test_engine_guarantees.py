"""The engine's guarantees against real servers: locks, kills, restarts, cancel, timeouts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from app.core.connect import Target
from app.core.errors import Cancelled
from app.core.options import Options
from app.core.progress import CancelToken, Phase, ProgressEvent
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir, in_thread, run_cli, sleeping, wait_for

REPO = Path(__file__).resolve().parent.parent


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "DATABASE_URL")}
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _runner(db: Database, m: MigrationDir, **options: object) -> MigrationRunner:
    return MigrationRunner(Target(db.dsn, "test"), m.path, Options(**options))  # type: ignore[arg-type]


# --- one runner at a time --------------------------------------------------------------------


def test_second_runner_fails_at_once_naming_the_holder(database: Database, migrations: MigrationDir) -> None:
    migrations.add("slow", "SELECT pg_sleep(20);")
    first = _spawn("migrate", *_args(database, migrations))
    try:
        wait_for(lambda: sleeping(database), what="the first run to be inside its migration")
        r = run_cli("migrate", *_args(database, migrations))
        assert r.code == 3, r.stderr
        assert "held by postgres" in r.stderr and "pid" in r.stderr and "since" in r.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(30)


def test_ten_concurrent_processes_apply_each_migration_once(database: Database, migrations: MigrationDir) -> None:
    for i in range(12):
        migrations.add(f"m{i}", f"CREATE TABLE t{i} (id int);\nINSERT INTO t{i} VALUES ({i});\n")
    procs = [_spawn("migrate", "--wait-lock", "120", *_args(database, migrations)) for _ in range(10)]
    results = [(p.wait(180), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    rows = database.query("SELECT name, count(*) FROM public._migrations GROUP BY name")
    assert len(rows) == 12 and all(n == 1 for _, n in rows)
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'applied'") == 12
    for i in range(12):
        assert database.scalar(f"SELECT count(*) FROM t{i}") == 1


def test_waiting_runner_does_not_block_a_concurrent_index_build(database: Database, migrations: MigrationDir
                                                                 ) -> None:
    database.execute("CREATE TABLE big (id int); INSERT INTO big SELECT generate_series(1, 1000)")
    migrations.add("idx", "CREATE INDEX CONCURRENTLY big_id_idx ON big (id);")
    # A transaction that wrote to the table makes the concurrent build wait: the first runner
    # sits inside CREATE INDEX CONCURRENTLY while the second polls for the lock.
    holder = psycopg.connect(database.dsn)
    holder.execute("INSERT INTO big VALUES (0)")
    first = _spawn("migrate", *_args(database, migrations))
    second = None
    try:
        wait_for(lambda: bool(database.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'CREATE INDEX CONCURRENTLY%'")),
            what="the index build to start")
        second = _spawn("migrate", "--wait-lock", "60", *_args(database, migrations))
        wait_for(lambda: bool(database.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%pg_try_advisory_lock%'")),
            what="the second runner to poll for the lock")
        holder.rollback()
        assert first.wait(60) == 0, first.stderr.read()
        assert second.wait(60) == 0, second.stderr.read()
    finally:
        holder.close()
        for p in (first, second):
            if p and p.poll() is None:
                p.kill()
    assert database.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_id_idx'::regclass") is True


# --- killed mid-run ------------------------------------------------------------------------


def test_kill_9_of_the_cli_leaves_consistent_state(database: Database, migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);")
    migrations.add("b", "CREATE TABLE b (id int);\nSELECT pg_sleep(3);\n")
    migrations.add("c", "CREATE TABLE c (id int);")
    p = _spawn("migrate", *_args(database, migrations))
    wait_for(lambda: sleeping(database), what="migration b to run")
    p.kill()
    p.wait(10)
    r = run_cli("migrate", "--wait-lock", "30", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert [n for (n,) in database.query("SELECT name FROM public._migrations ORDER BY name")] == [
        "20260101000001_a.sql", "20260101000002_b.sql", "20260101000003_c.sql"]


def test_terminated_backend_then_next_migrate_completes(database: Database, migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\nSELECT pg_sleep(20);\n")
    p = _spawn("migrate", *_args(database, migrations))
    wait_for(lambda: sleeping(database), what="the migration to run")
    database.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE '%pg_sleep(20)%' "
                     "AND pid <> pg_backend_pid()")
    assert p.wait(30) == 1
    err = p.stderr.read()
    assert "connection lost" in err and "Traceback" not in err
    assert not database.exists("a"), "the terminated migration left nothing"
    assert database.scalar("SELECT count(*) FROM public._migrations") == 0
    (migrations.path / "20260101000001_a.sql").write_text("CREATE TABLE a (id int);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.exists("a")


def test_server_restart_mid_run(pg_server, database: Database, migrations: MigrationDir) -> None:
    if pg_server.local is None:
        pytest.skip("needs a server the tests started")
    migrations.add("a", "CREATE TABLE a (id int);")
    migrations.add("b", "CREATE TABLE b (id int);\nSELECT pg_sleep(20);\n")
    p = _spawn("migrate", *_args(database, migrations))
    wait_for(lambda: sleeping(database), what="migration b to run")
    pg_server.local.stop("fast")
    pg_server.local.start()
    assert p.wait(30) == 1
    assert "Traceback" not in p.stderr.read()
    assert database.exists("a") and not database.exists("b")
    (migrations.path / "20260101000002_b.sql").write_text("CREATE TABLE b (id int);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.scalar("SELECT count(*) FROM public._migrations") == 2


# --- cancel, timeouts, retries ---------------------------------------------------------------


def test_cancel_during_a_statement_rolls_that_migration_back(database: Database, migrations: MigrationDir
                                                             ) -> None:
    migrations.add("a", "CREATE TABLE a (id int);")
    migrations.add("b", "CREATE TABLE b (id int);\nSELECT pg_sleep(30);\n")
    token = CancelToken()
    events: list[ProgressEvent] = []
    t, outcome = in_thread(lambda: _runner(database, migrations).run_migrations(progress=events.append,
                                                                                 cancel=token))
    wait_for(lambda: sleeping(database), what="migration b to run")
    started = time.monotonic()
    token.cancel()
    t.join(10)
    assert not t.is_alive() and time.monotonic() - started < 5
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert database.exists("a") and not database.exists("b")
    assert [e.migration for e in events if e.phase is Phase.MIGRATION_DONE] == ["20260101000001_a.sql"]
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert {m["name"]: m["state"] for m in doc["migrations"]}["20260101000002_b.sql"] == "pending"


def test_lock_timeout_with_retries(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE busy (id int)")
    migrations.add("alter", "ALTER TABLE busy ADD COLUMN x int;")
    blocker = psycopg.connect(database.dsn)
    blocker.execute("LOCK TABLE busy IN ACCESS SHARE MODE")
    try:
        r = run_cli("migrate", "--lock-timeout", "100ms", *_args(database, migrations))
        assert r.code == 1 and "lock timeout" in r.stderr.lower() and "55P03" in r.stderr
        events: list[ProgressEvent] = []

        def release_after_first_retry(e: ProgressEvent) -> None:
            events.append(e)
            if e.phase is Phase.MESSAGE and "retry 1" in e.message:
                blocker.rollback()

        result = _runner(database, migrations, lock_timeout_ms=100, retries=3, retry_backoff_s=0.05
                         ).run_migrations(progress=release_after_first_retry)
        assert [m.name for m in result.applied] == ["20260101000001_alter.sql"]
        assert result.applied[0].attempts == 2
    finally:
        blocker.close()


def test_non_transactional_failure_says_what_ran(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE t (id int)")
    migrations.add("idx", "CREATE INDEX CONCURRENTLY t_a ON t (id);\nCREATE INDEX CONCURRENTLY t_b ON t (nope);\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1
    assert "partially applied" in r.stderr and "line 1: CREATE INDEX CONCURRENTLY t_a" in r.stderr
    assert ":2:" in r.stderr
    assert database.exists("t_a") and database.scalar("SELECT count(*) FROM public._migrations") == 0
    row = database.query("SELECT transactional FROM public._migrations")
    assert row == []


def test_no_transaction_migration_recorded_and_rolled_back(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE t (id int)")
    migrations.add("idx", "CREATE INDEX CONCURRENTLY t_idx ON t (id);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.scalar("SELECT transactional FROM public._migrations") is False
    r = run_cli("rollback", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert not database.exists("t_idx")


def test_invalid_index_left_by_migration_is_an_error(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (1), (1)")
    migrations.add("uniq", "CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v);")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1 and "DROP INDEX CONCURRENTLY IF EXISTS t_v_key" in r.stderr
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert doc["health"] == "error"
    assert any(r["code"] == "invalid_index" and "t_v_key" in r["message"] for r in doc["reasons"])


def test_statement_timeout(database: Database, migrations: MigrationDir) -> None:
    migrations.add("slow", "SELECT pg_sleep(5);")
    r = run_cli("migrate", "--statement-timeout", "200ms", *_args(database, migrations))
    assert r.code == 1 and "statement timeout" in r.stderr.lower()


# --- history layout, files, transactions -------------------------------------------------------


def test_seed_layout_is_upgraded_in_place(database: Database, migrations: MigrationDir) -> None:
    database.execute("""
        CREATE TABLE public._migrations (id SERIAL PRIMARY KEY, name VARCHAR(255) UNIQUE NOT NULL,
          executed_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(), checksum TEXT NOT NULL,
          execution_time_ms INTEGER NOT NULL, rollback_sql TEXT, batch_id VARCHAR(50),
          created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW());
        CREATE TABLE public._migration_rollbacks (id SERIAL PRIMARY KEY, migration_name VARCHAR(255) NOT NULL,
          rolled_back_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(), rollback_sql TEXT NOT NULL,
          execution_time_ms INTEGER NOT NULL, batch_id VARCHAR(50), created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW());
        CREATE TABLE old (id int);
        INSERT INTO public._migrations (name, checksum, execution_time_ms, rollback_sql, batch_id)
          VALUES ('20260101000001_old.sql', 'x', 5, 'DROP TABLE IF EXISTS old', 'b1');
    """)
    migrations.add("old", "CREATE TABLE old (id int);")
    migrations.add("new", "CREATE TABLE new (id int);")
    r = run_cli("migrate", "--allow-modified", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.exists("new")
    cols = {c for (c,) in database.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = '_migrations'")}
    assert {"version", "db_user", "os_user", "client_host", "tool_version", "applied_sql"} <= cols
    assert database.scalar("SELECT version FROM public._migrations WHERE name = '20260101000001_old.sql'") == \
        "20260101000001"
    assert run_cli("rollback", "2", *_args(database, migrations)).code == 0
    assert not database.exists("old") and not database.exists("new")


def test_file_with_its_own_begin_commit(database: Database, migrations: MigrationDir) -> None:
    migrations.add("wrapped", "BEGIN;\nCREATE TABLE w (id int);\nCOMMIT;\n")
    migrations.add("broken", "CREATE TABLE x (id int);\nCOMMIT;\nCREATE TABLE y (id int);\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2 and "broken" in r.stderr and ":2" in r.stderr and "transaction control" in r.stderr
    (migrations.path / "20260101000002_broken.sql").unlink()
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.exists("w")


def test_session_settings_do_not_leak_into_the_next_migration(database: Database, migrations: MigrationDir
                                                              ) -> None:
    database.execute("CREATE SCHEMA other")
    migrations.add("set", "SET search_path = other;\nCREATE TABLE in_other (id int);\n")
    migrations.add("next", "CREATE TABLE in_public (id int);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.exists("other.in_other") and database.exists("public.in_public")


def test_verbose_prints_each_statement_with_its_time(database: Database, migrations: MigrationDir) -> None:
    migrations.add("two", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n")
    r = run_cli("migrate", "--verbose", *_args(database, migrations))
    assert r.code == 0
    assert "ms  line 1: CREATE TABLE a" in r.stdout and "ms  line 2: CREATE TABLE b" in r.stdout


def test_json_outputs_are_single_documents(database: Database, migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);")
    r = run_cli("migrate", "--json", *_args(database, migrations))
    assert r.code == 0
    assert json.loads(r.stdout)["applied"][0]["name"] == "20260101000001_a.sql"
    r = run_cli("rollback", "--json", *_args(database, migrations))
    assert json.loads(r.stdout)["rolled_back"][0]["sql"].startswith("DROP TABLE")
    migrations.add("bad", "SELECT 1/0;")
    r = run_cli("migrate", "--json", *_args(database, migrations))
    doc = json.loads(r.stdout)
    assert r.code == 1 and doc["ok"] is False and doc["error"]["line"] == 1


def test_connection_from_libpq_environment(database: Database, migrations: MigrationDir,
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database.dsn)
    migrations.add("a", "CREATE TABLE a (id int);")
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[mydb]\nhost={params['host']}\nport={params['port']}\ndbname={params['dbname']}\n"
                       f"user={params['user']}\n")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:*:{params['password']}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGSERVICEFILE", str(service))
    monkeypatch.setenv("PGSERVICE", "mydb")
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    r = run_cli("migrate", "--migrations-dir", str(migrations.path))
    assert r.code == 0, r.stderr
    assert "service mydb" in r.stdout
    monkeypatch.delenv("PGSERVICE")
    monkeypatch.setenv("DATABASE_URL", database.dsn)
    r = run_cli("status", "--json", "--migrations-dir", str(migrations.path))
    assert r.code == 0 and json.loads(r.stdout)["counts"]["applied"] == 1


def test_help_and_version_do_not_import_qt_or_the_engine() -> None:
    code = ("import sys, app.cli.main as m; m.build_parser(); "
            "bad = [n for n in ('PySide6', 'psycopg', 'jinja2', 'pglast') if n in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    r = subprocess.run([sys.executable, "-m", "app.cli", "--version"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("tidemark ")
