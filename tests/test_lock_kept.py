"""Issue 10: SQL built at run time that releases the run's lock is caught, and no second runner gets in.

The checks refuse pg_advisory_unlock_all() and DISCARD ALL where a file shows them
(test_checks_trust.py); here the call is hidden from them (a function defined by an earlier
migration, a string put together by EXECUTE), so only the run itself can notice.
"""

from __future__ import annotations

import psycopg
import pytest

from app.core.lock import LOCK_KEY
from tests.conftest import Database, MigrationDir, in_thread, run_cli, wait_for

# Defined, not run: the checks let it pass (a function body is not a statement of the file).
GIVE_AWAY = ("CREATE FUNCTION give_away() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
             "PERFORM pg_advisory_unlock_all(); RETURN true; END $$;\nCREATE TABLE gate (id int);\n")
RELEASED = "released Tidemark's migration lock (pg_advisory_unlock_all or DISCARD?)"


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _names(db: Database) -> list[str]:
    return [n for (n,) in db.query("SELECT name FROM public._migrations ORDER BY version")]


def _last_audit(db: Database) -> tuple[str, str, str]:
    return db.query("SELECT event, migration_name, error_message FROM public._migration_audit "
                    "ORDER BY id DESC LIMIT 1")[0]


def _second_runner_gets_in(db: Database) -> bool:
    """What a second `tidemark migrate` would find: the lock free (taken and given back at once)."""
    with db.connect() as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
        if got:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        return bool(got)


@pytest.mark.parametrize("unlock", [
    "SELECT give_away();",
    "DO $$ BEGIN EXECUTE 'SELECT pg_advisory_' || 'unlock_all()'; END $$;",
    f"DO $$ BEGIN EXECUTE format('SELECT pg_advisory_%s(%s)', 'unlock', {LOCK_KEY}); END $$;",
])
@pytest.mark.parametrize("mode", [[], ["--no-pipeline"], ["--verbose"]])
def test_a_migration_that_releases_the_lock_is_rolled_back_and_the_run_stops(
        database: Database, migrations: MigrationDir, unlock: str, mode: list[str]) -> None:
    migrations.add("first", GIVE_AWAY)
    bad = migrations.add("unlocks", f"CREATE TABLE b (id int);\n{unlock}\nCREATE TABLE b2 (id int);\n")
    migrations.add("after", "CREATE TABLE c (id int);")
    r = run_cli("migrate", *_args(database, migrations), *mode)
    assert r.code == 1, r.stderr
    assert f"{bad.name} {RELEASED}: rolled back, nothing after it ran" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "division by zero" not in r.stderr and "own a lock" not in r.stderr
    assert not database.exists("b") and not database.exists("b2") and not database.exists("c")
    assert _names(database) == ["20260101000001_first.sql"]
    event, name, message = _last_audit(database)
    assert (event, name) == ("failed", bad.name) and RELEASED in message
    assert _second_runner_gets_in(database)  # the run ended and gave nothing away after it


@pytest.mark.parametrize("mode", [[], ["--no-pipeline"]])
def test_no_second_runner_gets_in_while_such_a_migration_runs(database: Database, migrations: MigrationDir,
                                                              mode: list[str]) -> None:
    migrations.add("first", GIVE_AWAY)
    bad = migrations.add("unlocks", "SELECT give_away();\nLOCK TABLE gate;\nCREATE TABLE b (id int);\n")
    migrations.add("after", "CREATE TABLE c (id int);")
    assert run_cli("migrate", *_args(database, migrations), "--target", "20260101000001").code == 0
    out = []
    with database.connect() as gate:
        gate.execute("BEGIN; LOCK TABLE gate")  # holds the migration right after its unlock
        t, raised = in_thread(lambda: out.append(run_cli("migrate", *_args(database, migrations), *mode)))
        try:
            wait_for(lambda: database.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE '%LOCK TABLE gate%'"), "the migration at the gate")
            runner = database.scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")
            modes = {m for (m,) in database.query(
                "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = %s AND objsubid = 1", (runner,))}
            assert modes == {"ShareLock"}  # its session lock is gone: only the migration's share is left
            assert not _second_runner_gets_in(database)
        finally:
            gate.execute("COMMIT")
            t.join(60)
    assert not raised and not t.is_alive()
    (r,) = out
    assert r.code == 1 and f"{bad.name} {RELEASED}: rolled back" in r.stderr, r.stderr
    assert not database.exists("b") and not database.exists("c")
    assert _names(database) == ["20260101000001_first.sql"]


def test_a_no_transaction_file_that_releases_the_lock_stops_after_that_statement(
        database: Database, migrations: MigrationDir) -> None:
    migrations.add("first", GIVE_AWAY)
    bad = migrations.add("nontx", "-- tidemark:no-transaction\nCREATE TABLE n1 (id int);\nSELECT give_away();\n"
                         "CREATE TABLE n2 (id int);\n")
    migrations.add("after", "CREATE TABLE c (id int);")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1, r.stderr
    assert (f"{bad.name} ran outside a transaction and {RELEASED}: these statements ran: line 2: CREATE TABLE n1 "
            "(id int); line 3: SELECT give_away(); it is not recorded as applied and nothing after it ran") in r.stderr
    assert database.exists("n1") and not database.exists("n2") and not database.exists("c")
    assert _names(database) == ["20260101000001_first.sql"]
    event, name, message = _last_audit(database)
    assert (event, name) == ("failed", bad.name) and RELEASED in message
    assert _second_runner_gets_in(database)


def test_a_rollback_that_releases_the_lock_is_undone(database: Database, migrations: MigrationDir) -> None:
    migrations.add("first", GIVE_AWAY)
    b = migrations.add("b", "CREATE TABLE b (id int);\n-- ROLLBACK: SELECT give_away(); DROP TABLE b;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("rollback", *_args(database, migrations))
    assert r.code == 1, r.stderr
    assert f"rollback of {b.name} {RELEASED}: undone, it is still applied" in r.stderr, r.stderr
    assert database.exists("b")
    assert _names(database) == ["20260101000001_first.sql", b.name]
    event, name, message = _last_audit(database)
    assert (event, name) == ("rollback_failed", b.name) and RELEASED in message


def test_a_rollback_outside_a_transaction_that_releases_the_lock_stops_after_that_statement(
        database: Database, migrations: MigrationDir) -> None:
    migrations.add("first", GIVE_AWAY)
    b = migrations.add("b", "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY gate_idx ON gate (id);\n"
                       "-- ROLLBACK: SELECT give_away(); DROP INDEX CONCURRENTLY gate_idx;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("rollback", *_args(database, migrations))
    assert r.code == 1, r.stderr
    assert (f"rollback of {b.name} ran outside a transaction and {RELEASED}: these statements ran: line 1: "
            "SELECT give_away(); it is still recorded as applied and nothing after it ran") in r.stderr, r.stderr
    assert database.exists("public.gate_idx")
    assert _names(database) == ["20260101000001_first.sql", b.name]
    event, name, message = _last_audit(database)
    assert (event, name) == ("rollback_failed", b.name) and RELEASED in message


def test_a_run_that_keeps_the_lock_leaves_no_share_behind(database: Database, migrations: MigrationDir) -> None:
    for i in range(3):
        migrations.add(f"m{i}", f"CREATE TABLE m{i} (id int);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert _names(database) == [f"2026010100000{i + 1}_m{i}.sql" for i in range(3)]
    assert database.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    with psycopg.connect(database.dsn) as conn:  # nothing of the run is left on the server
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name LIKE 'tidemark%'").fetchone()[0] == 0


@pytest.mark.parametrize("mode", [[], ["--no-pipeline"]])
def test_a_session_waiting_for_the_lock_neither_stops_the_run_nor_gets_in(
        database: Database, migrations: MigrationDir, mode: list[str]) -> None:
    """A deploy script blocked in pg_advisory_lock() until migrations end: the checks must not trip on it."""
    database.execute("CREATE TABLE gate (id int)")
    migrations.add("a", "LOCK TABLE gate;\nCREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);")
    out: list = []
    got: list = []
    w = None
    with database.connect() as gate, database.connect() as waiter:
        gate.execute("BEGIN; LOCK TABLE gate")
        t, raised = in_thread(lambda: out.append(run_cli("migrate", *_args(database, migrations), *mode)))
        try:
            wait_for(lambda: database.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE '%LOCK TABLE gate%'"), "the migration at the gate")
            w, w_raised = in_thread(lambda: got.append(
                waiter.execute("SELECT pg_advisory_lock(%s), now()", (LOCK_KEY,)).fetchone()))
            wait_for(lambda: database.scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"), "the waiting session")
        finally:
            gate.execute("COMMIT")
            t.join(60)
        assert w is not None
        w.join(60)
        assert not w_raised and got  # it got the lock once the run had ended
    assert not raised and not t.is_alive()
    (r,) = out
    assert r.code == 0, r.stderr
    assert database.exists("a") and database.exists("b")


@pytest.mark.parametrize("pipeline", [True, False])
def test_the_checks_leave_the_session_lock_taken_exactly_once(database: Database, migrations: MigrationDir,
                                                             pipeline: bool) -> None:
    """Behind a session-mode pooler, a lock taken twice would outlive the run's one unlock."""
    from app.core import lock
    from app.core.batch import apply_all
    from app.core.files import discover
    from app.core.guards import check
    from app.core.history import Actor, ensure_tables
    from app.core.options import Options
    from app.core.prepared import Context
    from app.core.progress import CancelToken

    for i in range(6):
        migrations.add(f"m{i}", f"CREATE TABLE m{i} (id int);")
    migrations.add("nontx", "-- tidemark:no-transaction\nCREATE TABLE n (id int);\nCREATE INDEX CONCURRENTLY "
                   "n_idx ON n (id);\n")
    with database.connect() as conn:
        assert lock.try_acquire(conn)
        ensure_tables(conn)
        applied: list = []
        ctx = Context(conn, Actor.current(), "b1", Options(pipeline=pipeline), CancelToken(), lambda e: None)
        apply_all(ctx, [check(f) for f in discover(migrations.path)], applied)
        assert len(applied) == 7
        assert lock.still_held(conn)
        assert conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,)).fetchone()[0]
        assert not lock.still_held(conn)  # the one unlock gave it back: it was held once
