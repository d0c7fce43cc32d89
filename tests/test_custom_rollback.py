"""Writing a manual migration's rollback block into its file and recording it: whole or nothing."""

from __future__ import annotations

import pytest

from app.core.connect import Target
from app.core.custom_rollback import plan_block, with_rollback_block, write_and_record
from app.core.directives import read_directives
from app.core.errors import TidemarkError, UsageError
from app.core.protection import Action, confirm, requirement
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir


def _setup(database: Database, migrations: MigrationDir, *, raw: bytes | None = None,
           protected: bool = False) -> tuple[MigrationRunner, object]:
    database.execute("CREATE TABLE settings (key text, value text); CREATE FUNCTION audit() RETURNS trigger "
                     "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER audit BEFORE INSERT ON settings "
                     "FOR EACH ROW EXECUTE FUNCTION audit()")  # a trigger fires on the insert: its rollback is manual
    f = migrations.add("theme", "INSERT INTO settings VALUES ('theme', 'dark');\n", raw=raw)
    target = Target(database.dsn, "test", environment="prod-db" if protected else None, protected=protected)
    runner = MigrationRunner(target, migrations.path)
    if protected:
        runner.run_migrations(confirmed=confirm(requirement(target, Action.MIGRATE), typed="prod-db",
                                                backup=None, no_backup=True))
    else:
        runner.run_migrations()
    return runner, f


def test_the_block_is_read_back_as_the_rollback() -> None:
    text = with_rollback_block("INSERT INTO t VALUES (1);", "DELETE FROM t\n  WHERE id = 1;\n\nSELECT 1;")
    assert text.endswith("-- ROLLBACK BEGIN\n-- DELETE FROM t\n--   WHERE id = 1;\n--\n-- SELECT 1;\n-- ROLLBACK END\n")
    assert read_directives(text).custom_rollback == "DELETE FROM t\nWHERE id = 1;\n\nSELECT 1;"
    crlf = with_rollback_block("\ufeffINSERT INTO t VALUES (1);\r\n", "DELETE FROM t;")
    assert crlf == "\ufeffINSERT INTO t VALUES (1);\r\n-- ROLLBACK BEGIN\r\n-- DELETE FROM t;\r\n-- ROLLBACK END\r\n"


def test_write_and_record_then_roll_back(database: Database, migrations: MigrationDir) -> None:
    raw = b"\xef\xbb\xbfINSERT INTO settings VALUES ('theme', 'dark');\r\n"  # a Windows editor's file
    runner, f = _setup(database, migrations, raw=raw)
    plan = plan_block(runner, f.name)
    assert "line 1" in plan.why_manual
    assert "+-- DELETE FROM settings WHERE key = 'theme';" in plan.diff("DELETE FROM settings WHERE key = 'theme';")
    result = write_and_record(runner, plan, "DELETE FROM settings WHERE key = 'theme';", "demo row, by its key")
    assert result.repaired == [f.name]
    data = f.read_bytes()
    assert data.startswith(raw) and data.endswith(b"-- ROLLBACK END\r\n")
    assert b"\n" not in data.replace(b"\r\n", b""), "the file's CRLF line endings are kept"
    row = database.query("SELECT rollback_kind, rollback_sql FROM public._migrations")[0]
    assert row == ("custom", "DELETE FROM settings WHERE key = 'theme';")
    assert database.scalar("SELECT reason FROM public._migration_audit WHERE event = 'repaired'") == \
        "demo row, by its key"
    assert runner.get_migration_status().health == "healthy"
    runner.rollback_migrations(count=1)
    assert database.scalar("SELECT count(*) FROM settings") == 0


@pytest.mark.parametrize("sql, words", [("", "empty"), ("DELET FROM settings;", "DELET"),
                                         ("-- ROLLBACK END\nSELECT 1;", "'-- ROLLBACK' lines")])
def test_bad_sql_changes_nothing(database: Database, migrations: MigrationDir, sql: str, words: str) -> None:
    runner, f = _setup(database, migrations)
    before = f.read_bytes()
    plan = plan_block(runner, f.name)
    with pytest.raises(UsageError) as err:
        write_and_record(runner, plan, sql, "why")
    assert words in err.value.message
    assert f.read_bytes() == before
    assert database.scalar("SELECT rollback_kind FROM public._migrations") == "manual"


def test_a_protected_target_needs_its_name_and_the_file_is_put_back(database: Database,
                                                                   migrations: MigrationDir) -> None:
    runner, f = _setup(database, migrations, protected=True)
    before = f.read_bytes()
    plan = plan_block(runner, f.name)
    with pytest.raises(TidemarkError) as err:
        write_and_record(runner, plan, "DELETE FROM settings;", "why")  # no confirmation
    assert "prod-db" in err.value.message
    assert f.read_bytes() == before, "a refused step leaves the file as it was"
    assert database.scalar("SELECT rollback_kind FROM public._migrations") == "manual"
    assert not database.scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'repaired'")
    ok = confirm(requirement(runner.target, Action.REPAIR), typed="prod-db", planned=[f.name])
    write_and_record(runner, plan, "DELETE FROM settings;", "why", confirmed=ok)
    assert database.scalar("SELECT rollback_kind FROM public._migrations") == "custom"


def test_only_manual_unmodified_applied_ones(database: Database, migrations: MigrationDir) -> None:
    runner, f = _setup(database, migrations)
    g = migrations.add("t", "CREATE TABLE t (id int);\n")
    runner.run_migrations()
    with pytest.raises(UsageError, match="generated, not manual"):
        plan_block(runner, g.name)
    f.write_text(f.read_text() + "-- edited\n")
    with pytest.raises(UsageError, match="changed since it was applied"):
        plan_block(runner, f.name)
