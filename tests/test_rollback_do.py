"""DO blocks of conditional DDL: planned from the catalog around them, each path tried in a savepoint.

Each migration is applied by the CLI on a real server, rolled back by the CLI, and the catalog
compared with what it was before; a block whose condition is false leaves nothing to undo.
"""

from __future__ import annotations

from app.core.catalog import diff, snapshot
from tests.conftest import Database, MigrationDir, run_cli
from tests.rollback_round_trip import cli_args as _args
from tests.rollback_round_trip import newest as _newest
from tests.rollback_round_trip import round_trip

BASE = "CREATE TABLE public.items (id int PRIMARY KEY, label text);"

TYPE_IF_MISSING = """DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN
    CREATE TYPE mood AS ENUM ('ok', 'sad');
  END IF;
END $$;
"""
CONSTRAINT_UNLESS_DUPLICATE = """DO $$ BEGIN
  ALTER TABLE items ADD CONSTRAINT items_label_len CHECK (length(label) < 100);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""
RENAME_OR_ADD = """DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'label') THEN
    ALTER TABLE items RENAME COLUMN label TO title;
  ELSE
    ALTER TABLE items ADD COLUMN title text;
  END IF;
  CREATE INDEX items_title ON items (title);
END $$;
"""


def _snap(db: Database) -> object:
    with db.connect() as conn:
        return snapshot(conn)


def _round_trip(db: Database, migrations: MigrationDir, sql: str) -> str:
    return round_trip(db, migrations, sql)


def test_conditional_ddl_is_undone_exactly(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    assert "DROP TYPE" in _round_trip(database, migrations, TYPE_IF_MISSING)
    assert "DROP CONSTRAINT" in _round_trip(database, migrations, CONSTRAINT_UNLESS_DUPLICATE)
    stored = _round_trip(database, migrations, RENAME_OR_ADD)  # the IF branch: a rename back
    assert "RENAME COLUMN title TO label" in stored and "DROP INDEX" in stored
    database.execute("ALTER TABLE items DROP COLUMN label")
    stored = _round_trip(database, migrations, RENAME_OR_ADD)  # the ELSE branch: the column dropped
    assert "DROP COLUMN title" in stored and "RENAME" not in stored


def test_a_block_whose_condition_is_false_has_nothing_to_undo(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE + "CREATE TYPE mood AS ENUM ('ok');"
                     "ALTER TABLE items ADD CONSTRAINT items_label_len CHECK (length(label) < 100);")
    assert _round_trip(database, migrations, TYPE_IF_MISSING) == ""
    assert _round_trip(database, migrations, CONSTRAINT_UNLESS_DUPLICATE) == ""
    assert database.scalar("SELECT count(*) FROM pg_type WHERE typname = 'mood'") == 1


def test_a_block_beyond_reading_is_undone_from_what_it_added(database: Database, migrations: MigrationDir) -> None:
    """A loop of EXECUTEs cannot be planned from its text: what it added is seen, dropped, and checked."""
    database.execute(BASE)
    stored = _round_trip(database, migrations, "DO $$ BEGIN\n  FOR i IN 1..2 LOOP\n"
                                               "    EXECUTE format('CREATE TABLE t%s (id int)', i);\n"
                                               "  END LOOP;\nEND $$;\n")
    assert "DROP TABLE IF EXISTS public.t1 CASCADE" in stored and "public.t2" in stored


def test_a_block_that_changes_rows_stays_manual_with_its_reason(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE + "INSERT INTO items VALUES (1, 'a');")
    migrations.add("m", "DO $$ BEGIN\n  FOR i IN 1..2 LOOP\n    UPDATE items SET label = label || i;\n"
                        "  END LOOP;\nEND $$;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert _newest(database, "rollback_kind") == "manual"
    note = str(_newest(database, "rollback_note"))
    assert "DO block with a FOR loop" in note and "changes rows of items" in note, note
    before = _snap(database)
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code != 0 and diff(before, _snap(database)) == []
    assert database.scalar("SELECT label FROM items") == "a12"


def test_rename_if_exists_inside_and_outside_a_block(database: Database, migrations: MigrationDir) -> None:
    """`ALTER TABLE IF EXISTS ... RENAME`: renamed back when the table was there, nothing when it was not."""
    database.execute(BASE + 'CREATE TABLE "Old_Name" (id int);')
    assert 'RENAME TO "Old_Name"' in _round_trip(database, migrations,
                                                 'ALTER TABLE IF EXISTS "Old_Name" RENAME TO "New_Name";')
    assert _round_trip(database, migrations, "ALTER TABLE IF EXISTS nowhere RENAME TO somewhere;") == ""
    block = 'DO $$ BEGIN\n  ALTER TABLE IF EXISTS "Old_Name" RENAME TO "New_Name";\nEND $$;\n'
    assert 'RENAME TO "Old_Name"' in _round_trip(database, migrations, block)
    database.execute('DROP TABLE "Old_Name"')
    assert _round_trip(database, migrations, block) == ""
