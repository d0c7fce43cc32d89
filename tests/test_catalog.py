"""Catalog snapshots: equal for equal schemas, and every kind of change shows up under its key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.catalog import CatalogSnapshot, diff, snapshot
from tests.conftest import Database, fresh_database

ROLE = "tm_catalog_reader"

SCHEMA = f"""
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE public.pair AS (a int, b text);
CREATE TYPE public.floatrange AS RANGE (subtype = float8);
CREATE DOMAIN public.posint AS integer DEFAULT 1 CHECK (VALUE > 0);
CREATE SEQUENCE public.s START 5 INCREMENT 2;
CREATE TABLE public.users (
  id serial PRIMARY KEY, email text NOT NULL UNIQUE, mood app.mood DEFAULT 'ok',
  created timestamptz DEFAULT now(), n public.posint);
CREATE TABLE public.posts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id int REFERENCES public.users(id) ON DELETE CASCADE, body varchar(200),
  CONSTRAINT body_len CHECK (length(body) > 2));
CREATE INDEX users_email_idx ON public.users (lower(email)) WHERE email IS NOT NULL;
CREATE VIEW public.v AS SELECT id, email FROM public.users WHERE id > 3;
CREATE MATERIALIZED VIEW public.mv AS SELECT count(*) AS n FROM public.users;
CREATE FUNCTION public.f(a integer, b text DEFAULT 'x', OUT c int) LANGUAGE sql AS $$ SELECT a $$;
CREATE FUNCTION public.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE PROCEDURE app.p(x int) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TRIGGER users_trg BEFORE INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.trg();
CREATE POLICY "Users can read" ON public.users FOR SELECT TO {ROLE} USING (id > 0);
GRANT SELECT ON public.users TO {ROLE};
COMMENT ON TABLE public.users IS 'people';
COMMENT ON COLUMN public.users.email IS 'mail';
"""


def _ensure_role(db: Database) -> None:
    db.execute(f"DO $$ BEGIN CREATE ROLE {ROLE}; EXCEPTION WHEN duplicate_object THEN NULL; END $$")


@pytest.fixture
def second(database: Database) -> Iterator[Database]:
    """Another fresh database on the same server."""
    with fresh_database(database.server) as db:
        yield db


def _snap(db: Database, schemas: list[str] | None = None) -> CatalogSnapshot:
    with db.connect() as conn:
        return snapshot(conn, schemas)


def test_same_schema_in_two_databases_compares_equal(database: Database, second: Database) -> None:
    _ensure_role(database)
    database.execute(SCHEMA)
    # built in another order and with another search_path: still equal
    second.execute("SET search_path = app, public; " + SCHEMA)
    a, b = _snap(database), _snap(second)
    assert diff(a, b) == []
    assert a == b
    keys = set(a.objects)
    for key in (
        "table public.users", "column public.users.email", "index public.users_email_idx",
        "constraint public.users.users_pkey", "view public.v", "materialized view public.mv",
        "function public.f(integer, text)", "procedure app.p(integer)", "trigger public.users.users_trg",
        'policy public.users."Users can read"', "sequence public.s", "type app.mood", "type public.pair",
        "type public.floatrange", "domain public.posint", "schema app", "extension citext",
        "grant table public.users", "comment table public.users", "comment column public.users.email",
    ):
        assert key in keys, key
    assert "function public.floatrange(double precision, double precision)" not in keys  # implicit
    assert not any("_migration" in k for k in keys)
    assert CatalogSnapshot.from_dict(a.to_dict()) == a


def test_history_tables_and_dropped_columns_are_ignored(database: Database) -> None:
    database.execute("CREATE TABLE t (a int, b int, c int)")
    before = _snap(database)
    database.execute(
        "CREATE TABLE public._migrations (id serial PRIMARY KEY, name text UNIQUE);"
        "ALTER TABLE t ADD COLUMN d int; ALTER TABLE t DROP COLUMN d;"
    )
    assert diff(before, _snap(database)) == []
    database.execute("ALTER TABLE t DROP COLUMN b")
    changes = {(d.key, d.kind) for d in diff(before, _snap(database))}
    assert changes == {("column public.t.b", "removed"), ("column public.t.c", "changed")}  # c moved up


def test_schemas_filter_and_the_callers_search_path(database: Database) -> None:
    database.execute("CREATE SCHEMA a; CREATE SCHEMA b; CREATE TABLE a.t (x int); CREATE TABLE b.t (x int)")
    with database.connect() as conn:
        conn.execute("SET search_path = b, a")
        keys = set(snapshot(conn, ["a"]).objects)
        assert conn.execute("SHOW search_path").fetchone() == ("b, a",)
    assert "table a.t" in keys and "table b.t" not in keys and "schema b" not in keys


CHANGES = [
    ("CREATE TABLE public.t2 (x int)", "table public.t2", "added"),
    ("ALTER TABLE public.users ADD COLUMN age int", "column public.users.age", "added"),
    ("ALTER TABLE public.users ALTER COLUMN created SET DEFAULT clock_timestamp()", "column public.users.created",
     "changed"),
    ("ALTER TABLE public.users ALTER COLUMN created SET NOT NULL", "column public.users.created", "changed"),
    ("ALTER TABLE public.posts ALTER COLUMN body TYPE text", "column public.posts.body", "changed"),
    ("ALTER TABLE public.users RENAME COLUMN n TO nn", "column public.users.nn", "added"),
    ("ALTER TABLE public.posts DROP CONSTRAINT body_len", "constraint public.posts.body_len", "removed"),
    ("ALTER TABLE public.posts ADD CONSTRAINT nonneg CHECK (id >= 0)", "constraint public.posts.nonneg", "added"),
    ("DROP INDEX public.users_email_idx", "index public.users_email_idx", "removed"),
    ("CREATE INDEX posts_body_idx ON public.posts (body)", "index public.posts_body_idx", "added"),
    ("CREATE OR REPLACE VIEW public.v AS SELECT id, email FROM public.users WHERE id > 4", "view public.v",
     "changed"),
    ("CREATE OR REPLACE FUNCTION public.f(a integer, b text DEFAULT 'y', OUT c int) LANGUAGE sql "
     "AS $$ SELECT a $$", "function public.f(integer, text)", "changed"),
    ("DROP TRIGGER users_trg ON public.users", "trigger public.users.users_trg", "removed"),
    ("ALTER TABLE public.users DISABLE TRIGGER users_trg", "trigger public.users.users_trg", "changed"),
    (f"ALTER POLICY \"Users can read\" ON public.users TO {ROLE}, public", 'policy public.users."Users can read"',
     "changed"),
    ("ALTER TABLE public.users ENABLE ROW LEVEL SECURITY", "rls public.users", "added"),
    (f"REVOKE SELECT ON public.users FROM {ROLE}", "grant table public.users", "removed"),
    (f"GRANT USAGE ON SCHEMA app TO {ROLE}", "grant schema app", "added"),
    (f"GRANT UPDATE (email) ON public.users TO {ROLE}", "grant column public.users.email", "added"),
    (f"GRANT EXECUTE ON PROCEDURE app.p(integer) TO {ROLE}", "grant procedure app.p(integer)", "added"),
    ("REVOKE EXECUTE ON FUNCTION public.f(integer, text) FROM PUBLIC", "grant function public.f(integer, text)",
     "added"),
    ("COMMENT ON TABLE public.users IS 'persons'", "comment table public.users", "changed"),
    ("COMMENT ON COLUMN public.users.email IS NULL", "comment column public.users.email", "removed"),
    ("COMMENT ON VIEW public.v IS 'v'", "comment view public.v", "added"),
    ("COMMENT ON FUNCTION public.f(integer, text) IS 'f'", "comment function public.f(integer, text)", "added"),
    ("COMMENT ON CONSTRAINT body_len ON public.posts IS 'c'", "comment constraint public.posts.body_len", "added"),
    ("ALTER TYPE app.mood RENAME VALUE 'ok' TO 'fine'", "type app.mood", "changed"),
    ("ALTER DOMAIN public.posint SET NOT NULL", "domain public.posint", "changed"),
    ("ALTER SEQUENCE public.s INCREMENT 3", "sequence public.s", "changed"),
    ("CREATE SCHEMA extra", "schema extra", "added"),
    ("DROP MATERIALIZED VIEW public.mv", "materialized view public.mv", "removed"),
    ("ALTER TABLE public.users RENAME TO people", "table public.people", "added"),
    ("DROP EXTENSION citext", "extension citext", "removed"),
    (f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {ROLE}",
     "default privileges postgres in schema app on r", "added"),
]


def test_each_change_shows_under_its_key(database: Database) -> None:
    _ensure_role(database)
    database.execute(SCHEMA)
    wrong = []
    with database.connect() as conn:
        before = snapshot(conn)
        for change, key, kind in CHANGES:
            with conn.transaction(force_rollback=True):
                conn.execute(change)
                found = {d.key: d for d in diff(before, snapshot(conn))}
            assert list(found) == sorted(found)
            if key not in found or found[key].kind != kind:
                wrong.append((change, key, kind, sorted((d.key, d.kind) for d in found.values())))
        assert snapshot(conn) == before
    assert wrong == []
