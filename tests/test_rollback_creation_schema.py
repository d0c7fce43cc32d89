"""An unqualified CREATE is undone in the schema it created its object in, never in pg_catalog or a later one.

pg_catalog is searched first unless search_path names it, so an unqualified DROP of a view called
pg_settings would drop the system view, and CREATE OR REPLACE FUNCTION lower(text) would be "undone" by
restoring pg_catalog.lower while the new public.lower stayed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.rollback import plan_steps
from app.core.sql import parse_file
from tests.conftest import Database, MigrationDir
from tests.rollback_round_trip import round_trip

SHADOWED = [  # a migration creating, unqualified, something pg_catalog has by that name
    ("CREATE VIEW pg_settings AS SELECT 1 AS a", "DROP VIEW public.pg_settings"),
    ("CREATE OR REPLACE FUNCTION lower(text) RETURNS text LANGUAGE sql AS 'SELECT $1'",
     "DROP FUNCTION public.lower(text)"),
    ("CREATE FUNCTION upper(text) RETURNS text LANGUAGE sql AS 'SELECT $1'", "DROP FUNCTION public.upper(text)"),
    ("CREATE TYPE name AS (a int)", "DROP TYPE public.name"),
    ("CREATE DOMAIN money AS numeric", "DROP DOMAIN public.money"),
    ("CREATE TABLE pg_class (a int)", "DROP TABLE public.pg_class"),
    ("CREATE SEQUENCE IF NOT EXISTS pg_roles", "DROP SEQUENCE public.pg_roles"),
    ("CREATE FUNCTION tt(text, text) RETURNS bool LANGUAGE sql AS 'SELECT true';\n"
     "CREATE OPERATOR = (LEFTARG = text, RIGHTARG = text, FUNCTION = tt)", "DROP OPERATOR public.= (text, text)"),
]


@pytest.mark.parametrize(("sql", "drop"), SHADOWED, ids=[s[0][:30] for s in SHADOWED])
def test_a_name_pg_catalog_has_is_undone_in_the_schema_it_was_made_in(database: Database, migrations: MigrationDir,
                                                                      sql: str, drop: str) -> None:
    stored = round_trip(database, migrations, sql + ";")
    assert drop in stored


def test_or_replace_of_a_function_a_later_schema_has_drops_the_new_one(database: Database,
                                                                      migrations: MigrationDir) -> None:
    """Under `app, public`, public.f(int) is not what CREATE OR REPLACE FUNCTION f(int) replaces: it makes app.f."""
    database.execute("CREATE SCHEMA app; CREATE FUNCTION public.f(int) RETURNS int LANGUAGE sql AS 'SELECT 1'")
    stored = round_trip(database, migrations, "SET search_path = app, public;\n"
                        "CREATE OR REPLACE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT 2';\nRESET search_path;",
                        also=lambda: database.scalar("SELECT public.f(1)"))
    assert "DROP FUNCTION app.f(integer)" in stored


def test_plain_creates_read_nothing_and_a_shadowed_name_reads_its_schema_once(database: Database) -> None:
    """Applied in order on a real connection: pg_catalog's names are read once for the connection; plain
    CREATEs then read nothing (the batch goes on); a name pg_catalog has reads the schema, again only after
    a statement that could move it."""
    sts = parse_file("CREATE TABLE a (x int); CREATE TABLE b (x int); CREATE TABLE s.c (x int);\n"
                     "CREATE VIEW pg_settings AS SELECT 1; CREATE TYPE name AS (a int); SELECT 1;\n"
                     "CREATE FUNCTION upper(text) RETURNS text LANGUAGE sql AS 'SELECT $1'; CREATE TABLE d (x int);",
                     Path("x.sql"))
    database.execute("CREATE SCHEMA s")
    with database.connect() as conn:
        reads, inverses = [], []
        for st, step in zip(sts, plan_steps(sts), strict=True):
            reads.append(step.read is not None and step.read.reads_now(conn))
            inverses.append(step.read.resolve(step.read.fetch(conn)).sql if step.read else step.inverse.sql)
            conn.execute(st.text)
        conn.rollback()
    assert reads == [True, False, False, True, False, False, True, False]
    assert inverses[0] == ("DROP TABLE a",) and inverses[3] == ("DROP VIEW public.pg_settings",)
    assert inverses[4] == ("DROP TYPE public.name",) and inverses[6] == ("DROP FUNCTION public.upper(text)",)
