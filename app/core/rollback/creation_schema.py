"""Objects created under an unqualified name: undone under the name of the schema they were created in.

An unqualified CREATE makes its object in `current_schema()`, but an unqualified DROP (or a lookup of
what CREATE OR REPLACE replaces) finds the first object of that name along the whole path, and
pg_catalog is searched first unless the path names it: `CREATE VIEW pg_settings` is undone by
`DROP VIEW pg_settings`, which drops the system view; `CREATE OR REPLACE FUNCTION lower(text)` would
be "undone" by restoring pg_catalog.lower. So such a statement is planned as if it had named its
schema, read when it is applied; the read is made once for a run of statements that cannot move
`current_schema()`, so a file of plain CREATEs costs one round trip, not one per statement.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

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


class CreationSchema:
    """The schema unqualified CREATEs of one file make their objects in, read at most once per run of
    statements that cannot change it (plan time decides which step reads it)."""

    def __init__(self) -> None:
        self.schema: str | None = None
        self.known = False  # at plan time: an earlier step of the current run reads it

    def forget_unless_kept(self, node: ast.Node, path_changed: bool) -> None:
        """After planning a statement: the schema read before it no longer holds if it may move it."""
        if path_changed or not isinstance(node, _KEEPS_SCHEMA):
            self.known = False

    def step(self, st: Statement, plan: Callable[[Statement], Step]) -> Step | None:
        """The step of `st` planned with its schema named, or None when it names one (or creates nothing)."""
        qualify = _qualifier(st.node)
        if qualify is None:
            return None
        base = plan(st)  # the same shape: whether the qualified plan reads, and what it says it reads
        if base.inverse is not None and (base.inverse.manual or not base.inverse.sql):
            return base  # manual, or nothing to undo, whatever the schema
        reads_schema = not self.known
        self.known = True
        planned: list[Step] = []

        def fetch(conn: object) -> list[tuple]:
            if reads_schema:
                self.schema = conn.execute("SELECT pg_catalog.current_schema()").fetchone()[0]  # type: ignore[attr-defined]
            if self.schema is None:
                planned[:] = [Step(Inverse(manual=f"{st.first_line!r}: the search_path names no schema to create in"))]
                return []
            node = copy.deepcopy(st.node)
            qualify(node, self.schema)
            planned[:] = [plan(replace(st, node=node))]
            step = planned[0]
            return step.read.fetch(conn) if step.read is not None else []  # type: ignore[arg-type]

        def resolve(rows: list[tuple]) -> Inverse:
            step = planned[0]
            return step.read.resolve(rows) if step.read is not None else (step.inverse or NOTHING)

        def after(rows: list[tuple]) -> CatalogRead:
            step = planned[0]
            assert step.after is not None
            return step.after(rows)

        described = base.read.describe if base.read is not None else "; ".join(base.inverse.sql if base.inverse else ())
        describe = f"{described} (named in the schema it is created in, read when applied)"
        live = reads_schema or base.read is not None
        return Step(read=CatalogRead("", (), resolve, describe, fetch, live=live),
                    after=after if base.after is not None else None)
