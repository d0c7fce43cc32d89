"""Never wrong: every generated rollback of the real-world sets, checked (issue 16).

The same check as benchmarks/rollback_corpus.py runs over the packaged projects' sets, here over
the committed sets in tests/realworld on every test server: each migration applied, its rollback
run (a manual one's too, whose refusal must change nothing), the catalog compared with the one
before, and the migration applied again. No rollback that ran may leave a different catalog, no
refusal may change it, and every file must apply.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.connect import Target
from app.core.rollback_check import FolderCheck, check_folder
from tests.conftest import Database, run_cli

SETS = Path(__file__).parent / "realworld"


def _check(db: Database, folder: Path) -> FolderCheck:
    return check_folder(Target(db.dsn, "corpus"), folder)


def _never_wrong(check: FolderCheck) -> None:
    assert not check.apply_failures, [(m.name, m.apply_error) for m in check.apply_failures]
    assert not check.wrong, [(m.name, m.differences) for m in check.wrong]
    assert not check.refused_but_changed, [(m.name, m.rollback_note) for m in check.refused_but_changed]
    assert not check.failed, [(m.name, m.rollback_note) for m in check.failed]
    assert check.summary()["not_tried"] == 0


def test_helpdesk_and_its_followups(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "helpdesk"
    shutil.copytree(SETS / "helpdesk", folder)
    for f in (SETS / "helpdesk_followups").glob("*.sql"):
        shutil.copy(f, folder)
    check = _check(database, folder)
    _never_wrong(check)
    c = check.summary()
    assert c["files"] == 27 and c["verified"] + c["manual"] == 27
    # what stays manual, and the statement behind it: PostgreSQL cannot remove an enum value
    assert check.manual_kinds == {"20250306080000_status_closed.sql": "ALTER TYPE ADD VALUE"}


def test_pgdump_as_first_migration(database: Database) -> None:
    check = _check(database, SETS / "pgdump")
    _never_wrong(check)
    assert check.summary()["verified"] == 2


def test_supabase_project(database: Database) -> None:
    with database.connect() as conn:
        if not conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'uuid-ossp'").fetchone()[0]:
            pytest.skip("this server has no uuid-ossp, which the project's first migration creates")
    assert run_cli("supabase-shim", "--dsn", database.dsn).code == 0
    database.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime')"
                     " THEN CREATE PUBLICATION supabase_realtime; END IF; END $$")
    check = _check(database, SETS / "supabase" / "supabase" / "migrations")
    _never_wrong(check)
    assert check.summary()["files"] >= 6


def test_a_wrong_rollback_is_caught(database: Database, tmp_path: Path) -> None:
    """The check can fail: a custom rollback that forgets an index is counted as wrong."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20250101000000_t.sql").write_text("CREATE TABLE t (id int);\n", encoding="utf-8")
    (folder / "20250101000001_ix.sql").write_text(
        "CREATE INDEX t_id ON t (id);\nCOMMENT ON TABLE t IS 'x';\n-- ROLLBACK: COMMENT ON TABLE t IS NULL;\n",
        encoding="utf-8")
    check = _check(database, folder)
    assert [m.name for m in check.wrong] == ["20250101000001_ix.sql"]
    assert any("t_id" in d for d in check.wrong[0].differences)
