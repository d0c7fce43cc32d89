"""Migrations sent ahead (pipeline mode) keep every guarantee of one-at-a-time runs, on every server."""

from __future__ import annotations

import shutil
import signal
import threading
from pathlib import Path

import psycopg
import pytest

from app.core.catalog import CatalogSnapshot, snapshot
from app.core.connect import Target
from app.core.errors import Cancelled, ConnectionLost, MigrationFailed
from app.core.options import Options
from app.core.progress import CancelToken, Phase, ProgressEvent
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir, fresh_database, in_thread, run_cli, sleeping, wait_for

SETS = Path(__file__).parent / "realworld"

_HISTORY = """
SELECT name, version, checksum, raw_checksum, rollback_sql, rollback_kind, rollback_note, title, description,
       applied_sql, transactional, baselined, db_user, os_user, tool_version
FROM public._migrations ORDER BY version"""
_AUDIT = ("SELECT event, migration_name, version, checksum, error_line, error_column "
          "FROM public._migration_audit ORDER BY id")


def _runner(db: Database, folder: Path, **options: object) -> MigrationRunner:
    return MigrationRunner(Target(db.dsn, "test"), folder, Options(**options))  # type: ignore[arg-type]


def _catalog(db: Database) -> CatalogSnapshot:
    with db.connect() as conn:
        snap = snapshot(conn)
    return CatalogSnapshot({k: v for k, v in snap.objects.items() if "_migration" not in k})


def _milestones(events: list[ProgressEvent]) -> list[tuple[str, int | None, str | None]]:
    return [(e.phase.name, e.index, e.migration) for e in events
            if e.phase in (Phase.MIGRATION_START, Phase.MIGRATION_DONE)]


def test_pipelined_and_one_at_a_time_runs_write_the_same(database: Database, tmp_path: Path) -> None:
    """A mixed real-world set (catalog reads, CONCURRENTLY, SET, custom rollbacks, own BEGIN/COMMIT)."""
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("helpdesk", "helpdesk_followups"):
        for f in (SETS / name).glob("*.sql"):
            shutil.copy(f, folder / f.name)
    outcomes = []
    with fresh_database(database.server) as other:
        for db, pipeline in ((database, True), (other, False)):
            events: list[ProgressEvent] = []
            result = _runner(db, folder, pipeline=pipeline).run_migrations(progress=events.append)
            outcomes.append((
                [(m.name, m.rollback_kind, m.transactional) for m in result.applied],
                _milestones(events),
                db.query(_HISTORY),
                db.query(_AUDIT),
                _catalog(db),
            ))
    piped, single = outcomes
    assert len(piped[0]) == len(list(folder.glob("*.sql")))
    for a, b, what in zip(piped, single, ("results", "progress", "history", "audit", "catalog"), strict=True):
        assert a == b, what


def _a_then_sleeping_b_then(migrations: MigrationDir, later: str, sleep_s: float = 30) -> None:
    """Migration a, then b which sleeps (to be caught mid-run), then one table per letter of `later`."""
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", f"CREATE TABLE b (id int);\nSELECT pg_sleep({sleep_s});\n")
    for x in later:
        migrations.add(x, f"CREATE TABLE {x} (id int);\n")


def _sixteen(migrations: MigrationDir, failing: int, sql: str) -> None:
    for i in range(1, 17):
        migrations.add(f"m{i:02d}", sql if i == failing else f"CREATE TABLE t{i:02d} (id int PRIMARY KEY);\n")


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "one-at-a-time"])
def test_a_failure_stops_the_run_there(database: Database, migrations: MigrationDir, pipeline: bool) -> None:
    """Everything queued behind the failing migration is skipped by the server, never run."""
    _sixteen(migrations, 6, "CREATE TABLE t06 (id int);\n\nSELECT 1 / (SELECT count(*) FROM t06);\n")
    with pytest.raises(MigrationFailed) as caught:
        _runner(database, migrations.path, pipeline=pipeline).run_migrations()
    info = caught.value.info
    assert info.line == 3 and info.sqlstate == "22012" and info.file.name == "20260101000006_m06.sql"
    applied = [m.name for m in caught.value.completed.applied]  # type: ignore[attr-defined]
    assert applied == [f"2026010100000{i}_m0{i}.sql" for i in range(1, 6)]
    assert [database.exists(f"t{i:02d}") for i in range(1, 17)] == [True] * 5 + [False] * 11
    assert database.scalar("SELECT count(*) FROM public._migrations") == 5
    assert database.query("SELECT event, migration_name FROM public._migration_audit WHERE event <> 'applied'"
                          ) == [("failed", "20260101000006_m06.sql")]
    # the next run goes on from there once the file is fixed
    migrations.path.joinpath("20260101000006_m06.sql").write_text("CREATE TABLE t06 (id int);\n")
    result = _runner(database, migrations.path, pipeline=pipeline).run_migrations()
    assert len(result.applied) == 11 and all(database.exists(f"t{i:02d}") for i in range(1, 17))


def test_error_position_maps_to_the_file_when_pipelined(database: Database, migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", "-- Migration: b\nCREATE TABLE b (id int);\nSELECT id,\n       nope FROM b;\n")
    r = run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 1
    assert "20260101000002_b.sql:4:8" in r.stderr and 'column "nope" does not exist' in r.stderr
    assert database.exists("a") and not database.exists("b")


def test_a_deferred_constraint_failing_at_commit_stops_the_run(database: Database, migrations: MigrationDir
                                                              ) -> None:
    """The error comes from COMMIT itself: the transaction ends there, and still nothing after it runs."""
    migrations.add("parent", "CREATE TABLE parent (id int PRIMARY KEY);\n")
    migrations.add("child", "CREATE TABLE child (pid int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n"
                            "INSERT INTO child VALUES (42);\n")
    for i in range(3):
        migrations.add(f"after{i}", f"CREATE TABLE after{i} (id int);\n")
    with pytest.raises(MigrationFailed) as caught:
        _runner(database, migrations.path).run_migrations()
    assert caught.value.info.sqlstate == "23503"
    assert database.exists("parent") and not database.exists("child")
    assert not any(database.exists(f"after{i}") for i in range(3))
    assert database.scalar("SELECT count(*) FROM public._migrations") == 1


def test_lock_timeout_in_the_middle_of_a_pipelined_run_is_retried(database: Database, migrations: MigrationDir
                                                                   ) -> None:
    database.execute("CREATE TABLE busy (id int)")
    migrations.add("before", "CREATE TABLE before_busy (id int);\n")
    migrations.add("alter", "ALTER TABLE busy ADD COLUMN x int;\n")
    migrations.add("after", "CREATE TABLE after_busy (id int);\n")
    blocker = psycopg.connect(database.dsn)
    blocker.execute("LOCK TABLE busy IN ACCESS SHARE MODE")
    events: list[ProgressEvent] = []

    def release_after_first_retry(e: ProgressEvent) -> None:
        events.append(e)
        if e.phase is Phase.MESSAGE and "retry 1" in e.message:
            blocker.rollback()

    try:
        result = _runner(database, migrations.path, lock_timeout_ms=100, retries=3, retry_backoff_s=0.05
                         ).run_migrations(progress=release_after_first_retry)
    finally:
        blocker.close()
    assert [(m.name, m.attempts) for m in result.applied] == [
        ("20260101000001_before.sql", 1), ("20260101000002_alter.sql", 2), ("20260101000003_after.sql", 1)]
    assert [e for e in _milestones(events) if e[0] == "MIGRATION_DONE"] == [
        ("MIGRATION_DONE", i, m.name) for i, m in enumerate(result.applied, start=1)]
    assert database.query("SELECT event, error_sqlstate FROM public._migration_audit "
                          "WHERE migration_name = '20260101000002_alter.sql' ORDER BY id"
                          ) == [("failed", "55P03"), ("applied", None)]  # the attempt that timed out is told


def test_cancel_with_migrations_queued_behind_the_running_one(database: Database, migrations: MigrationDir
                                                              ) -> None:
    _a_then_sleeping_b_then(migrations, "cd")
    token = CancelToken()
    events: list[ProgressEvent] = []
    t, outcome = in_thread(lambda: _runner(database, migrations.path).run_migrations(
        progress=events.append, cancel=token))
    wait_for(lambda: sleeping(database), "migration b to run")
    token.cancel()
    t.join(10)
    assert not t.is_alive() and len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert [database.exists(x) for x in "abcd"] == [True, False, False, False]
    assert [e[2] for e in _milestones(events) if e[0] == "MIGRATION_DONE"] == ["20260101000001_a.sql"]
    assert database.scalar("SELECT count(*) FROM public._migrations") == 1


def test_a_migration_that_deallocates_does_not_break_the_next_ones(database: Database, migrations: MigrationDir
                                                                  ) -> None:
    """History rows go through prepared statements; DEALLOCATE ALL in a migration drops them."""
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("dealloc", "CREATE TABLE b (id int);\nDEALLOCATE ALL;\n")
    migrations.add("c", "CREATE TABLE c (id int);\n")
    migrations.add("d", "CREATE TABLE d (id int);\n")
    result = _runner(database, migrations.path).run_migrations()
    assert len(result.applied) == 4 and all(database.exists(x) for x in "abcd")
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'applied'") == 4


def test_no_pipeline_option(database: Database, migrations: MigrationDir) -> None:
    for i in range(3):
        migrations.add(f"m{i}", f"CREATE TABLE m{i} (id int);\n")
    r = run_cli("migrate", "--no-pipeline", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 3


class _Boom(Exception):
    pass


def test_an_error_in_the_caller_mid_run_still_tells_what_committed(database: Database, migrations: MigrationDir
                                                                    ) -> None:
    """Ctrl-C (or a bug) while migrations are queued: what the server committed anyway is reported."""
    _a_then_sleeping_b_then(migrations, "cdef", sleep_s=0.5)
    done: list[str] = []
    raised = []

    def progress(e: ProgressEvent) -> None:
        if e.phase is Phase.MIGRATION_DONE:
            done.append(e.migration or "")
            if not raised:
                raised.append(e.migration)
                raise _Boom()

    with pytest.raises(_Boom):
        _runner(database, migrations.path).run_migrations(progress=progress)
    in_history = [r[0] for r in database.query("SELECT name FROM public._migrations ORDER BY version")]
    assert done == in_history and done[0] == "20260101000001_a.sql"
    assert [database.exists(x) for x in "abcdef"] == [f"2026010100000{i}_{x}.sql" in done
                                                     for i, x in enumerate("abcdef", start=1)]
    with database.connect() as conn:  # the runner's session is gone, and with it its lock
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone() == (0,)


@pytest.mark.parametrize("sql", ["PREPARE mine AS SELECT 1;\nDEALLOCATE mine;\n", "DISCARD TEMP;\n"],
                         ids=["deallocate-one", "discard-temp"])
def test_a_migration_that_deallocates_something_else(database: Database, migrations: MigrationDir, sql: str
                                                    ) -> None:
    """Tidemark's prepared statements may still exist then: a new one never reuses a name."""
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", sql)
    migrations.add("c", "CREATE TABLE c (id int);\n")
    migrations.add("d", "CREATE TABLE d (id int);\n")
    result = _runner(database, migrations.path).run_migrations()
    assert len(result.applied) == 4 and database.exists("c") and database.exists("d")


def test_sigint_while_queued_migrations_wait_reports_only_what_committed(database: Database,
                                                                          migrations: MigrationDir) -> None:
    """Ctrl-C during a pipelined run: psycopg cancels and reads on before re-raising; the report
    must still match the history, and the session must be usable (not left in pipeline mode)."""
    _a_then_sleeping_b_then(migrations, "cde", sleep_s=300)  # the run cannot end before the signal lands
    events: list[ProgressEvent] = []
    problems: list[BaseException] = []

    def interrupt_when_b_sleeps() -> None:
        try:  # a failure here (the wait timing out under load) is reported, never lost with the thread
            wait_for(lambda: sleeping(database), "migration b to run", timeout=120)
            signal.pthread_kill(main_thread, signal.SIGINT)
        except BaseException as exc:
            problems.append(exc)

    main_thread = threading.get_ident()
    t = threading.Thread(target=interrupt_when_b_sleeps, daemon=True)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _runner(database, migrations.path).run_migrations(progress=events.append)
    finally:
        t.join(130)
    assert not problems, problems
    done = [e[2] for e in _milestones(events) if e[0] == "MIGRATION_DONE"]
    assert done == [r[0] for r in database.query("SELECT name FROM public._migrations ORDER BY version")]
    assert done == ["20260101000001_a.sql"] and [database.exists(x) for x in "abcde"] == [True] + [False] * 4


def test_terminated_backend_names_the_migration_it_cut_short(database: Database, migrations: MigrationDir
                                                             ) -> None:
    _a_then_sleeping_b_then(migrations, "cde")
    t, out = in_thread(lambda: _runner(database, migrations.path).run_migrations())
    wait_for(lambda: sleeping(database), "migration b to run")
    database.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE query ILIKE '%pg_sleep%' AND pid <> pg_backend_pid()")
    t.join(30)
    assert len(out) == 1 and isinstance(out[0], ConnectionLost)
    assert "20260101000002_b.sql, with 3 more migrations sent after it" in str(out[0])


def test_a_file_with_a_nul_byte_is_bad_input(database: Database, migrations: MigrationDir) -> None:
    migrations.add("a", "", raw=b"CREATE TABLE a (id int);\n-- x\x00y\nCREATE TABLE b (id int);\n")
    r = run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 2 and "20260101000001_a.sql:2: contains a NUL byte" in r.stderr
    assert not database.exists("a") and not database.exists("public._migrations")
