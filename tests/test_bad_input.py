"""The issue's bad-input list, end to end through the CLI: each one exit 2, one line naming the file
(and line where there is one), no traceback, and nothing changed in the database (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core import layouts
from tests.conftest import Database, run_cli
from tests.test_import_history import _applied_by_the_tool, _golang_migrate
from tests.test_layouts import DBMATE, FLYWAY, GOLANG_MIGRATE, GOOSE, PROJECTS, SQITCH, _write


def _args(db: Database, folder: Path) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(folder)]


def _tables(db: Database) -> list[tuple]:
    return db.query("SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                    "('pg_catalog', 'information_schema') ORDER BY 1, 2")


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


def _flyway_without_separator(root: Path) -> tuple[Path, list[str]]:
    folder = _write(root, {**FLYWAY, "V3_orders_index.sql": "CREATE INDEX ON orders (id);\n"})
    return folder, ["V3_orders_index.sql", "__"]


def _mixed(root: Path) -> tuple[Path, list[str]]:
    return _write(root, {**DBMATE, **GOOSE}), ["mixes layouts", "20240105093000_create_users.sql:1"]


def _down_without_up(root: Path) -> tuple[Path, list[str]]:
    folder = _write(root, {**GOLANG_MIGRATE, "3_gone.down.sql": "DROP TABLE gone;\n"})
    return folder, ["3_gone.down.sql: cannot be placed in the golang-migrate layout", "3_gone.up.sql"]


def _unknown_placeholder(root: Path) -> tuple[Path, list[str]]:
    folder = _write(root, {"V1__grant.sql": "-- grants\nCREATE TABLE b (id int);\nGRANT SELECT ON b TO ${reader};\n"})
    return folder, [f"{folder / 'V1__grant.sql'}:3: uses the placeholder ${{reader}}"]


def _sqitch_missing_script(root: Path) -> tuple[Path, list[str]]:
    folder = _write(root, {k: v for k, v in SQITCH.items() if k != "deploy/users.sql"})
    return folder, [f"{folder / 'sqitch.plan'}:6: plans change users, but", "deploy/users.sql is missing"]


CASES: dict[str, Callable[[Path], tuple[Path, list[str]]]] = {
    "mixed layouts": _mixed,
    "a V file without __": _flyway_without_separator,
    "a down file whose up file is missing": _down_without_up,
    "an unknown placeholder": _unknown_placeholder,
    "a Sqitch plan naming a missing script": _sqitch_missing_script,
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_exit_2_one_line_nothing_changed(case: str, database: Database, tmp_path: Path) -> None:
    folder, needles = CASES[case](tmp_path / "migrations")
    before = _tables(database)
    for command in ("migrate", "dry-run", "rehearse"):
        r = run_cli(command, *_args(database, folder))
        assert r.code == 2, (case, command, r.stdout, r.stderr)
        line = _one_line(r.stderr)
        for needle in needles:
            assert needle in line, (case, command, needle, line)
    assert _tables(database) == before, "nothing changed"


def test_a_dirty_golang_migrate_row(database: Database, tmp_path: Path) -> None:
    files, _, names = PROJECTS["golang-migrate"]
    folder = _write(tmp_path / "migrations", GOLANG_MIGRATE)
    _applied_by_the_tool(database, folder, names[-2])
    _golang_migrate(database, layouts.read(folder).files[:2], dirty=True)
    before = _tables(database), database.query("SELECT * FROM schema_migrations")
    r = run_cli("import-history", "--from", "golang-migrate", *_args(database, folder))
    assert r.code == 2, r.stdout + r.stderr
    line = _one_line(r.stderr)
    assert "schema_migrations" in line and "version 2 is dirty" in line and "migrate force 2" in line
    assert (_tables(database), database.query("SELECT * FROM schema_migrations")) == before, "nothing changed"
    assert not database.exists("public._migrations")
    del files


def test_rolling_back_where_the_down_file_is_missing(database: Database, tmp_path: Path) -> None:
    """A missing down file is no error to migrate (Diesel's `--no-down`, golang-migrate without one): the
    rollback is generated when it can be; when not, rolling back is refused whole, exit 2, nothing changed."""
    folder = _write(tmp_path / "migrations", {
        "1_t.up.sql": "CREATE TABLE t (id int, note text);\n",
        "2_drop_note.up.sql": "ALTER TABLE t DROP COLUMN note;\n",  # no down file, and it loses data
    })
    assert run_cli("migrate", *_args(database, folder)).code == 0
    before = database.query("SELECT name, rollback_kind FROM public._migrations ORDER BY id")
    assert before == [("1_t.up.sql", "generated"), ("2_drop_note.up.sql", "manual")]
    for command in (("rollback", "1"), ("rollback-to", "1_t.up.sql")):
        r = run_cli(*command, *_args(database, folder))
        assert r.code == 2, r.stdout + r.stderr
        line = _one_line(r.stderr)
        assert "nothing was rolled back: no rollback SQL is known for 2_drop_note.up.sql" in line, line
    assert database.query("SELECT name, rollback_kind FROM public._migrations ORDER BY id") == before
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 't'") == 1
