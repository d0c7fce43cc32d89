"""Rows an INSERT adds to a table that was there before: undone by deleting exactly those rows, by key.

`INSERT INTO background_updates (update_name, ...) VALUES ('x', ...)` into a table with a unique
key on `update_name`: the insert went through, so no row had that key before it, and deleting the
rows with the keys it gave leaves the table with the rows it had. Exact only when
- every row gives each column of one unique key (plain columns, no predicate, checked at once) as a
  constant, never NULL (NULLs never conflict, so they tell no row apart);
- nothing else happens on the insert or on the delete: no trigger or rule fires, no foreign key
  cascades, no volatile function runs (the data check `created` does, read just before the insert);
- the table is a plain or partitioned table, and row-level security cannot hide its rows from the role;
- with ON CONFLICT DO NOTHING, the rows whose keys were there already are left alone (read before).
Without such a key, app.core.rollback.inserted_rows reads the rows back right after the insert.
A sequence a column's default moved stays moved: a gap, as after any insert that is taken back.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from pglast import ast, enums

from app.core.rollback.model import CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, deparse, ident
from app.core.rollback.reach import CHECK, calls_of, check_params
from app.core.rollback.steps import _guard

MAX_ROWS = 1000  # more rows than a seed has are kept out of the stored rollback: manual

_TABLE = """
SELECT c.relkind::text,
  c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
    AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')),
  ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
  ARRAY(SELECT pg_catalog.json_build_array(a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod))
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum)
FROM pg_catalog.pg_class c, pg_catalog.pg_roles r
WHERE c.oid = pg_catalog.to_regclass(%s) AND r.rolname = current_user"""

# unique keys of plain columns, the primary key first, then the narrowest: [[column, type], ...]
_KEYS = """
SELECT ARRAY(SELECT pg_catalog.json_build_array(a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod))
             FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.n <= i.indnkeyatts ORDER BY k.n)
FROM pg_catalog.pg_index i
WHERE i.indrelid = pg_catalog.to_regclass(%s) AND i.indisunique AND i.indimmediate AND i.indisvalid
  AND i.indpred IS NULL AND i.indexprs IS NULL
ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid"""


def insert_step(node: ast.InsertStmt, what: str) -> Step | None:
    """The step of an INSERT ... VALUES into a table the file did not create; None: no exact inverse."""
    if node.withClause is not None or node.relation.catalogname or _overwrites(node):
        return None
    rows = _values(node.selectStmt)
    if rows is None or not rows or len(rows) > MAX_ROWS or any(v is None for row in rows for v in row):
        return None  # not all constants: the keys are read after it (app.core.rollback.inserted_rows)
    if any(isinstance(t, ast.ResTarget) and t.indirection for t in node.cols or ()):
        return None  # a subfield or array element is set: not a whole column
    calls = calls_of(node)
    if calls.modifies_more or calls.unknown_sequence:
        return None
    table = _rv(node.relation)
    cols = [t.name for t in node.cols or ()]
    params = check_params([table], ["insert", "delete"], calls, [])
    only_new = node.onConflictClause is not None

    def run(conn: psycopg.Connection) -> list[tuple]:
        try:
            with conn.transaction():  # a savepoint: a constant the key's type refuses must not end the migration
                return [(_inverse(conn, table, cols, rows, params, only_new, what),)]
        except psycopg.Error as exc:
            return [(Inverse(manual=f"{what!r}: its rows' keys could not be read ({type(exc).__name__})"),)]

    describe = "delete the rows it inserts, by their unique key (read when applied)"
    return Step(read=CatalogRead("", (), _guard(lambda found: found[0][0], describe), describe, run))


def _overwrites(node: ast.InsertStmt) -> bool:
    conflict = node.onConflictClause
    return conflict is not None and conflict.action != enums.OnConflictAction.ONCONFLICT_NOTHING


def _values(select: ast.Node | None) -> list[list[str | None]] | None:
    """Each VALUES row's expressions as SQL, None for one that is not a constant; None: not plain VALUES."""
    if not isinstance(select, ast.SelectStmt) or not select.valuesLists:
        return None
    if select.withClause is not None or select.sortClause or select.limitCount is not None:
        return None
    out = []
    for row in select.valuesLists:
        items: Sequence[ast.Node] = getattr(row, "items", row)  # a List node in older pglast
        out.append([deparse(e) if _constant(e) else None for e in items])
    return out


def _constant(node: ast.Node) -> bool:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const) and not node.isnull


def _inverse(conn: psycopg.Connection, table: str, cols: list[str], rows: list[list[str | None]],
             params: dict[str, object], only_new: bool, what: str) -> Inverse:
    found = conn.execute(_TABLE, (table,)).fetchone()
    if found is None:
        return Inverse(manual=f"{what!r} inserts into {table}, which is not there")
    relkind, hidden, attnames, _ = found
    if relkind not in ("r", "p"):
        return Inverse(manual=f"{what!r} inserts into {table}, which is not a table: its rows cannot be told apart")
    if hidden:
        return Inverse(manual=f"{what!r} inserts into {table}, whose row-level security could hide its rows "
                              "from a DELETE")
    names = cols or list(attnames)
    key = _key(conn, table, names, rows)
    if key is None:
        return Inverse(manual=f"{what!r} changes data: it adds rows to {table}, which has no unique key that every "
                              "row gives as constants, to tell them apart by")
    problems = conn.execute(CHECK, params).fetchone()
    if problems is None or problems[0]:
        reason = problems[0][0] if problems else "could not be checked"
        return Inverse(manual=f"{what!r} changes data beyond the rows it adds: {reason}")
    only = "ONLY " if relkind == "r" else ""  # an inheritance child's rows with the same key are not its own
    tuples = [f"({', '.join(f'CAST({row[names.index(c)]} AS {t})' for c, t in key)})" for row in rows]
    if only_new:  # ON CONFLICT DO NOTHING: a key already there was not inserted
        where = f"({', '.join(ident(c) for c, _ in key)}) = "
        there = conn.execute("SELECT ARRAY[" + ", ".join(
            f"EXISTS (SELECT FROM {only}{table} WHERE {where}{t})" for t in tuples) + "]").fetchone()
        tuples = [t for t, old in zip(tuples, there[0] if there else [True] * len(tuples), strict=True) if not old]
        if not tuples:
            return Inverse()
    keys = ", ".join(ident(c) for c, _ in key)
    return Inverse((f"DELETE FROM {only}{table} WHERE ({keys}) IN ({', '.join(tuples)})",))


def _key(conn: psycopg.Connection, table: str, names: list[str], rows: list[list[str | None]]
         ) -> list[tuple[str, str]] | None:
    """The first unique key whose columns every row gives as constants: [(column, type), ...]."""
    for (columns,) in conn.execute(_KEYS, (table,)).fetchall():
        key = [(c, t) for c, t in columns]
        if key and all(c in names and all(names.index(c) < len(row) and row[names.index(c)] is not None
                                          for row in rows) for c, _ in key):
            return key
    return None
