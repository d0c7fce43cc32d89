"""DO blocks that only change the schema (conditional DDL), undone from the catalog around them.

Older projects guard their DDL in PL/pgSQL: `DO $$ BEGIN IF NOT EXISTS (...) THEN CREATE TYPE ...;
END IF; END $$` or `BEGIN ALTER TABLE ... ADD CONSTRAINT ...; EXCEPTION WHEN duplicate_object THEN
NULL; END`. Which of its statements ran is decided at run time, so the block is planned as a whole:
- Its body is read with PostgreSQL's own PL/pgSQL parser (pglast). Only blocks, IF/ELSIF/ELSE,
  exception handlers, NULL, RAISE and plain SQL statements are accepted; conditions may only read
  (no function calls beyond a list of catalog lookups); every SQL statement must be one whose
  inverse is known. Anything else (loops, EXECUTE of built text, PERFORM, assignments, data
  changes) stays manual, naming what it met.
- Just before the block runs, the catalog is read (a snapshot) and each statement's inverse is
  worked out as if it ran alone; right after, the catalog is read again. Unchanged: nothing to undo.
  Changed: each path the block can take (the statements that run together) is tried: its inverses
  run in a savepoint, the catalog is read, and the savepoint is rolled back. The first path whose
  inverses give back exactly the catalog from before the block is the rollback; none does: manual.
So a DO block's rollback is never a guess: it was run once, on this database, and checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from pglast import ast, parse_plpgsql
from pglast.parser import ParseError

from app.core.rollback.cascade import _in_transaction, _trial
from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.steps import _Manual, _tried

_MAX_PATHS = 16
# What a condition may call: catalog lookups and plain functions that change nothing.
_READ_ONLY = frozenset({
    "to_regclass", "to_regtype", "to_regproc", "to_regprocedure", "to_regnamespace", "to_regrole",
    "to_regoper", "to_regoperator", "to_regcollation", "current_schema", "current_database", "current_user",
    "current_setting", "has_table_privilege", "has_schema_privilege", "has_database_privilege",
    "has_column_privilege", "has_function_privilege", "pg_has_role", "format_type", "lower", "upper", "coalesce",
    "count", "quote_ident", "version", "left", "right", "length", "array_length",
})
_QUIET = ("PLpgSQL_stmt_null", "PLpgSQL_stmt_raise", "PLpgSQL_stmt_return")
_WORDS = {"fori": "a FOR loop", "fors": "a FOR loop", "forc": "a FOR loop", "foreach_a": "a FOREACH loop",
          "while": "a WHILE loop", "loop": "a LOOP", "dynexecute": "EXECUTE of SQL built at run time",
          "dynfors": "a FOR loop over EXECUTE", "perform": "PERFORM", "assign": "an assignment", "call": "CALL",
          "case": "CASE", "commit": "COMMIT", "rollback": "ROLLBACK", "open": "a cursor", "fetch": "a cursor",
          "getdiag": "GET DIAGNOSTICS", "return_query": "RETURN QUERY"}


def do_step(node: ast.DoStmt, what: str) -> Step:
    """The step of a DO block: its paths' inverses, chosen and checked against the catalog when it runs."""
    from app.core.rollback.dispatch import step_for
    from app.core.sql import parse_file

    language = next((a.arg.sval for a in node.args or () if a.defname == "language"), "plpgsql")
    if language.lower() != "plpgsql":
        raise _Manual(f"{what!r} is a DO block in {language}, whose effects cannot be read from its text")
    body = next((a.arg.sval for a in node.args or () if a.defname == "as"), None)
    if body is None:
        raise _Manual(f"{what!r} is a DO block without a body")
    try:
        tree = parse_plpgsql(f"DO $tidemark_do${body}$tidemark_do$")
    except ParseError as exc:
        raise _Manual(f"{what!r}: its PL/pgSQL body could not be read ({exc})") from None
    texts: list[str] = []
    paths = _paths(tree[0]["PLpgSQL_function"]["action"], texts, what)
    if not texts:
        return Step(NOTHING)  # only conditions, NULL and RAISE: nothing in the schema changes
    if len(paths) > _MAX_PATHS:
        raise _Manual(f"{what!r} can take {len(paths)} different paths; at most {_MAX_PATHS} are tried")
    steps = []
    for text in texts:
        st = parse_file(text + ";\n", Path("DO block"))[0]
        step = step_for(st)
        if step.after is not None or (step.inverse is not None and step.inverse.manual):
            manual = step.inverse.manual if step.inverse is not None else None
            reason = manual or "it picks a name at run time"
            raise _Manual(f"{what!r} runs {st.first_line!r}: {reason}")
        steps.append(step)
    return _checked(steps, paths, what)


def _paths(stmt: dict[str, Any], texts: list[str], what: str) -> list[tuple[int, ...]]:
    """Every sequence of SQL statements (indexes into `texts`) one PL/pgSQL statement can run."""
    (kind, body), = stmt.items()
    if kind == "PLpgSQL_stmt_block":
        paths = _sequence(body.get("body", []), texts, what)
        handlers = body.get("exceptions", {}).get("PLpgSQL_exception_block", {}).get("exc_list", [])
        for handler in handlers:  # a handler runs after the block's own changes were rolled back
            paths = _union(paths, _sequence(handler["PLpgSQL_exception"].get("action", []), texts, what))
        return paths
    if kind == "PLpgSQL_stmt_if":
        _condition(body["cond"]["PLpgSQL_expr"]["query"], what)
        paths = _sequence(body.get("then_body", []), texts, what)
        for elsif in body.get("elsif_list", []):
            _condition(elsif["PLpgSQL_if_elsif"]["cond"]["PLpgSQL_expr"]["query"], what)
            paths = _union(paths, _sequence(elsif["PLpgSQL_if_elsif"].get("stmts", []), texts, what))
        return _union(paths, _sequence(body.get("else_body", []), texts, what))
    if kind == "PLpgSQL_stmt_execsql":
        if body.get("into"):
            raise _Manual(f"{what!r} reads into a variable in its DO block")
        texts.append(body["sqlstmt"]["PLpgSQL_expr"]["query"])
        return [(len(texts) - 1,)]
    if kind in _QUIET:
        return [()]
    kind = kind.removeprefix("PLpgSQL_stmt_")
    words = _WORDS.get(kind, kind.replace("_", " ").upper())
    raise _Manual(f"{what!r} runs a DO block with {words}, whose effects cannot be read from its text")


def _sequence(stmts: list[dict[str, Any]], texts: list[str], what: str) -> list[tuple[int, ...]]:
    paths: list[tuple[int, ...]] = [()]
    for stmt in stmts:
        paths = [p + q for p in paths for q in _paths(stmt, texts, what)]
        if len(paths) > _MAX_PATHS:
            raise _Manual(f"{what!r} can take more than {_MAX_PATHS} different paths; at most that many are tried")
    return paths


def _union(a: list[tuple[int, ...]], b: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    return list(dict.fromkeys([*a, *b]))


def _condition(expr: str, what: str) -> None:
    """A condition that only reads: no function besides catalog lookups (a function could change anything)."""
    from pglast import parse_sql

    try:
        tree = parse_sql(f"SELECT {expr}")
    except ParseError:
        raise _Manual(f"{what!r}: a condition of its DO block could not be read ({expr!r})") from None
    for name in _calls(tree):
        if name not in _READ_ONLY:
            raise _Manual(f"{what!r}: a condition of its DO block calls {name}(), which could change anything")


def _calls(node: object) -> Iterator[str]:
    if isinstance(node, ast.FuncCall):
        yield node.funcname[-1].sval.lower()
    if isinstance(node, ast.Node):
        for attr in node:
            yield from _calls(getattr(node, attr))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _calls(item)


def _checked(steps: list[Step], paths: list[tuple[int, ...]], what: str) -> Step:
    from app.core import catalog

    def before(conn: psycopg.Connection) -> list[tuple]:
        if not _in_transaction(conn):
            return [("manual", f"{what!r} is a DO block, whose rollback is checked inside a transaction only")]
        inverses = []
        for step in steps:  # each as if it ran alone, from the catalog before the block
            inverse = step.read.resolve(step.read.fetch(conn)) if step.read is not None else step.inverse
            inverses.append(inverse)
        return [("ready", catalog.snapshot(conn), inverses)]

    def after(rows: list[tuple]) -> CatalogRead:
        def run(conn: psycopg.Connection) -> list[tuple]:
            if rows[0][0] == "manual":
                return rows
            _, was, inverses = rows[0]
            if catalog.snapshot(conn) == was:
                return [("nothing",)]
            for path in paths:
                chosen = [inverses[i] for i in reversed(path)]
                if not path or any(inv is None or inv.manual for inv in chosen):
                    continue
                sql = tuple(s for inv in chosen for s in inv.sql if not s.lstrip().startswith("--"))
                if _gives_back(conn, sql, was):
                    return [("inverse", sql)]
            return [("manual", f"{what!r} is a DO block whose changes no inverse of its statements gives back "
                               "exactly (checked in a savepoint)")]

        return CatalogRead("-- the catalog after the DO block; its inverses tried in a savepoint", (), resolve,
                           "which path the DO block took, checked in a savepoint (read when applied)", run)

    def resolve(rows: list[tuple]) -> Inverse:
        return _tried(rows, f"{what!r}: the DO block was not read")

    describe = ("undo the path the DO block takes: its statements' inverses, checked against the catalog "
                "in a savepoint (read when applied)")
    return Step(read=CatalogRead("-- the catalog before the DO block", (), resolve, describe, before), after=after)


def _gives_back(conn: psycopg.Connection, sql: tuple[str, ...], was: object) -> bool:
    """Whether running `sql` (in a savepoint, rolled back at once) leaves the catalog as `was`."""
    from app.core import catalog

    error, same = _trial(conn, ";\n".join(sql), lambda: catalog.snapshot(conn) == was)
    return error is None and same is True


__all__ = ["do_step"]
