"""What is known after statements that run outside a transaction, one at a time.

Each such statement commits on its own, so a file of them is the one place a partial state can
exist. Two things are said only when checked:

- an index a statement names is there and valid. A `CREATE INDEX CONCURRENTLY` that was
  interrupted (crash, terminated backend, lost connection) leaves an INVALID index behind, and
  on the next run `IF NOT EXISTS` skips it without a word: the file would be recorded as applied
  over an index that does nothing. So after each index statement the index is read back from
  pg_index, before the file is recorded;
- after a lost connection, which statements are known done, which one was running (its effect
  unknown), which did not run, and how to find out.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from pglast import ast, enums

from app.core.errors import ConnectionLost
from app.core.sql import Statement

_RIT = enums.ReindexObjectType

# One row per index of that name in the table's schema (none: it does not exist).
_NAMED_INDEX = """
SELECT format('%%I.%%I', n.nspname, %(name)s::text), c.relkind, i.indisvalid, i.indrelid = t.oid
FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class c ON c.relnamespace = t.relnamespace AND c.relname = %(name)s
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE t.oid = to_regclass(%(table)s)
"""
_INVALID = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND ({where}) ORDER BY 1
"""
# REINDEX CONCURRENTLY builds `<name>_ccnew` beside each index and leaves it INVALID when cut off.
_LEFTOVER = r"(c.relname LIKE '%\_ccnew%' OR c.relname LIKE '%\_ccold%')"


def _regclass(rv: ast.RangeVar) -> str:
    """A RangeVar as text for to_regclass (quoted as written: the parser already folded case)."""
    parts = [p for p in (rv.schemaname, rv.relname) if p]
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def index_problem(conn: psycopg.Connection, st: Statement) -> str | None:
    """What is wrong with the indexes a statement that just ran names, or None (checked in pg_index)."""
    node = st.node
    if isinstance(node, ast.IndexStmt):
        if not node.idxname or not node.relation.inh:
            # An unnamed build that returned got a fresh, valid index; ON ONLY a partitioned
            # table is INVALID by design until its partitions' indexes are attached.
            return None
        row = conn.execute(_NAMED_INDEX, {"name": node.idxname, "table": _regclass(node.relation)}).fetchone()
        if row is None:
            return None  # the table is not there to look in: the statement's own error said so
        name, kind, valid, same_table = row
        if kind is None:
            return f"index {name} does not exist after line {st.line} ran"
        if kind not in ("i", "I"):
            return (f"{name} is not an index (relkind {kind}): IF NOT EXISTS at line {st.line} skipped the build; "
                    "give the index another name")
        if not same_table:
            return (f"an index {name} already exists on another table: IF NOT EXISTS at line {st.line} skipped "
                    "the build; give the index another name")
        if not valid:
            return (f"index {name} is INVALID (an interrupted or failed concurrent build left it, and "
                    f"IF NOT EXISTS at line {st.line} does not build it again): DROP INDEX CONCURRENTLY {name}, "
                    "then run migrate again")
        return None
    if isinstance(node, ast.ReindexStmt) and st.non_transactional:
        where, params = _reindexed(node)
        rows = conn.execute(_INVALID.format(where=where), params).fetchall()
        if rows:
            names = ", ".join(r[0] for r in rows[:10])
            return (f"REINDEX at line {st.line} left INVALID {'indexes' if len(rows) > 1 else 'index'} {names} "
                    "(an interrupted concurrent rebuild): DROP INDEX CONCURRENTLY each, then run migrate again")
    return None


def invalid_index_hint(conn: psycopg.Connection, st: Statement) -> str:
    """Say how to clean up only when the failed concurrent build did leave an INVALID index."""
    node = st.node
    if not node.idxname:
        # The server picked the name, and no file names it (so status cannot tie it to one): read it.
        try:
            rows = conn.execute(_INVALID.format(where="i.indrelid = to_regclass(%(table)s)"),
                                {"table": _regclass(node.relation)}).fetchall()
        except psycopg.Error:
            return ""
        if not rows:
            return ""
        return (". The failed concurrent build left an INVALID index: "
                + "; ".join(f"DROP INDEX CONCURRENTLY IF EXISTS {r[0]}" for r in rows))
    schema = node.relation.schemaname
    name = f"{schema}.{node.idxname}" if schema else node.idxname
    try:
        row = conn.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                           (name,)).fetchone()
    except psycopg.Error:
        return ""
    if row and row[0]:
        return f". The failed concurrent build left an INVALID index: DROP INDEX CONCURRENTLY IF EXISTS {name}"
    return ""


def _reindexed(node: ast.ReindexStmt) -> tuple[str, dict[str, str]]:
    """The pg_index condition for the INVALID indexes a concurrent REINDEX may have left."""
    if node.kind == _RIT.REINDEX_OBJECT_INDEX and node.relation is not None:
        name = node.relation.relname.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
        return ("i.indexrelid = to_regclass(%(index)s) OR (c.relnamespace = (SELECT relnamespace FROM pg_class "
                "WHERE oid = to_regclass(%(index)s)) AND c.relname LIKE %(prefix)s)",
                {"index": _regclass(node.relation), "prefix": name + "\\_cc%"})
    if node.kind == _RIT.REINDEX_OBJECT_TABLE and node.relation is not None:
        return "i.indrelid = to_regclass(%(table)s)", {"table": _regclass(node.relation)}
    if node.kind == _RIT.REINDEX_OBJECT_SCHEMA and node.name:
        return f"n.nspname = %(schema)s AND {_LEFTOVER}", {"schema": node.name}
    return _LEFTOVER, {}


def connection_lost(name: str, statements: Sequence[Statement], ran: Sequence[Statement], exc: BaseException,
                    *, rollback: bool = False) -> ConnectionLost:
    """The connection broke while statements ran one at a time: say what is known, and how to check.

    Never "committed or rolled back together": each statement committed on its own.
    """
    said = " ".join(str(exc).split()) or "server closed the connection"
    done = ("known done: " + "; ".join(f"line {st.line}: {st.first_line}" for st in ran)) if ran else \
        "none of its statements is known done"
    parts = [f"connection lost while running {name} outside a transaction, where each statement commits on "
             f"its own: {done}"]
    if len(ran) < len(statements):
        running = statements[len(ran)]
        note = ""
        if isinstance(running.node, ast.IndexStmt | ast.ReindexStmt):
            note = "; an interrupted concurrent index build leaves an INVALID index"
        parts.append(f"unknown: line {running.line}: {running.first_line} (it may or may not have taken effect{note})")
        rest = statements[len(ran) + 1:]
        if rest:
            parts.append("not run: " + ", ".join(f"line {st.line}" for st in rest))
        recorded = "it is still recorded as applied" if rollback else "it is not recorded as applied"
    else:
        recorded = ("every statement ran; whether its history row was removed is unknown" if rollback
                    else "every statement ran; whether it was recorded as applied is unknown")
    parts.append(recorded)
    if rollback:
        advice = ("`tidemark status` shows whether it is still applied and names INVALID indexes; check the schema "
                  "and finish or undo the rollback's statements by hand")
    else:
        advice = ("`tidemark status` shows whether it is recorded and names INVALID indexes; check the schema "
                  "and drop or keep what ran (IF NOT EXISTS makes it re-runnable) before running migrate again")
    return ConnectionLost("; ".join(parts) + f". {advice} ({said})")
