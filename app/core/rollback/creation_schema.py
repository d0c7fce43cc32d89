"""Objects created under an unqualified name: undone under the name of the schema they were created in.

An unqualified CREATE makes its object in `current_schema()`, but an unqualified DROP (or a lookup of
what CREATE OR REPLACE replaces) finds the first object of that name along the whole path, and
pg_catalog is searched first unless the path names it: `CREATE VIEW pg_settings` is undone by
`DROP VIEW pg_settings`, which drops the system view; `CREATE OR REPLACE FUNCTION lower(text)` would
be "undone" by restoring pg_catalog.lower. So such a statement is planned as if it had named its
schema, read when it is applied; the read is made once for a run of statements that cannot move
`current_schema()`. A CREATE whose inverse is a fixed DROP needs this only when pg_catalog has an object
of its name (pg_catalog's names are read once per connection), so plain CREATEs read nothing.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from dataclasses import replace

import psycopg
from pglast import ast

from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.sql import Statement

# statements that run no code of the project's and create or alter no schema: current_schema() stays
_KEEPS_SCHEMA = (
    ast.CreateStmt, ast.CreateForeignTableStmt, ast.ViewStmt, ast.CreateSeqStmt, ast.AlterSeqStmt,
    ast.CompositeTypeStmt, ast.CreateEnumStmt, ast.CreateRangeStmt, ast.CreateDomainStmt, ast.AlterEnumStmt,
    ast.CreateFunctionStmt, ast.DefineStmt, ast.IndexStmt, ast.CommentStmt, ast.GrantStmt, ast.CreateTrigStmt,
    ast.CreatePolicyStmt, ast.AlterPolicyStmt, ast.RuleStmt, ast.AlterTableStmt, ast.AlterOwnerStmt,
)


def _qualify_range(rv: ast.RangeVar, schema: str) -> None:
    rv.schemaname = schema


def _qualify_names(names: tuple[ast.Node, ...] | list[ast.Node], schema: str) -> tuple[ast.Node, ...]:
    return (ast.String(sval=schema), *names)


def _qualifier(node: ast.Node) -> Callable[[ast.Node, str], None] | None:
    """How to name the schema in (a copy of) `node`, when it creates an object under an unqualified name."""
    match node:
        case ast.CreateForeignTableStmt():
            rv = node.base.relation
            return None if rv.schemaname or rv.relpersistence == "t" else (
                lambda n, s: _qualify_range(n.base.relation, s))
        case (ast.CreateStmt() | ast.ViewStmt() | ast.CreateSeqStmt() | ast.CompositeTypeStmt()
              | ast.CreateTableAsStmt()):
            attr = {ast.CreateStmt: "relation", ast.ViewStmt: "view", ast.CreateSeqStmt: "sequence",
                    ast.CompositeTypeStmt: "typevar"}.get(type(node))
            rv = node.into.rel if attr is None else getattr(node, attr)
            if rv.schemaname or rv.relpersistence == "t":
                return None
            if attr is None:
                return lambda n, s: _qualify_range(n.into.rel, s)
            return lambda n, s: _qualify_range(getattr(n, attr), s)
        case (ast.CreateEnumStmt() | ast.CreateRangeStmt() | ast.CreateDomainStmt() | ast.CreateFunctionStmt()
              | ast.DefineStmt()):
            attr = {ast.CreateDomainStmt: "domainname", ast.CreateFunctionStmt: "funcname",
                    ast.DefineStmt: "defnames"}.get(type(node), "typeName")
            if len(getattr(node, attr) or ()) != 1:
                return None

            def names(n: ast.Node, s: str) -> None:
                setattr(n, attr, _qualify_names(getattr(n, attr), s))
            return names
    return None


# names pg_catalog has for objects an unqualified name could find first, per connection (read once per run)
_CATALOG_NAMES = """
SELECT c.relname::text FROM pg_catalog.pg_class c WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION SELECT t.typname::text FROM pg_catalog.pg_type t WHERE t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION SELECT p.proname::text FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION SELECT o.oprname::text FROM pg_catalog.pg_operator o
  WHERE o.oprnamespace = 'pg_catalog'::pg_catalog.regnamespace
UNION SELECT l.collname::text FROM pg_catalog.pg_collation l
  WHERE l.collnamespace = 'pg_catalog'::pg_catalog.regnamespace"""
_catalog_names: weakref.WeakKeyDictionary[psycopg.Connection, frozenset[str]] = weakref.WeakKeyDictionary()


def catalog_names(conn: psycopg.Connection) -> frozenset[str]:
    """The names of pg_catalog's objects, read once per connection."""
    names = _catalog_names.get(conn)
    if names is None:
        names = frozenset(r[0] for r in conn.execute(_CATALOG_NAMES).fetchall())
        _catalog_names[conn] = names
    return names


def settled(steps: list[Step], names: frozenset[str]) -> list[Step]:
    """The steps with each CREATE whose name pg_catalog lacks planned as it is (a fixed DROP, no read), so a
    migration of plain CREATEs can be sent ahead without waiting for an answer (app.core.batch)."""
    return [step.read.settle(names) or step if step.read is not None and step.read.settle else step
            for step in steps]


class CreationSchema:
    """The schema unqualified CREATEs of one file make their objects in, read when one needs it, and kept
    while no statement that could change it has run (each such statement starts a new epoch)."""

    def __init__(self) -> None:
        self.epoch = 0
        self.read: tuple[int, str | None] | None = None  # (epoch, schema) read when applied

    def forget_unless_kept(self, node: ast.Node, path_changed: bool) -> None:
        """After planning a statement: the schema read before it no longer holds if it may move it."""
        if path_changed or not isinstance(node, _KEEPS_SCHEMA):
            self.epoch += 1

    def step(self, st: Statement, plan: Callable[[Statement], Step]) -> Step | None:
        """The step of `st` planned with its schema named, or None when it names one (or creates nothing).

        A CREATE that reads the catalog anyway (OR REPLACE, IF NOT EXISTS) is always planned qualified: its
        lookup must look in the creation schema only. One whose inverse is a fixed DROP is qualified only when
        pg_catalog has an object of that name, so that a file of plain CREATEs reads nothing and the
        statements of many migrations stay in one batch."""
        qualify = _qualifier(st.node)
        if qualify is None:
            return None
        base = plan(st)
        if base.inverse is not None and (base.inverse.manual or not base.inverse.sql):
            return base  # manual, or nothing to undo, whatever the schema
        epoch = self.epoch
        name = _object_name(st.node)
        planned: list[Step] = []

        def needs(conn: psycopg.Connection) -> bool:
            if base.read is not None:
                return True
            known = _catalog_names.get(conn)
            if known is None:
                return True
            return name in known and not (self.read is not None and self.read[0] == epoch)

        def fetch(conn: psycopg.Connection) -> list[tuple]:
            if base.read is None and name not in catalog_names(conn):
                planned[:] = [base]
                return []
            if self.read is None or self.read[0] != epoch:
                self.read = (epoch, conn.execute("SELECT pg_catalog.current_schema()").fetchone()[0])  # type: ignore[index]
            schema = self.read[1]
            if schema is None:
                planned[:] = [Step(Inverse(manual=f"{st.first_line!r}: the search_path names no schema to create in"))]
                return []
            node = copy.deepcopy(st.node)
            qualify(node, schema)
            planned[:] = [plan(replace(st, node=node))]
            step = planned[0]
            return step.read.fetch(conn) if step.read is not None else []

        def resolve(rows: list[tuple]) -> Inverse:
            step = planned[0]
            return step.read.resolve(rows) if step.read is not None else (step.inverse or NOTHING)

        def after(rows: list[tuple]) -> CatalogRead:
            step = planned[0]
            assert step.after is not None
            return step.after(rows)

        described = base.read.describe if base.read is not None else "; ".join(base.inverse.sql if base.inverse else ())
        describe = f"{described} (named in the schema it is created in, read when applied)" if base.read else described
        def settle(names: frozenset[str]) -> Step | None:
            return base if base.read is None and name not in names else None

        return Step(read=CatalogRead("", (), resolve, describe, fetch, live=needs, settle=settle),
                    after=after if base.after is not None else None)


def _object_name(node: ast.Node) -> str:
    """The unqualified name a CREATE gives its object."""
    match node:
        case ast.CreateForeignTableStmt():
            return node.base.relation.relname
        case ast.CreateStmt():
            return node.relation.relname
        case ast.ViewStmt():
            return node.view.relname
        case ast.CreateSeqStmt():
            return node.sequence.relname
        case ast.CompositeTypeStmt():
            return node.typevar.relname
        case ast.CreateTableAsStmt():
            return node.into.rel.relname
        case ast.CreateDomainStmt():
            return node.domainname[0].sval
        case ast.CreateFunctionStmt():
            return node.funcname[0].sval
        case ast.DefineStmt():
            return node.defnames[0].sval
    return node.typeName[0].sval  # enums and ranges
