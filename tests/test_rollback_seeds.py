"""Seed rows inserted into a table that was there before: rolled back by deleting exactly them, by key.

Each migration is applied by the CLI on a real server and rolled back by the CLI; the catalog and
the table's rows are compared with what they were before.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Database, MigrationDir, run_cli
from tests.rollback_round_trip import cli_args as _args
from tests.rollback_round_trip import newest as _newest
from tests.rollback_round_trip import round_trip

BASE = """CREATE TABLE public.jobs (id bigint GENERATED ALWAYS AS IDENTITY, name text NOT NULL UNIQUE,
  progress text NOT NULL, ordering int NOT NULL DEFAULT 0);
INSERT INTO public.jobs (name, progress) VALUES ('old', 'half');"""


def _rows(db: Database, table: str) -> Callable[[], list[tuple]]:
    def read() -> list[tuple]:
        with db.connect() as conn:
            return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    return read


def _round_trip(db: Database, migrations: MigrationDir, sql: str, table: str = "public.jobs") -> str:
    return round_trip(db, migrations, sql, _rows(db, table))


def _manual_reason(db: Database, migrations: MigrationDir, sql: str) -> str:
    migrations.add("seed", sql)
    r = run_cli("migrate", *_args(db, migrations))
    assert r.code == 0, r.stderr
    assert _newest(db, "rollback_kind") == "manual"
    return str(_newest(db, "rollback_note"))


def test_seed_rows_are_deleted_by_their_key(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    stored = _round_trip(database, migrations, "INSERT INTO jobs (ordering, name, progress) VALUES\n"
                         "  (7306, 'a', '{}'),\n  (7307, 'b''s', extract(epoch from current_timestamp)::text);")
    assert stored.startswith("DELETE FROM ONLY jobs WHERE (name) IN (")
    assert database.scalar("SELECT count(*) FROM jobs WHERE name = 'old'") == 1


def test_on_conflict_do_nothing_leaves_the_row_that_was_there(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    stored = _round_trip(database, migrations, "INSERT INTO jobs (name, progress) VALUES ('old', 'new'), ('c', '')"
                         " ON CONFLICT DO NOTHING;")
    assert "'c'" in stored and "'old'" not in stored
    assert database.scalar("SELECT progress FROM jobs WHERE name = 'old'") == "half"
    # every key there already: nothing to undo
    assert _round_trip(database, migrations, "INSERT INTO jobs (name, progress) VALUES ('old', 'x') "
                       "ON CONFLICT (name) DO NOTHING;") == ""


def test_the_key_is_compared_in_its_own_type(database: Database, migrations: MigrationDir) -> None:
    """1.6 stored in an int column is 2: a DELETE comparing 1.6 as numeric would miss the row."""
    database.execute("CREATE TABLE public.levels (n int PRIMARY KEY, label text)")
    stored = _round_trip(database, migrations, "INSERT INTO levels VALUES (1.6, 'two');", "public.levels")
    assert "CAST(1.6 AS integer)" in stored


def test_an_inheritance_childs_row_with_the_same_key_stays(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE public.base (k text PRIMARY KEY);"
                     "CREATE TABLE public.child () INHERITS (public.base);"
                     "INSERT INTO public.child VALUES ('x');")
    _round_trip(database, migrations, "INSERT INTO base VALUES ('x');", "public.base")
    assert database.scalar("SELECT count(*) FROM child") == 1


def test_a_row_whose_default_is_read_after_it_is_deleted_whole(database: Database, migrations: MigrationDir) -> None:
    """No key, a column left to its default (now()): the row is read whole right after the insert."""
    database.execute(BASE + "CREATE TABLE public.notes (body text, at timestamptz DEFAULT now());"
                     "INSERT INTO notes (body) VALUES ('n');")
    stored = _round_trip(database, migrations, "INSERT INTO notes (body) VALUES ('n');", "public.notes")
    assert "DELETE FROM ONLY notes" in stored and "LIMIT 1" in stored


def test_rows_of_a_table_without_a_key_are_deleted_as_many_times_as_inserted(database: Database,
                                                                             migrations: MigrationDir) -> None:
    """kinto's `metadata (name, value)`: whole rows given; an old row that reads the same may go instead, and the
    table still holds what it held; 1.0 and 1.00 are equal numbers but different rows."""
    database.execute("CREATE TABLE public.metadata (name text, value text, amount numeric, "
                     "twice numeric GENERATED ALWAYS AS (amount * 2) STORED);"
                     "INSERT INTO metadata (name, value, amount) VALUES ('version', '21', 1.0), "
                     "('version', '21', 1.0);")
    stored = _round_trip(database, migrations, "INSERT INTO metadata (name, value, amount) VALUES "
                         "('version', '21', 1.0), ('version', '21', 1.00), ('version', '21', 1.0), ('x', 'y', 2);",
                         "public.metadata")
    assert "LIMIT 2" in stored and stored.count("DELETE FROM ONLY metadata") == 3
    with database.connect() as conn:
        assert conn.execute("SELECT amount::text FROM metadata").fetchall() == [("1.0",), ("1.0",)]


def test_rows_an_insert_select_adds_are_deleted_by_the_keys_read_after_it(database: Database,
                                                                         migrations: MigrationDir) -> None:
    """stripe-sync-engine's INSERT ... SELECT into a table that was there (and VALUES of expressions): the rows
    this transaction wrote that it had not written before the statement, by their unique key."""
    database.execute(BASE)
    stored = _round_trip(database, migrations, "INSERT INTO jobs (name, progress) VALUES ('first', '');\n"
                         "INSERT INTO jobs (name, progress) SELECT 'n' || g, upper('x') FROM generate_series(1, 3) g;\n"
                         "INSERT INTO jobs (name, progress) VALUES ('later' || 1, '');")
    assert stored.count("DELETE FROM ONLY jobs WHERE (name) IN") == 3 and "CAST('n3' AS text)" in stored
    reason = _manual_reason(database, migrations, "INSERT INTO jobs (name, progress) SELECT name || '2', progress "
                                                  "FROM jobs ON CONFLICT (name) DO UPDATE SET progress = 'x';")
    assert "changes data" in reason


def test_rows_of_expressions_into_a_table_without_a_key_are_deleted_alike(database: Database,
                                                                          migrations: MigrationDir) -> None:
    """kinto's INSERT INTO metadata (name, value) VALUES ('created_at', NOW()::TEXT): the rows it added are read
    right after it, whole, and deleted as many times as added among rows that read the same (NULLs too)."""
    database.execute("CREATE TABLE public.metadata (name text, value text, note text);"
                     "INSERT INTO metadata VALUES ('created_at', 'long ago', NULL);")
    stored = _round_trip(database, migrations, "INSERT INTO metadata (name, value) VALUES ('created_at', NOW()::TEXT), "
                         "('x' || 1, NULL), ('x' || 1, NULL);", "public.metadata")
    assert stored.count("DELETE FROM ONLY metadata") == 2 and "LIMIT 2" in stored


def test_a_cascading_foreign_key_or_a_trigger_makes_it_manual(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE + "CREATE TABLE public.runs (job text REFERENCES public.jobs (name) ON DELETE CASCADE);")
    reason = _manual_reason(database, migrations, "INSERT INTO jobs (name, progress) VALUES ('d', '');")
    assert "cascades through foreign key" in reason
    database.execute("DROP TABLE public.runs; CREATE FUNCTION public.t() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$BEGIN RETURN NEW; END$$; CREATE TRIGGER jobs_t BEFORE INSERT ON public.jobs "
                     "FOR EACH ROW EXECUTE FUNCTION public.t();")
    reason = _manual_reason(database, migrations, "INSERT INTO jobs (name, progress) VALUES ('e', '');")
    assert "fires trigger jobs_t" in reason


def test_a_rollback_refused_by_a_row_referencing_the_seed_changes_nothing(
        database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE + "CREATE TABLE public.runs (job text REFERENCES public.jobs (name));")
    migrations.add("seed", "INSERT INTO jobs (name, progress) VALUES ('f', '');")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    database.execute("INSERT INTO public.runs VALUES ('f')")  # the application uses the seed row
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code != 0 and "runs" in r.stderr
    assert database.scalar("SELECT count(*) FROM jobs WHERE name = 'f'") == 1
    assert database.scalar("SELECT count(*) FROM public._migrations WHERE version IS NOT NULL") >= 1


SEED_IF_MISSING = """CREATE TABLE IF NOT EXISTS jobs (id bigint GENERATED ALWAYS AS IDENTITY, name text NOT NULL UNIQUE,
  progress text NOT NULL, ordering int NOT NULL DEFAULT 0);
INSERT INTO jobs (name, progress) VALUES ('first', '');"""


def test_a_seed_after_create_table_if_not_exists_that_found_the_table(database: Database,
                                                                       migrations: MigrationDir) -> None:
    """The table was there: only the rows go; it was not: the table goes, rows with it (kinto's schema file)."""
    database.execute(BASE)
    stored = _round_trip(database, migrations, SEED_IF_MISSING)
    assert stored.startswith("DELETE FROM ONLY jobs WHERE (name) IN (") and "DROP" not in stored
    database.execute("DROP TABLE public.jobs")
    stored = round_trip(database, migrations, SEED_IF_MISSING)
    assert "DROP TABLE" in stored and "DELETE" not in stored


def test_kintos_metadata_row_of_now_after_create_table_if_not_exists(database: Database,
                                                                     migrations: MigrationDir) -> None:
    """kinto: CREATE TABLE IF NOT EXISTS metadata (name, value) then VALUES ('created_at', NOW()::TEXT): when
    the table was there, the row read right after the insert goes; when it was not, the table goes."""
    sql = ("CREATE TABLE IF NOT EXISTS metadata (name VARCHAR(128) NOT NULL, value VARCHAR(512) NOT NULL);\n"
           "INSERT INTO metadata (name, value) VALUES ('created_at', NOW()::TEXT);")
    database.execute("CREATE TABLE metadata (name VARCHAR(128) NOT NULL, value VARCHAR(512) NOT NULL);"
                     "INSERT INTO metadata VALUES ('created_at', 'long ago');")
    stored = _round_trip(database, migrations, sql, "public.metadata")
    assert "DELETE FROM ONLY metadata" in stored and "DROP" not in stored
    database.execute("DROP TABLE public.metadata")
    assert "DROP TABLE" in round_trip(database, migrations, sql)
