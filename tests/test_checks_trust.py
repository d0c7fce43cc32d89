"""Issue 10's checks: the lock is never given away, rollback SQL is checked, interrupted index builds."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from app.core.errors import MigrationFileError
from app.core.files import discover
from app.core.guards import check
from app.core.lock import LOCK_KEY
from app.core.prepared import prepare
from app.core.sql import parse_file
from tests.conftest import Database, MigrationDir, in_thread, run_cli, wait_for


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _names(db: Database) -> list[str]:
    return [n for (n,) in db.query("SELECT name FROM public._migrations ORDER BY version")]


def _refused(tmp_path: Path, sql_text: str) -> tuple[int | None, str]:
    """check and prepare refuse the same thing: (line, reason)."""
    (tmp_path / "20260101000001_x.sql").write_text(sql_text, encoding="utf-8")
    (f,) = discover(tmp_path)
    seen = []
    for step in (check, prepare):
        with pytest.raises(MigrationFileError) as caught:
            step(f)
        (problem,) = caught.value.problems
        seen.append((problem.line, problem.reason))
    assert seen[0] == seen[1]
    return seen[0]


# --- A: the lock cannot be given away from inside a migration --------------------------------


@pytest.mark.parametrize("sql_text, line, message", [
    ("CREATE TABLE a (id int);\nSELECT pg_advisory_unlock_all();\n", 2, "pg_advisory_unlock_all()"),
    ("CREATE TABLE a (id int);\nSELECT 1,\n  PG_CATALOG.PG_ADVISORY_UNLOCK_ALL();\n", 3, "pg_advisory_unlock_all()"),
    ("SELECT * FROM (SELECT pg_advisory_unlock_all()) s;\n", 1, "pg_advisory_unlock_all()"),
    (f"SELECT pg_advisory_unlock({LOCK_KEY});\n", 1, "Tidemark's migration lock"),
    (f"SELECT pg_advisory_unlock({LOCK_KEY}::bigint);\n", 1, "Tidemark's migration lock"),
    (f"SELECT pg_advisory_unlock_shared({LOCK_KEY});\n", 1, "Tidemark's migration lock"),
    ("SELECT pg_advisory_unlock(k) FROM keys;\n", 1, "not a constant"),
    ("DO $$ BEGIN PERFORM Pg_Advisory_Unlock_All(); END $$;\n", 1, "DO block"),
    ("-- tidemark:no-transaction\nCREATE TABLE a (id int);\nDISCARD ALL;\n", 3, "DISCARD ALL"),
    ("DISCARD ALL;\n", 1, "DISCARD ALL"),
])
def test_statements_that_give_the_lock_away_are_refused(tmp_path: Path, sql_text: str, line: int,
                                                         message: str) -> None:
    got_line, reason = _refused(tmp_path, sql_text)
    assert got_line == line and message in reason, reason


@pytest.mark.parametrize("sql_text", [
    "SELECT pg_advisory_lock(42);\nSELECT pg_advisory_unlock(42);\n",  # a key of its own
    "SELECT pg_advisory_unlock(1, 2);\n",  # the two-key space: never Tidemark's
    "SELECT pg_advisory_xact_lock(7);\n",
    "DISCARD PLANS;\nDISCARD TEMP;\n",
    "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'SELECT pg_advisory_unlock_all()';\n",  # defined, not run
])
def test_harmless_lock_statements_pass(tmp_path: Path, sql_text: str) -> None:
    (tmp_path / "20260101000001_x.sql").write_text(sql_text, encoding="utf-8")
    (f,) = discover(tmp_path)
    check(f)
    prepare(f)


def test_discard_all_runs_outside_a_transaction() -> None:
    (st,) = parse_file("DISCARD ALL", Path("x.sql"))
    assert st.non_transactional == "DISCARD ALL"
    (st,) = parse_file("DISCARD PLANS", Path("x.sql"))
    assert st.non_transactional is None


def test_unlock_all_in_a_migration_is_refused_before_anything_runs(database: Database,
                                                                   migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);")
    bad = migrations.add("b", "CREATE TABLE b (id int);\nSELECT pg_advisory_unlock_all();\nSELECT pg_sleep(2);\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2, r.stderr
    assert f"{bad}:2:" in r.stderr and "pg_advisory_unlock_all" in r.stderr and "Traceback" not in r.stderr
    assert not database.exists("a") and not database.exists("public._migrations")


def test_discard_all_in_a_no_transaction_file_is_refused(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE t (id int)")
    bad = migrations.add("idx", "CREATE INDEX CONCURRENTLY t_idx ON t (id);\nDISCARD ALL;\nSELECT pg_sleep(2);\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2, r.stderr
    assert f"{bad}:2:" in r.stderr and "DISCARD ALL" in r.stderr
    assert not database.exists("t_idx")


# --- B: stored rollback SQL is checked like forward SQL --------------------------------------


@pytest.mark.parametrize("sql_text, line, message", [
    ("CREATE TABLE a (id int);\n-- ROLLBACK: DROP TABLE a;\n-- ROLLBACK: COMMIT;\n", 3,
     "transaction control inside rollback SQL: COMMIT"),
    ("CREATE TABLE a (id int);\n-- ROLLBACK: ROLLBACK; DROP TABLE a;\n", 2, "transaction control inside rollback SQL"),
    ("CREATE TABLE a (id int);\n\n-- ROLLBACK BEGIN\n-- DROP TABLE a;\n-- COPY a FROM STDIN;\n-- ROLLBACK END\n", 5,
     "COPY ... FROM STDIN in rollback SQL"),
    ("CREATE TABLE a (id int);\n-- ROLLBACK: DROP TABLE a;\n-- ROLLBACK: DROPP TABLE b;\n", 3,
     "syntax error in its rollback SQL"),
    ("CREATE TABLE a (id int);\n-- ROLLBACK: DROP TABLE a; SELECT pg_advisory_unlock_all();\n", 2,
     "pg_advisory_unlock_all() in rollback SQL"),
    ("CREATE TABLE a (id int);\n-- ROLLBACK BEGIN\nDROP TABLE a;\nDISCARD ALL;\n-- ROLLBACK END\n", 4,
     "DISCARD ALL in rollback SQL"),
])
def test_custom_rollback_sql_is_checked_with_the_file(tmp_path: Path, sql_text: str, line: int,
                                                      message: str) -> None:
    got_line, reason = _refused(tmp_path, sql_text)
    assert got_line == line and message in reason, reason


def test_forward_problems_come_before_rollback_problems(tmp_path: Path) -> None:
    line, reason = _refused(tmp_path, "-- ROLLBACK: SELECT 1; COMMIT;\nSELECT pg_advisory_unlock_all();\n")
    assert line == 2 and "pg_advisory_unlock_all()" in reason


def test_custom_rollback_in_its_own_begin_commit_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "20260101000001_x.sql").write_text(
        "CREATE TABLE a (id int);\n-- ROLLBACK: BEGIN; DROP TABLE a; COMMIT;\n", encoding="utf-8")
    (f,) = discover(tmp_path)
    check(f)


def test_migrate_refuses_bad_rollback_sql_before_anything_runs(database: Database, migrations: MigrationDir
                                                               ) -> None:
    migrations.add("a", "CREATE TABLE a (id int);")
    bad = migrations.add("b", "CREATE TABLE b (id int);\n-- ROLLBACK: DROP TABLE b; COMMIT; DROP TABLE a;\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 2, r.stderr
    assert f"{bad}:2:" in r.stderr and "COMMIT" in r.stderr
    assert not database.exists("a") and not database.exists("public._migrations")


def test_baseline_refuses_rollback_sql_it_would_store(database: Database, migrations: MigrationDir) -> None:
    bad = migrations.add("a", "CREATE TABLE a (id int);\n-- ROLLBACK: DROP TABLE a; COMMIT;\n")
    r = run_cli("baseline", "20260101000001", *_args(database, migrations))
    assert r.code == 2 and f"{bad}:2:" in r.stderr, r.stderr
    assert not database.exists("public._migrations") or _names(database) == []


def _applied_with_stored_rollback(db: Database, m: MigrationDir, stored: str) -> None:
    m.add("a", "CREATE TABLE a (id int);")
    m.add("b", "CREATE TABLE b (id int);\n-- ROLLBACK: DROP TABLE b;\n")
    assert run_cli("migrate", *_args(db, m)).code == 0
    # Stored before these checks existed, or edited by hand:
    with db.connect() as conn:
        conn.execute("UPDATE public._migrations SET rollback_sql = %s WHERE name LIKE '%%_b.sql'", (stored,))


@pytest.mark.parametrize("stored, message", [
    ("DROP TABLE b; COMMIT; DROP TABLE a;", "transaction control inside rollback SQL: COMMIT"),
    ("ROLLBACK; DROP TABLE b;", "transaction control inside rollback SQL: ROLLBACK"),
    ("COPY b FROM STDIN;", "COPY ... FROM STDIN"),
    ("DROP TABLE b; SELECT pg_advisory_unlock_all();", "pg_advisory_unlock_all()"),
])
def test_stored_rollback_sql_is_checked_before_it_runs(database: Database, migrations: MigrationDir,
                                                       stored: str, message: str) -> None:
    _applied_with_stored_rollback(database, migrations, stored)
    audit = database.scalar("SELECT count(*) FROM public._migration_audit")
    for dry in ([], ["--dry-run"]):
        r = run_cli("rollback", *dry, *_args(database, migrations))
        assert r.code == 2, r.stderr
        assert "20260101000002_b.sql (stored rollback SQL):1:" in r.stderr and message in r.stderr
        assert "Nothing was rolled back" in r.stderr and "Traceback" not in r.stderr
    assert database.exists("a") and database.exists("b")
    assert _names(database) == ["20260101000001_a.sql", "20260101000002_b.sql"]
    assert database.scalar("SELECT count(*) FROM public._migration_audit") == audit  # nothing changed


def test_stored_rollback_in_its_own_begin_commit_runs_in_tidemarks_transaction(
        database: Database, migrations: MigrationDir) -> None:
    _applied_with_stored_rollback(database, migrations, "BEGIN;\nDROP TABLE b;\nCOMMIT;")
    r = run_cli("rollback", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert not database.exists("b") and _names(database) == ["20260101000001_a.sql"]


def test_a_rollback_that_ends_the_transaction_is_never_reported_done(
        database: Database, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """The net under the checks: SQL that slipped past them (the checks switched off here)."""
    from app.core import guards
    from app.core.errors import MigrationFailed
    from app.core.history import Actor, read_applied
    from app.core.options import Options
    from app.core.prepared import Context
    from app.core.progress import CancelToken
    from app.core.revert import revert

    _applied_with_stored_rollback(database, migrations, "DROP TABLE b; ROLLBACK; DROP TABLE a")
    monkeypatch.setattr(guards, "stored_rollback", lambda name, text, place=None: parse_file(text, Path(name)))
    with database.connect() as conn:
        (row,) = [r for r in read_applied(conn) if r.name.endswith("_b.sql")]
        ctx = Context(conn, Actor.current(), "b1", Options(), CancelToken(), lambda e: None)
        with pytest.raises(MigrationFailed) as caught:
            revert(ctx, row, 1, 1)
    assert "ended Tidemark's transaction" in str(caught.value) and "still recorded as applied" in str(caught.value)
    # The ROLLBACK undid DROP TABLE b; DROP TABLE a ran in the implicit transaction the guard failed.
    assert database.exists("a") and database.exists("b")
    assert _names(database) == ["20260101000001_a.sql", "20260101000002_b.sql"]


# --- C: index builds that were interrupted ---------------------------------------------------


def _duplicates(db: Database) -> None:
    db.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (1), (1)")


def test_rerun_over_an_invalid_index_is_not_recorded(database: Database, migrations: MigrationDir) -> None:
    """A failed concurrent build leaves an INVALID index; the re-run's IF NOT EXISTS skips it."""
    _duplicates(database)
    f = migrations.add("uniq", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_key ON t (v);")
    assert run_cli("migrate", *_args(database, migrations)).code == 1
    assert database.scalar("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass")
    database.execute("DELETE FROM t")  # the data is fixed; the INVALID index is still there
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1, r.stdout + r.stderr
    assert "public.t_v_key is INVALID" in r.stderr and "DROP INDEX CONCURRENTLY public.t_v_key" in r.stderr
    assert "not recorded as applied" in r.stderr and f"{f}:1" in r.stderr
    assert _names(database) == []
    # The advice, followed, works: drop it, run again.
    database.execute("DROP INDEX CONCURRENTLY public.t_v_key")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert database.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass") is True
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    assert doc["health"] == "healthy"


def test_terminated_concurrent_build_then_rerun(database: Database, migrations: MigrationDir) -> None:
    """The backend is terminated while it builds; the re-run (IF NOT EXISTS) must not record it."""
    database.execute("CREATE TABLE t (v int); INSERT INTO t SELECT g FROM generate_series(1, 1000) g")
    database.execute("CREATE FUNCTION slow(x int) RETURNS int IMMUTABLE LANGUAGE sql AS "
                     "'SELECT x + (pg_sleep(0.02) IS NULL)::int'")
    migrations.add("idx", "-- Migration: index\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_slow ON t (slow(v));\n")
    t, raised = in_thread(lambda: run_cli("migrate", *_args(database, migrations)))
    wait_for(lambda: database.scalar("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE "
                                     "'%CREATE INDEX CONCURRENTLY%' AND state = 'active' AND pid <> pg_backend_pid()"),
             what="the index build to run")
    wait_for(lambda: database.scalar("SELECT count(*) FROM pg_class WHERE relname = 't_slow'"),
             what="the index to be in the catalog")
    database.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE "
                     "'%CREATE INDEX CONCURRENTLY%' AND pid <> pg_backend_pid()")
    t.join(30)
    assert not t.is_alive() and not raised
    assert database.scalar("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 't_slow'::regclass")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 1 and "public.t_slow is INVALID" in r.stderr, r.stderr
    assert _names(database) == []
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    (reason,) = [x for x in doc["reasons"] if x["code"] == "invalid_index"]
    assert "then run `tidemark migrate` again" in reason["message"]


def test_connection_lost_during_a_no_transaction_file_says_what_is_known(database: Database,
                                                                         migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE t (v int)")
    migrations.add("idx", "CREATE INDEX CONCURRENTLY t_a ON t (v);\nSELECT pg_sleep(30);\n"
                   "CREATE INDEX CONCURRENTLY t_b ON t (v);\n")
    out: list[object] = []
    t, raised = in_thread(lambda: out.append(run_cli("migrate", *_args(database, migrations))))
    wait_for(lambda: database.scalar("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%pg_sleep(30)%' "
                                     "AND state = 'active' AND pid <> pg_backend_pid()"), what="the sleep")
    database.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE '%pg_sleep(30)%' "
                     "AND pid <> pg_backend_pid()")
    t.join(30)
    assert not raised
    (r,) = out
    err = r.stderr  # type: ignore[attr-defined]
    assert r.code == 1, err  # type: ignore[attr-defined]
    assert "committed" not in err.replace("commits on its own", "") and "rolled both back" not in err
    assert "known done: line 1: CREATE INDEX CONCURRENTLY t_a" in err
    assert "unknown: line 2: SELECT pg_sleep(30)" in err and "not run: line 3" in err
    assert "not recorded as applied" in err and "tidemark status" in err


def test_status_advice_for_an_invalid_index_of_an_applied_migration(database: Database,
                                                                    migrations: MigrationDir) -> None:
    """Recorded by an older Tidemark over an INVALID index: "run it again" would do nothing."""
    _duplicates(database)
    migrations.add("uniq", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_key ON t (v);")
    assert run_cli("migrate", *_args(database, migrations)).code == 1
    assert run_cli("baseline", "20260101000001", *_args(database, migrations)).code == 0
    doc = json.loads(run_cli("status", *_args(database, migrations), "--json").stdout)
    (reason,) = [x for x in doc["reasons"] if x["code"] == "invalid_index"]
    assert "build it again by hand" in reason["message"] and "does not run it again" in reason["message"]


def test_a_rollback_over_an_invalid_index_is_not_reported_done(database: Database, migrations: MigrationDir
                                                               ) -> None:
    """The rollback rebuilds an index with IF NOT EXISTS while an INVALID one of that name is there."""
    _duplicates(database)
    migrations.add("drop", "-- tidemark:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS t_v_key;\n"
                   "-- ROLLBACK: CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_key ON t (v);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    with pytest.raises(psycopg.errors.UniqueViolation):  # a failed build of that name leaves it INVALID
        database.execute("CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)")
    database.execute("DELETE FROM t")
    r = run_cli("rollback", *_args(database, migrations))
    assert r.code == 1, r.stdout + r.stderr
    assert "public.t_v_key is INVALID" in r.stderr and "still recorded as applied" in r.stderr
    assert _names(database) == ["20260101000001_drop.sql"]


def test_a_failed_unnamed_concurrent_build_names_the_index_it_left(database: Database,
                                                                   migrations: MigrationDir) -> None:
    """No file names it, so `status` could not: the failure itself must."""
    _duplicates(database)
    migrations.add("uniq", "CREATE UNIQUE INDEX CONCURRENTLY ON t (v);")
    r = run_cli("migrate", *_args(database, migrations))
    left = database.scalar("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "WHERE i.indrelid = 't'::regclass AND NOT i.indisvalid")
    assert r.code == 1 and left and f"DROP INDEX CONCURRENTLY IF EXISTS public.{left}" in r.stderr, r.stderr
    assert "rolled back" not in r.stderr and "nothing of it remains" not in r.stderr  # an INVALID index remains
