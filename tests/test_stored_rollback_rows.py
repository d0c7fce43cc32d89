"""Issue 10: hand-edited stored rollbacks are one-line errors (exit 2), never a bug report or a false success.

The rollback columns of public._migrations (what `rollback` runs) and the rows of
public._migration_rollbacks (what reports show) are plain tables a DBA can edit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult, Database, MigrationDir, run_cli

B = "20260101000002"  # migration b: custom rollback SQL


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _one_line_usage_error(r: CliResult) -> str:
    assert r.code == 2, (r.code, r.stderr)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def _history(db: Database) -> list[tuple]:
    return (db.query("SELECT to_jsonb(m)::text FROM public._migrations m ORDER BY id")
            + db.query("SELECT to_jsonb(r)::text FROM public._migration_rollbacks r ORDER BY id")
            + db.query("SELECT count(*) FROM public._migration_audit"))


def _applied(db: Database, m: MigrationDir) -> None:
    m.add("a", "CREATE TABLE a (id int);")
    m.add("b", "CREATE TABLE b (id int);\n-- ROLLBACK: DROP TABLE b;\n")
    assert run_cli("migrate", *_args(db, m)).code == 0


KIND_EDITS = {
    "unknown kind": (f"UPDATE public._migrations SET rollback_kind = 'auto' WHERE version = '{B}'",
                     "column rollback_kind is 'auto', not generated, custom or manual"),
    "custom over NULL": (f"UPDATE public._migrations SET rollback_sql = NULL WHERE version = '{B}'",
                         "column rollback_sql is NULL, but rollback_kind says custom"),
    "custom over blanks": (f"UPDATE public._migrations SET rollback_sql = '  ' WHERE version = '{B}'",
                           "column rollback_sql is empty, but rollback_kind says custom"),
    "generated over NULL": (f"UPDATE public._migrations SET rollback_kind = 'generated', rollback_sql = NULL "
                            f"WHERE version = '{B}'", "column rollback_sql is NULL, but rollback_kind says generated"),
}


@pytest.mark.parametrize("edit", list(KIND_EDITS), ids=list(KIND_EDITS))
def test_a_hand_edited_stored_rollback_is_refused_before_anything_runs(
        database: Database, migrations: MigrationDir, edit: str) -> None:
    _applied(database, migrations)
    sql, expected = KIND_EDITS[edit]
    database.execute(sql)
    before = _history(database)
    for command in (["rollback"], ["rollback", "2"], ["rollback", "--dry-run"], ["rollback-to", "20260101000001"]):
        err = _one_line_usage_error(run_cli(*command, *_args(database, migrations)))
        assert f"public._migrations row with version {B} ('{B}_b.sql'): {expected}" in err, (command, err)
        assert "UPDATE public._migrations SET rollback_kind = 'manual'" in err and "nothing was changed" in err
    assert _history(database) == before  # no history row deleted, no audit row
    assert database.exists("public.b") and database.exists("public.a")
    assert run_cli("status", *_args(database, migrations)).code == 0  # status does not use it: it still works


def test_a_stored_rollback_of_an_older_tool_still_runs(database: Database, migrations: MigrationDir) -> None:
    """No kind stored (the seed's tool): the SQL says what it is, as before."""
    _applied(database, migrations)
    database.execute(f"UPDATE public._migrations SET rollback_kind = NULL WHERE version = '{B}'")
    r = run_cli("rollback", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert not database.exists("public.b")


ROW_EDITS = {
    "NULL migration_name": ("migration_name", "UPDATE public._migration_rollbacks SET migration_name = NULL",
                            "column migration_name is NULL"),
    "empty migration_name": ("migration_name", "UPDATE public._migration_rollbacks SET migration_name = ''",
                             "column migration_name is empty"),
    "NULL rollback_sql": ("rollback_sql", "UPDATE public._migration_rollbacks SET rollback_sql = NULL",
                          f"('{B}_b.sql'): column rollback_sql is NULL"),
    "NULL execution_time_ms": ("execution_time_ms",
                               "UPDATE public._migration_rollbacks SET execution_time_ms = NULL",
                               f"('{B}_b.sql'): column execution_time_ms is NULL"),
}


@pytest.mark.parametrize("edit", list(ROW_EDITS), ids=list(ROW_EDITS))
def test_a_hand_edited_rollback_row_is_a_one_line_error_in_reports(
        database: Database, migrations: MigrationDir, tmp_path: Path, edit: str) -> None:
    _applied(database, migrations)
    assert run_cli("rollback", *_args(database, migrations)).code == 0
    column, sql, expected = ROW_EDITS[edit]
    database.execute(f"ALTER TABLE public._migration_rollbacks ALTER COLUMN {column} DROP NOT NULL; {sql}")
    rid = database.scalar("SELECT id FROM public._migration_rollbacks")
    before = _history(database)
    for fmt in ([], ["--json"], ["--html", "-o", str(tmp_path / "r.html")], ["--pdf", "-o", str(tmp_path / "r.pdf")]):
        err = _one_line_usage_error(run_cli("report", *fmt, *_args(database, migrations)))
        assert f"public._migration_rollbacks row id {rid}" in err and expected in err, (fmt, err)
        assert f"WHERE id = {rid}" in err and "nothing was changed" in err
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r.pdf").exists()
    assert _history(database) == before


def test_a_rollback_row_of_another_type_is_a_one_line_error_in_reports(
        database: Database, migrations: MigrationDir) -> None:
    _applied(database, migrations)
    assert run_cli("rollback", *_args(database, migrations)).code == 0
    database.execute("ALTER TABLE public._migration_rollbacks ALTER COLUMN execution_time_ms TYPE text")
    err = _one_line_usage_error(run_cli("report", "--json", *_args(database, migrations)))
    assert "public._migration_rollbacks: column execution_time_ms is text" in err
