"""Before a baseline: are the objects the baselined files create really in the database?

A baseline records files as applied without running them; on a database that lacks what they
create, later migrations (and status) would build on objects that are not there. The files'
CREATE statements are parsed with PostgreSQL's parser and looked up in the catalog.
"""

from __future__ import annotations

import psycopg
from pglast import ast

from app.core.files import MigrationFile
from app.core.sql import parse_file


def _names(nodes: tuple | None) -> str:
    return ".".join(n.sval for n in nodes or () if isinstance(n, ast.String))


def _rel(rv: ast.RangeVar | None) -> str | None:
    if rv is None:
        return None
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else rv.relname


def _created(node: ast.Node) -> tuple[str, str] | None:
    """(kind, name) of the object a statement creates, for the kinds checked."""
    if isinstance(node, ast.CreateStmt):
        return "table", _rel(node.relation) or ""
    if isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        return ("materialized view" if "MATVIEW" in str(node.objtype) else "table",
                _rel(node.into.rel) or "")
    if isinstance(node, ast.ViewStmt):
        return "view", _rel(node.view) or ""
    if isinstance(node, ast.CreateSeqStmt):
        return "sequence", _rel(node.sequence) or ""
    if isinstance(node, ast.IndexStmt) and node.idxname:
        schema = node.relation.schemaname if node.relation is not None else None
        return "index", f"{schema}.{node.idxname}" if schema else node.idxname
    if isinstance(node, ast.CompositeTypeStmt):
        return "type", _rel(node.typevar) or ""
    if isinstance(node, ast.CreateEnumStmt):
        return "type", _names(node.typeName)
    if isinstance(node, ast.CreateFunctionStmt):
        return ("procedure" if node.is_procedure else "function"), _names(node.funcname)
    if isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
        return "schema", node.schemaname
    return None


_LOOKUP = {
    "table": "SELECT to_regclass(%s) IS NOT NULL",
    "materialized view": "SELECT to_regclass(%s) IS NOT NULL",
    "view": "SELECT to_regclass(%s) IS NOT NULL",
    "sequence": "SELECT to_regclass(%s) IS NOT NULL",
    "index": "SELECT to_regclass(%s) IS NOT NULL",
    "type": "SELECT to_regtype(%s) IS NOT NULL",
    "schema": "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)",
}
_ROUTINE = ("SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = %s AND (%s::text IS NULL AND pg_function_is_visible(p.oid) OR n.nspname = %s))")


def missing_objects(conn: psycopg.Connection, files: list[MigrationFile]) -> list[str]:
    """'FILE: table public.orders' for each object the files create that the database lacks."""
    out = []
    for f in files:
        for st in parse_file(f.forward, f.path):
            made = _created(st.node)
            if made is None or not made[1]:
                continue
            kind, name = made
            if kind in ("function", "procedure"):
                schema, _, bare = name.rpartition(".")
                found = conn.execute(_ROUTINE, (bare, schema or None, schema or None)).fetchone()
            else:
                try:
                    found = conn.execute(_LOOKUP[kind], (name,)).fetchone()
                except psycopg.errors.InvalidSchemaName:
                    found = (False,)
            if not found or not found[0]:
                out.append(f"{f.name}: {kind} {name}")
    return out
