"""A SELECT moving a sequence that was there (setval, nextval): set back on rollback, unless drawn from since.

Applied and rolled back by the CLI on a real server; the catalog and the sequence's state are
compared with what they were before.
"""

from __future__ import annotations

from app.core.catalog import diff, snapshot
from tests.conftest import Database, MigrationDir, run_cli

BASE = "CREATE SEQUENCE public.stream_seq; CREATE TABLE public.stream (id bigint); " \
       "INSERT INTO public.stream VALUES (41), (42); SELECT nextval('public.stream_seq');"


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _state(db: Database) -> tuple[object, object]:
    with db.connect() as conn:
        seq = conn.execute("SELECT last_value, is_called FROM public.stream_seq").fetchone() if conn.execute(
            "SELECT to_regclass('public.stream_seq')").fetchone()[0] else None
        return snapshot(conn), seq


def _newest(db: Database, column: str) -> object:
    return db.scalar(f"SELECT {column} FROM public._migrations ORDER BY version DESC LIMIT 1")


def _round_trip(db: Database, migrations: MigrationDir, sql: str) -> str:
    catalog, seq = _state(db)
    path = migrations.add("seq", sql)
    r = run_cli("migrate", *_args(db, migrations))
    assert r.code == 0, r.stderr
    assert _newest(db, "rollback_kind") == "generated", _newest(db, "rollback_note")
    stored = str(_newest(db, "rollback_sql") or "")
    r = run_cli("rollback", "1", *_args(db, migrations))
    assert r.code == 0, f"{r.stderr}\n--- stored rollback:\n{stored}"
    path.unlink()
    after_catalog, after_seq = _state(db)
    assert diff(catalog, after_catalog) == [], stored
    assert after_seq == seq, stored
    return stored


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
