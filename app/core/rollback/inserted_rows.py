"""Rows an INSERT ... SELECT adds to a table that was there: deleted by the keys read right after it.

The rows the statement inserts are the ones whose xmin is this transaction's and that did not carry it
just before (an earlier statement of the migration may have written rows of the table too). Their
unique key's values, read right after the statement, are what the rollback deletes. Exact under the
seeds' conditions (app.core.rollback.seeds: no trigger, rule, cascading foreign key, volatile function
or row-level security), inside the migration's transaction only, and for at most MAX_ROWS rows with a
non-NULL key each. A table without a unique key (kinto's `metadata (name, value)`): the rows added are
deleted as many times as added among rows whose every column reads as the same text, as seeds do.
"""

from __future__ import annotations

from collections import Counter

import psycopg
from pglast import ast

from app.core.rollback.model import CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, ident, literal
from app.core.rollback.reach import CHECK, calls_of, check_params
from app.core.rollback.seeds import _KEYS, _TABLE, MAX_ROWS, _overwrites
from app.core.rollback.steps import _guard

_MINE = "xmin::text = (pg_catalog.pg_current_xact_id()::text::bigint % 4294967296)::text"


def selected_step(node: ast.InsertStmt, what: str) -> Step | None:
    """The step of an INSERT ... SELECT (or VALUES of expressions) into a table the file did not create; None:
    no exact inverse."""
    select = node.selectStmt
    if (node.withClause is not None or node.relation.catalogname or _overwrites(node)
            or not isinstance(select, ast.SelectStmt) or select.withClause is not None):
        return None
    calls = calls_of(node)
    if calls.modifies_more or calls.unknown_sequence:
        return None
    table = _rv(node.relation)
    params = check_params([table], ["insert", "delete"], calls, [])

    def before(conn: psycopg.Connection) -> list[tuple]:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
            return [(Inverse(manual=f"{what!r} adds rows to {table} outside a transaction: which ones cannot be "
                                    "told"),)]
        try:
            with conn.transaction():  # a savepoint: a read that fails must not end the migration
                return [_before(conn, table, params, what)]
        except psycopg.Error as exc:
            return [(Inverse(manual=f"{what!r}: the rows it adds could not be read ({type(exc).__name__})"),)]

    def after(rows: list[tuple]) -> CatalogRead:
        def run(conn: psycopg.Connection) -> list[tuple]:
            if isinstance(rows[0][0], Inverse):
                return [(rows[0][0],)]
            only, key, seen = rows[0]
            try:
                with conn.transaction():
                    return [(_deletes(conn, only, table, key, seen, what),)]
            except psycopg.Error as exc:
                return [(Inverse(manual=f"{what!r}: the rows it added could not be read ({type(exc).__name__})"),)]

        return CatalogRead("", (), _guard(lambda found: found[0][0], describe), describe, run)

    describe = "delete the rows it inserts, by their unique key, read right after it (read when applied)"
    unread = Inverse(manual=f"{what!r}: the rows it adds were not read")
    return Step(read=CatalogRead("", (), lambda _: unread, describe, before), after=after)


def _before(conn: psycopg.Connection, table: str, params: dict[str, object], what: str) -> tuple:
    found = conn.execute(_TABLE, (table,)).fetchone()
    if found is None:
        return (Inverse(manual=f"{what!r} inserts into {table}, which is not there"),)
    relkind, hidden, _, _ = found
    if relkind not in ("r", "p") or hidden:
        return (Inverse(manual=f"{what!r} adds rows to {table}, which is not a plain table or whose row-level "
                               "security could hide its rows"),)
    keys = conn.execute(_KEYS, (table,)).fetchall()
    problems = conn.execute(CHECK, params).fetchone()
    if problems is None or problems[0]:
        reason = problems[0][0] if problems else "could not be checked"
        return (Inverse(manual=f"{what!r} changes data beyond the rows it adds: {reason}"),)
    only = "ONLY " if relkind == "r" else ""
    if keys and keys[0][0]:
        key = [(c, t) for c, t in keys[0][0]]
        return (only, key, set(_mine(conn, only, table, key, MAX_ROWS * 10)))
    # no unique key: whole rows (every column but generated ones), told apart only by their text
    return (only, [(c, t) for c, t in found[3]], Counter(_mine(conn, only, table, found[3], MAX_ROWS * 10)))


def _mine(conn: psycopg.Connection, only: str, table: str, key: list[tuple[str, str]], limit: int) -> list[tuple]:
    """The key values (as text) of the table's rows this transaction wrote."""
    cols = ", ".join(f"{ident(c)}::text" for c, _ in key)
    return [tuple(r) for r in conn.execute(f"SELECT {cols} FROM {only}{table} WHERE {_MINE} LIMIT {limit}")]


def _deletes(conn: psycopg.Connection, only: str, table: str, key: list[tuple[str, str]], seen: set[tuple] | Counter,
             what: str) -> Inverse:
    now = _mine(conn, only, table, key, len(seen) + MAX_ROWS + 1)
    if isinstance(seen, Counter):
        return _delete_alike(only + table, key, Counter(now) - seen, what)
    added = [r for r in now if r not in seen]
    if len(added) > MAX_ROWS:
        return Inverse(manual=f"{what!r} adds more than {MAX_ROWS} rows to {table}: too many to keep in its rollback")
    if any(v is None for r in added for v in r):
        return Inverse(manual=f"{what!r} adds rows to {table} with a NULL in its unique key: they cannot be told "
                              "apart by it")
    if not added:
        return Inverse()
    keys = ", ".join(ident(c) for c, _ in key)
    tuples = ", ".join("(" + ", ".join(f"CAST({literal(v)} AS {t})" for v, (_, t) in zip(r, key, strict=True)) + ")"
                       for r in added)
    return Inverse((f"DELETE FROM {only}{table} WHERE ({keys}) IN ({tuples})",))


def _delete_alike(table: str, columns: list[tuple[str, str]], added: Counter, what: str) -> Inverse:
    """DELETEs of as many rows reading as each added one as were added (any of them: they are alike)."""
    if sum(added.values()) > MAX_ROWS:
        return Inverse(manual=f"{what!r} adds more than {MAX_ROWS} rows to {table}: too many to keep in its rollback")
    cols = ", ".join(f'{ident(c)}::text COLLATE "C"' for c, _ in columns)
    out = []
    for row, n in sorted(added.items(), key=lambda kv: [(v is None, v or "") for v in kv[0]]):
        values = ", ".join("NULL" if v is None else f'{literal(v)} COLLATE "C"' for v in row)
        match = f"SELECT tableoid, ctid FROM {table} WHERE ROW({cols}) IS NOT DISTINCT FROM ROW({values}) LIMIT {n}"
        out.append(f"DELETE FROM {table} WHERE (tableoid, ctid) IN ({match})")
    return Inverse(tuple(out))


def seed_or_selected(seed: Step, selected: Step) -> Step:
    """The seed's exact inverse (by the constants it gives) when it finds one, else the rows read after it."""
    assert seed.read is not None and seed.after is None and selected.read is not None and selected.after is not None
    first, then, later = seed.read, selected.read, selected.after

    def before(conn: psycopg.Connection) -> list[tuple]:
        inverse = first.resolve(first.fetch(conn))
        return [("seed", inverse)] if not inverse.manual else [("read", then.fetch(conn))]

    def after(rows: list[tuple]) -> CatalogRead:
        if rows[0][0] == "seed":
            inverse = rows[0][1]
            return CatalogRead("", (), lambda _: inverse, "nothing more to read", lambda conn: [])
        return later(rows[0][1])

    unread = Inverse(manual="the rows it adds were not read")
    return Step(read=CatalogRead("", (), lambda _: unread, first.describe, before), after=after)
