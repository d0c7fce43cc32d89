"""A SELECT moving a sequence that was there (setval, nextval): set back on rollback, unless drawn from since.

Applied and rolled back by the CLI on a real server; the catalog and the sequence's state are
compared with what they were before.
"""

from __future__ import annotations

from tests.conftest import Database, MigrationDir, run_cli
from tests.rollback_round_trip import cli_args as _args
from tests.rollback_round_trip import round_trip

BASE = "CREATE SEQUENCE public.stream_seq; CREATE TABLE public.stream (id bigint); " \
       "INSERT INTO public.stream VALUES (41), (42); SELECT nextval('public.stream_seq');"


def _seq(db: Database) -> object:
    with db.connect() as conn:
        if conn.execute("SELECT to_regclass('public.stream_seq')").fetchone()[0] is None:
            return None
        return conn.execute("SELECT last_value, is_called FROM public.stream_seq").fetchone()


def _round_trip(db: Database, migrations: MigrationDir, sql: str) -> str:
    return round_trip(db, migrations, sql, lambda: _seq(db))


def test_setval_and_nextval_are_set_back(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    stored = _round_trip(database, migrations,
                         "SELECT setval('stream_seq', (SELECT COALESCE(MAX(id), 1) FROM stream));")
    assert "setval('stream_seq', 1, true)" in stored
    _round_trip(database, migrations, "SELECT nextval('stream_seq');")
    _round_trip(database, migrations, "SELECT setval('stream_seq', 100, false);")


def test_a_sequence_the_file_may_create_goes_with_it(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE public.stream (id bigint); INSERT INTO public.stream VALUES (7);")
    _round_trip(database, migrations, "CREATE SEQUENCE IF NOT EXISTS stream_seq;\n"
                "SELECT setval('stream_seq', (SELECT MAX(id) FROM stream));")
    assert database.scalar("SELECT to_regclass('public.stream_seq')") is None


def test_a_sequence_drawn_from_since_is_not_set_back(database: Database, migrations: MigrationDir) -> None:
    database.execute(BASE)
    migrations.add("seq", "SELECT setval('stream_seq', 42);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    database.execute("SELECT nextval('public.stream_seq')")  # the application drew 43
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code != 0 and "moved after the migration left it at 42" in r.stderr, r.stderr
    assert database.scalar("SELECT last_value FROM public.stream_seq") == 43
    assert database.scalar("SELECT count(*) FROM public._migrations") == 1


def test_a_serial_columns_sequence_named_by_pg_get_serial_sequence(database: Database,
                                                                   migrations: MigrationDir) -> None:
    """Was "nothing to undo" for a table that was there: a wrong rollback."""
    database.execute("CREATE TABLE public.items (id serial PRIMARY KEY); CREATE SEQUENCE public.stream_seq;")
    with database.connect() as conn:
        before = conn.execute("SELECT last_value, is_called FROM public.items_id_seq").fetchone()
    stored = _round_trip(database, migrations, "SELECT setval(pg_get_serial_sequence('items', 'id'), 10);")
    assert "setval('items_id_seq', 1, false)" in stored
    with database.connect() as conn:
        assert conn.execute("SELECT last_value, is_called FROM public.items_id_seq").fetchone() == before
