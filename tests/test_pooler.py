"""Through a real PgBouncer: transaction mode is refused before anything changes; session mode
works as a direct connection does, and leaves no lock or prepared statement on the server session."""

from __future__ import annotations

import itertools

import psycopg
import pytest

from app.core import pipeline
from app.core.connect import Target
from app.core.errors import ConnectionFailed
from app.core.lock import LOCK_KEY
from app.core.options import Options
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir, Server, in_thread, run_cli
from tests.pooler import PgBouncer, pgbouncer_session, pgbouncer_transaction, start_pgbouncer  # noqa: F401 - fixtures


def _plain(migrations: MigrationDir, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        migrations.add(f"t{i}", f"CREATE TABLE t{i} (id int);\nINSERT INTO t{i} VALUES ({i});\n"
                       f"-- ROLLBACK: DROP TABLE t{i};\n",
                       version=f"202601010000{i:02d}")


def _leftovers(bouncer: PgBouncer, db: Database, pid: int) -> tuple[list, list]:
    """What the server session `pid` holds: advisory locks (seen from the server) and prepared
    statements (seen from that very session, reached through the pooler again)."""
    locks = db.query("SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND pid = %s", (pid,))
    with psycopg.connect(bouncer.dsn(db.name), autocommit=True) as conn:
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == pid, "the pooler gave another session"
        prepared = conn.execute("SELECT name FROM pg_prepared_statements").fetchall()
    return locks, prepared


def _pooled_pid(bouncer: PgBouncer, db: Database) -> int:
    """The server session the session-mode pooler gives next (it reuses the last one left)."""
    with psycopg.connect(bouncer.dsn(db.name), autocommit=True) as conn:
        return int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])


# --- transaction mode: refused, nothing changed ---------------------------------------------


def test_transaction_mode_is_refused_before_anything_changes(
    pgbouncer_transaction: PgBouncer, database: Database, migrations: MigrationDir  # noqa: F811
) -> None:
    _plain(migrations, 3)
    r = run_cli("migrate", "--dsn", pgbouncer_transaction.dsn(database.name), "--migrations-dir", str(migrations.path))
    assert r.code == 2, r.stderr
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert "PgBouncer" in line and "transaction mode" in line
    assert "session-mode URL or the direct database URL" in line and "nothing was changed" in line
    assert not database.exists("public._migrations") and not database.exists("t1")
    # no lock stayed behind on a pooled server session: a direct run goes ahead at once
    assert not database.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory'")
    direct = run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert direct.code == 0, direct.stderr
    # reading needs no lock: status works through it
    status = run_cli("status", "--dsn", pgbouncer_transaction.dsn(database.name), "--migrations-dir",
                     str(migrations.path))
    assert status.code == 0 and "t3" in status.stdout, status.stderr


def test_transaction_mode_refusal_leaves_history_unchanged(
    pgbouncer_transaction: PgBouncer, database: Database, migrations: MigrationDir  # noqa: F811
) -> None:
    _plain(migrations, 2)
    assert run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path)).code == 0
    before = database.query("SELECT * FROM public._migration_audit ORDER BY id")
    _plain(migrations, 2, start=3)
    dsn = pgbouncer_transaction.dsn(database.name)
    for args in (["migrate"], ["rollback", "1", "--yes"], ["baseline", "20260101000004"]):
        r = run_cli(*args, "--dsn", dsn, "--migrations-dir", str(migrations.path))
        assert r.code == 2 and "transaction mode" in r.stderr, (args, r.stderr)
    assert database.query("SELECT * FROM public._migration_audit ORDER BY id") == before
    assert not database.exists("t3") and database.exists("t2")


def test_statement_mode_is_refused_too(database: Database, migrations: MigrationDir) -> None:
    _plain(migrations, 1)
    bouncer = start_pgbouncer(database.server, "statement")
    try:
        r = run_cli("migrate", "--dsn", bouncer.dsn(database.name), "--migrations-dir", str(migrations.path))
    finally:
        bouncer.stop()
    assert r.code == 2 and "PgBouncer" in r.stderr and "refused a transaction" in r.stderr, r.stderr
    assert not database.exists("public._migrations")


def test_concurrent_runs_through_transaction_mode_never_run_a_file_twice(
    pgbouncer_transaction: PgBouncer, database: Database, migrations: MigrationDir  # noqa: F811
) -> None:
    database.execute("CREATE TABLE ran (n int)")
    migrations.add("count", "-- tidemark:no-transaction\nINSERT INTO ran VALUES (1);\nSELECT pg_sleep(0.2);\n")
    runner = MigrationRunner(Target(pgbouncer_transaction.dsn(database.name), "test"), migrations.path)
    threads = [in_thread(runner.run_migrations) for _ in range(5)]
    for t, _ in threads:
        t.join(60)
    outcomes = [type(raised[0]).__name__ if raised else "ok" for _, raised in threads]
    assert outcomes == ["TransactionPooler"] * 5
    assert database.scalar("SELECT count(*) FROM ran") == 0


# --- session mode: works, cleans up ------------------------------------------------------------


@pytest.mark.parametrize("pipelined", [True, False], ids=["pipelined", "one-by-one"])
def test_session_mode_migrates_twice_and_leaves_nothing_behind(
    pgbouncer_session: PgBouncer, database: Database, migrations: MigrationDir, pipelined: bool  # noqa: F811
) -> None:
    dsn = pgbouncer_session.dsn(database.name)
    extra = [] if pipelined else ["--no-pipeline"]
    _plain(migrations, 6)
    pid = _pooled_pid(pgbouncer_session, database)
    r = run_cli("migrate", "--dsn", dsn, "--migrations-dir", str(migrations.path), *extra)
    assert r.code == 0, r.stderr
    assert _leftovers(pgbouncer_session, database, pid) == ([], [])
    _plain(migrations, 6, start=7)
    r = run_cli("migrate", "--dsn", dsn, "--migrations-dir", str(migrations.path), *extra)
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 12
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE event <> 'applied'") == 0
    assert _leftovers(pgbouncer_session, database, pid) == ([], [])


def test_session_mode_failed_run_leaves_nothing_behind(
    pgbouncer_session: PgBouncer, database: Database, migrations: MigrationDir  # noqa: F811
) -> None:
    _plain(migrations, 3)
    migrations.add("bad", "CREATE TABLE bad (id int);\nSELECT 1/0;\n", version="20260101000004")
    pid = _pooled_pid(pgbouncer_session, database)
    r = run_cli("migrate", "--dsn", pgbouncer_session.dsn(database.name), "--migrations-dir", str(migrations.path))
    assert r.code == 1 and "division by zero" in r.stderr, r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 3
    assert _leftovers(pgbouncer_session, database, pid) == ([], [])


def test_concurrent_session_mode_runs_take_turns(
    pgbouncer_session: PgBouncer, database: Database, migrations: MigrationDir  # noqa: F811
) -> None:
    database.execute("CREATE TABLE ran (n int)")
    migrations.add("count", "-- tidemark:no-transaction\nINSERT INTO ran VALUES (1);\nSELECT pg_sleep(0.2);\n")
    _plain(migrations, 3, start=2)
    target = Target(pgbouncer_session.dsn(database.name), "test")
    runner = MigrationRunner(target, migrations.path, Options(wait_lock_s=60))
    threads = [in_thread(runner.run_migrations) for _ in range(5)]
    for t, _ in threads:
        t.join(120)
    assert [raised for _, raised in threads] == [[]] * 5
    assert database.scalar("SELECT count(*) FROM ran") == 1
    assert database.scalar("SELECT count(*) FROM public._migrations") == 4
    assert not database.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                              (LOCK_KEY & 0xFFFFFFFF,))


def test_a_prepared_name_clash_is_not_blamed_on_the_migration(
    pgbouncer_session: PgBouncer, database: Database, migrations: MigrationDir,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name some earlier client left on the pooled session: Tidemark's failure, not the file's."""
    _plain(migrations, 2)
    monkeypatch.setattr(pipeline, "_PROCESS", "clash")
    monkeypatch.setattr(pipeline, "_NAMES", itertools.count(1))
    with psycopg.connect(pgbouncer_session.dsn(database.name), autocommit=True) as conn:
        conn.execute("PREPARE tidemark_clash_1 AS SELECT 1")  # stays: this pooler resets nothing
    r = run_cli("migrate", "--dsn", pgbouncer_session.dsn(database.name), "--migrations-dir", str(migrations.path))
    assert r.code == 1, r.stderr
    assert "because Tidemark's own prepared lock share failed" in r.stderr and "already exists" in r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 0
    assert database.scalar("SELECT count(*) FROM public._migration_audit") == 0  # no `failed` row
    assert not database.exists("t1")


# --- schema targets: their search_path rides on the 'options' startup parameter ----------------


@pytest.mark.parametrize("ignore", ["extra_float_digits", "extra_float_digits,options"],
                         ids=["pooler-refuses-options", "pooler-drops-options"])
def test_a_schema_target_never_runs_in_public_behind_a_pooler(
    pg_server: Server, database: Database, migrations: MigrationDir, ignore: str
) -> None:
    """A pooler that refuses `options` is told in one line; one that drops it without a word would
    have run the tenant's files in public under the tenant's history: both refused, nothing ran."""
    from dataclasses import replace

    bouncer = start_pgbouncer(pg_server, "session", ignore=ignore)
    try:
        database.execute("CREATE SCHEMA tenant_a")
        migrations.add("users", "CREATE TABLE users (id int);\n")
        target = replace(Target(bouncer.dsn(database.name), "test"), schema="tenant_a")
        with pytest.raises(ConnectionFailed) as caught:
            MigrationRunner(target, migrations.path, Options()).run_migrations()
        message = str(caught.value)
        assert "\n" not in message and "nothing ran" in message
        assert ("refuses" in message) if ignore == "extra_float_digits" else ("search_path" in message), message
        assert database.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('users', '_migrations')") == 0
    finally:
        bouncer.stop()
