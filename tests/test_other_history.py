"""Another tool's history in the database: `migrate` never runs twice what that tool applied (exit 1,
history forbids the run), and `status` says its history is not imported yet (app.core.imports.guard)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.core import layouts
from tests.conftest import Database, run_cli
from tests.test_import_history import (
    WRITERS,
    _applied_by_the_tool,
    _args,
    _dbmate,
    _golang_migrate,
    _project,
    _rows,
)
from tests.test_layouts import DBMATE, PROJECTS, _url, _write


def _catalog(db: Database) -> list[tuple]:
    return db.query("SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")


@pytest.mark.parametrize("layout", list(WRITERS))
def test_migrate_refuses_what_the_other_tool_applied(layout: str, database: Database, tmp_path: Path) -> None:
    folder, names = _project(layout, database, tmp_path)
    table = WRITERS[layout][0]
    before, theirs = _catalog(database), _rows(database, table)

    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert f"(in {table}) but Tidemark's history does not have" in r.stderr
    assert f"tidemark import-history --from {layout}" in r.stderr and "nothing ran" in r.stderr
    assert names[0] in r.stderr
    assert _catalog(database) == before, "nothing ran, no history table was created"
    assert _rows(database, table) == theirs

    status = run_cli("status", *_args(database, folder), "--json")
    assert status.code == 0, status.stderr
    reasons = [x for x in json.loads(status.stdout)["reasons"] if x["code"] == "other_history"]
    assert len(reasons) == 1
    assert f"import it before migrating (`tidemark import-history --from {layout}`" in reasons[0]["message"]
    assert f"records {len(names) - 1} applied migration" in reasons[0]["message"]

    assert run_cli("import-history", "--from", layout, *_args(database, folder)).code == 0
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0 and "applied 1 migration" in r.stdout, (r.stdout, r.stderr)
    status = run_cli("status", *_args(database, folder), "--json")
    assert not [x for x in json.loads(status.stdout)["reasons"] if x["code"] == "other_history"], \
        "imported: nothing more to say"


@pytest.mark.skipif(_dbmate() is None, reason="dbmate not installed (npm install dbmate; TIDEMARK_TEST_DBMATE=path)")
def test_dbmate_itself_then_migrate_without_import(database: Database, tmp_path: Path) -> None:
    names = list(DBMATE)
    theirs = _write(tmp_path / "dbmate", {n: DBMATE[n] for n in names[:-1]})
    run = subprocess.run([_dbmate(), "--url", _url(database.dsn), "--migrations-dir", str(theirs),
                          "--no-dump-schema", "up"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    folder = _write(tmp_path / "migrations", DBMATE)
    before = _catalog(database)
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1 and "dbmate already applied" in r.stderr, (r.stdout, r.stderr)
    assert _catalog(database) == before


def test_a_first_run_over_a_half_finished_history_is_refused(database: Database, tmp_path: Path) -> None:
    files, _, names = PROJECTS["golang-migrate"]
    folder = _write(tmp_path / "migrations", files)
    _applied_by_the_tool(database, folder, names[-2])
    _golang_migrate(database, layouts.read(folder).files[:2], dirty=True)
    before = _catalog(database)
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1, (r.stdout, r.stderr)
    assert "this database has golang-migrate's history (schema_migrations) and no Tidemark history" in r.stderr
    assert "version 2 is dirty" in r.stderr and "nothing ran" in r.stderr
    assert _catalog(database) == before


def test_a_table_of_the_same_name_but_another_tool_is_not_theirs(database: Database, tmp_path: Path) -> None:
    """dbmate's schema_migrations (one varchar column) is not golang-migrate's (version, dirty): the
    golang-migrate reader passes; dbmate's reader, whose table it is, decides."""
    folder, _names = _project("dbmate", database, tmp_path)
    r = run_cli("status", *_args(database, folder), "--json")
    messages = [x["message"] for x in json.loads(r.stdout)["reasons"] if x["code"] == "other_history"]
    assert len(messages) == 1 and messages[0].startswith("dbmate's history"), messages


def test_no_other_history_changes_nothing(database: Database, tmp_path: Path) -> None:
    files, _, _names = PROJECTS["dbmate"]
    folder = _write(tmp_path / "migrations", files)
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    status = json.loads(run_cli("status", *_args(database, folder), "--json").stdout)
    assert status["health"] == "healthy", status["reasons"]


def test_dry_run_is_refused_as_migrate_would_be(database: Database, tmp_path: Path) -> None:
    folder, _ = _project("flyway", database, tmp_path)
    r = run_cli("dry-run", *_args(database, folder))
    assert r.code == 1 and "Flyway already applied" in r.stderr, (r.stdout, r.stderr)
