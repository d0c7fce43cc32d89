"""Statements whose text does not say what they do (a function call, CALL, a DO block with a loop or
EXECUTE): undone by dropping what they were seen to add, checked in a savepoint; else manual.

Each migration is applied by the CLI on a real server and rolled back by the CLI; the catalog (and
where named, rows) compared with what it was before.
"""

from __future__ import annotations

from tests.conftest import Database, MigrationDir, run_cli
from tests.rollback_round_trip import cli_args as _args
from tests.rollback_round_trip import newest as _newest
from tests.rollback_round_trip import round_trip

BASE = """CREATE TABLE public.items (id int PRIMARY KEY, label text);
INSERT INTO public.items VALUES (1, 'one');
CREATE SEQUENCE public.tickets;"""

# temBoard's pattern: a function builds tables from a configuration with EXECUTE, then is called
MAKER = """CREATE FUNCTION make_tables() RETURNS TABLE(tblname text) LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY array['cpu', 'mem'] LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I (at timestamptz NOT NULL, v real, item int REFERENCES items)',
                   'metric_' || t);
    EXECUTE format('CREATE INDEX ON %I (at)', 'metric_' || t);
    EXECUTE format('INSERT INTO %I VALUES (now(), 1, 1)', 'metric_' || t);
    tblname := 'metric_' || t;
    RETURN NEXT;
  END LOOP;
END $$;
"""


def _items(db: Database) -> object:
    return lambda: db.query("SELECT * FROM items ORDER BY id")


def _manual(db: Database, migrations: MigrationDir, sql: str) -> str:
    migrations.add("m", sql)
    r = run_cli("migrate", *_args(db, migrations))
    assert r.code == 0, r.stderr
    assert _newest(db, "rollback_kind") == "manual", _newest(db, "rollback_sql")
    return str(_newest(db, "rollback_note"))


def test_a_function_that_creates_tables_is_undone_by_dropping_them(database: Database,
                                                                     migrations: MigrationDir) -> None:
    database.execute(BASE)
    database.execute(MAKER)
    stored = round_trip(database, migrations, "SELECT * FROM make_tables();", _items(database))
    assert "DROP TABLE IF EXISTS public.metric_cpu CASCADE" in stored
    assert "DROP FUNCTION" not in stored  # the function was there before


def test_a_do_block_with_a_loop_and_execute(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    stored = round_trip(database, migrations, """DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..3 LOOP
    EXECUTE format('CREATE INDEX items_label_%s ON items (label) WHERE id > %s', i, i);
  END LOOP;
  EXECUTE 'CREATE VIEW item_labels AS SELECT label FROM items';
  CREATE TYPE tone AS ENUM ('low', 'high');
  CREATE FUNCTION tone_of(int) RETURNS tone LANGUAGE sql AS 'SELECT ''low''::tone';
  EXECUTE 'CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW '
          'EXECUTE FUNCTION suppress_redundant_updates_trigger()';
  ALTER TABLE items ADD CONSTRAINT items_label_short CHECK (length(label) < 50) NOT VALID;
END $$;""", _items(database))
    assert "DROP INDEX IF EXISTS public.items_label_1 CASCADE" in stored
    assert stored.index("DROP TRIGGER") < stored.index("DROP FUNCTION") < stored.index("DROP TYPE")


def test_a_procedure_call_that_makes_a_schema(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    database.execute("CREATE PROCEDURE setup() LANGUAGE plpgsql AS $$ BEGIN "
                     "CREATE SCHEMA reports; CREATE TABLE reports.daily (d date PRIMARY KEY); "
                     "CREATE SEQUENCE reports.n; END $$;")
    stored = round_trip(database, migrations, "CALL setup();", _items(database))
    assert stored.splitlines()[-1] == "DROP SCHEMA IF EXISTS reports CASCADE;"


def test_a_call_that_changes_nothing_has_nothing_to_undo(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    database.execute("CREATE FUNCTION noisy() RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN "
                     "RAISE NOTICE 'hello'; RETURN 1; END $$;")
    assert round_trip(database, migrations, "SELECT noisy();") == ""


def test_rows_of_a_table_that_was_there_make_it_manual(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    note = _manual(database, migrations, "DO $$ BEGIN EXECUTE 'UPDATE items SET label = ''x'''; "
                                         "EXECUTE 'CREATE TABLE t2 (i int)'; END $$;")
    assert "changes rows of items" in note, note
    before = database.query("SELECT * FROM items")
    assert run_cli("rollback", "1", *_args(database, migrations)).code != 0
    assert database.query("SELECT * FROM items") == before and database.exists("public.t2")


def test_rows_and_sequences_of_what_the_file_created_go_with_it(database: Database,
                                                               migrations: MigrationDir) -> None:
    """pgai's pattern: a DO block fills a table the same file created; the rollback drops the table, rows
    and all, and the sequence it moved."""
    database.execute(BASE)
    stored = round_trip(database, migrations, "CREATE TABLE m (name text PRIMARY KEY);\nCREATE SEQUENCE ms;\n"
                        "DO $$ BEGIN INSERT INTO m VALUES ('x'); PERFORM nextval('ms'); END $$;\n"
                        "SELECT setval('ms', 5);")
    assert "DROP TABLE m;" in stored and "DROP SEQUENCE ms;" in stored


def test_rows_of_a_table_an_earlier_do_block_made_go_with_it(database: Database, migrations: MigrationDir) -> None:
    """pgai's pattern: one DO block (EXECUTE) makes its bookkeeping table, a later one records itself in it."""
    database.execute(BASE)
    stored = round_trip(database, migrations, "DO $$ BEGIN EXECUTE 'CREATE TABLE book (name text)'; END $$;\n"
                        "DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM book; "
                        "INSERT INTO book VALUES ('step ' || n); END $$;")
    assert "DROP TABLE IF EXISTS public.book CASCADE" in stored
    note = _manual(database, migrations, "DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM items; "
                                         "INSERT INTO items VALUES (2 + n, 'x'); END $$;")
    assert "changes rows of items" in note, note


def test_a_column_added_to_a_table_an_earlier_do_block_made_goes_with_it(database: Database,
                                                                         migrations: MigrationDir) -> None:
    """pgai's pattern, further on: a later DO block adds a column (and an index) to the table an earlier one made."""
    database.execute(BASE)
    stored = round_trip(database, migrations, "DO $$ BEGIN EXECUTE 'CREATE TABLE vec (id int PRIMARY KEY)'; END $$;\n"
                        "DO $$ BEGIN EXECUTE 'ALTER TABLE vec ADD COLUMN off boolean NOT NULL DEFAULT false';\n"
                        "EXECUTE 'CREATE INDEX ON vec (off)'; END $$;", _items(database))
    assert "DROP TABLE IF EXISTS public.vec CASCADE" in stored
    # a table that was there is not dropped by the file's rollback: the added column stays manual
    note = _manual(database, migrations, "DO $$ BEGIN EXECUTE 'ALTER TABLE items ADD COLUMN off boolean'; END $$;")
    assert "does not give the catalog back" in note or "no drop gives back" in note, note


def test_a_table_renamed_in_a_do_block_gets_its_name_back(database: Database, migrations: MigrationDir) -> None:
    """pgai's 030: the table is renamed, its index too, and a view takes the old name; another moves schema."""
    database.execute(BASE + "\nCREATE INDEX items_label_idx ON items (label); CREATE SCHEMA old;"
                     "CREATE TABLE public.moved (id int);")
    stored = round_trip(database, migrations, "DO $$ BEGIN EXECUTE 'ALTER TABLE items RENAME TO _items';\n"
                        "EXECUTE 'ALTER INDEX items_label_idx RENAME TO _items_label_idx';\n"
                        "EXECUTE 'CREATE VIEW items AS SELECT * FROM _items';\n"
                        "EXECUTE 'ALTER TABLE moved SET SCHEMA old'; END $$;", _items(database))
    assert stored.index("DROP VIEW IF EXISTS public.items") < stored.index("RENAME TO items"), stored
    assert "ALTER TABLE old.moved SET SCHEMA public" in stored, stored


def test_the_file_s_later_drops_are_tried_in_the_order_its_rollback_runs_them(database: Database,
                                                                              migrations: MigrationDir) -> None:
    """`m` (the file's text) has a view an observed block made: the view goes first, then `m` without CASCADE."""
    database.execute(BASE)
    stored = round_trip(database, migrations, "CREATE TABLE m (id int);\n"
                        "DO $$ BEGIN EXECUTE 'CREATE VIEW v AS SELECT * FROM m'; END $$;\n"
                        "DO $$ BEGIN EXECUTE 'ALTER TABLE m ADD COLUMN c int'; END $$;", _items(database))
    assert stored.index("DROP VIEW IF EXISTS public.v") < stored.index("DROP TABLE m"), stored


def test_a_do_block_dropping_a_table_the_file_created_stays_manual(database: Database,
                                                                  migrations: MigrationDir) -> None:
    """The file's rollback drops `m` by name, without IF EXISTS: after a DO block dropped it, that would fail."""
    database.execute(BASE)
    note = _manual(database, migrations, "CREATE TABLE m (id int);\nCREATE TABLE n (id int);\n"
                   "DO $$ BEGIN EXECUTE 'DROP TABLE m'; EXECUTE 'ALTER TABLE n ADD COLUMN c int'; END $$;")
    assert "line 3" in note and 'table "m" does not exist' in note, note


def test_what_a_do_block_ties_to_a_sequence_the_file_created_is_not_cascaded_away(database: Database,
                                                                                 migrations: MigrationDir) -> None:
    """The file's own DROP SEQUENCE has no CASCADE: a default a DO block hung on it, on a table that was
    there, would make that drop fail, so the check must not count on a CASCADE removing the default."""
    database.execute(BASE)
    note = _manual(database, migrations, "CREATE SEQUENCE s;\n"
                   "DO $$ BEGIN EXECUTE 'ALTER TABLE items ALTER COLUMN id SET DEFAULT nextval(''s'')'; END $$;")
    assert "line 2" in note or "DO" in note, note


def test_a_loop_switching_row_level_security_on_is_switched_back(database: Database,
                                                                 migrations: MigrationDir) -> None:
    """A project's RLS wave: a DO loop that enables and forces row-level security and adds a policy per table."""
    database.execute(BASE + "CREATE TABLE tenants_t (id int, tenant text);")
    stored = round_trip(database, migrations, "DO $$ DECLARE n text; BEGIN FOREACH n IN ARRAY ARRAY['tenants_t'] LOOP "
                        "EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', n); "
                        "EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', n); "
                        "EXECUTE format('CREATE POLICY %I ON %I USING (tenant = current_user)', n || '_p', n); "
                        "END LOOP; END $$;")
    assert "DISABLE ROW LEVEL SECURITY" in stored and "NO FORCE ROW LEVEL SECURITY" in stored


def test_a_sequence_that_was_there_moved_makes_it_manual(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    note = _manual(database, migrations, "DO $$ BEGIN EXECUTE 'SELECT nextval(''tickets'')'; END $$;")
    assert "moves sequence tickets" in note, note


def test_a_change_to_what_was_there_no_drop_gives_back(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    for sql, differs in [("DO $$ BEGIN EXECUTE 'ALTER TABLE items ADD COLUMN n int'; END $$;", "pg_attribute"),
                         ("DO $$ BEGIN EXECUTE 'ALTER TABLE items ALTER COLUMN label SET STATISTICS 5'; END $$;",
                          "pg_attribute"),
                         ("DO $$ BEGIN EXECUTE 'COMMENT ON TABLE items IS ''x'''; END $$;", "pg_description"),
                         ("DO $$ BEGIN EXECUTE 'TRUNCATE items'; END $$;", "")]:
        note = _manual(database, migrations, sql)
        assert differs in note, (sql, note)
        database.execute("DELETE FROM public._migrations; DELETE FROM public._migration_audit")
        database.execute("DROP TABLE public.items CASCADE; " + BASE.split(";")[0] + "; "
                         "INSERT INTO public.items VALUES (1, 'one');")
        for p in migrations.path.glob("*.sql"):
            p.unlink()
