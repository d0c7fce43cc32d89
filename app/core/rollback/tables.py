"""Tables, materialized views, indexes, sequences and statistics: creating them, reading them back."""

from __future__ import annotations

from pglast import ast, enums

from app.core.rollback.created import query_step
from app.core.rollback.index_extras import extras_sql
from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _names, _rv, ident
from app.core.rollback.reach import calls_nothing
from app.core.rollback.steps import _QNAME, _fixed, _guard, _Manual, _read, _relation_exists, _unless_exists

OT = enums.ObjectType


def _create_table(node: ast.CreateStmt | ast.CreateForeignTableStmt, what: str) -> Step:
    kind = "FOREIGN TABLE" if isinstance(node, ast.CreateForeignTableStmt) else "TABLE"
    if isinstance(node, ast.CreateForeignTableStmt):
        node = node.base
    rv = node.relation
    if rv.relpersistence == "t":
        return Step(NOTHING)  # a temporary table ends with the session
    drop = (f"DROP {kind} {_rv(rv)}",)
    if node.if_not_exists:
        sql, params = _relation_exists(rv)
        return _unless_exists(sql, params, drop, f"table {_rv(rv)}")
    return _fixed(*drop)


def _create_table_as(node: ast.CreateTableAsStmt, what: str) -> Step:
    """CREATE TABLE / MATERIALIZED VIEW ... AS: dropping what it made removes the rows with it."""
    rv = node.into.rel
    if node.objtype not in (OT.OBJECT_MATVIEW, OT.OBJECT_TABLE):
        raise _Manual(f"no inverse is known for {what!r}")
    word = "MATERIALIZED VIEW" if node.objtype == OT.OBJECT_MATVIEW else "TABLE"
    drop = Inverse(() if rv.relpersistence == "t" else (f"DROP {word} {_rv(rv)}",))
    if node.if_not_exists:
        sql, params = _relation_exists(rv)
        step = _unless_exists(sql, params, drop.sql, f"{word.lower()} {_rv(rv)}")
        return step if calls_nothing(node.query) else Step(Inverse(
            manual=f"{what!r} (IF NOT EXISTS) fills a table from a query that calls functions"))
    if node.into.skipData:
        return Step(drop)  # WITH NO DATA: the query does not run
    return query_step(node.query, what, drop)


_INDEX_NAMES = f"""
SELECT {_QNAME} FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE x.indrelid = pg_catalog.to_regclass(%s)"""


def _create_index(node: ast.IndexStmt, what: str) -> Step:
    rv = node.relation
    drop = "DROP INDEX CONCURRENTLY IF EXISTS" if node.concurrent else "DROP INDEX"
    if node.idxname:
        name = f"{ident(rv.schemaname)}.{ident(node.idxname)}" if rv.schemaname else ident(node.idxname)
        if not node.if_not_exists:
            return _fixed(f"{drop} {name}")
        exists = ("pg_catalog.to_regclass((SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_class c "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(%s))"
                  " || '.' || pg_catalog.quote_ident(%s)) IS NOT NULL")
        return _unless_exists(exists, (_rv(rv), node.idxname), (f"{drop} {name}",), f"index {node.idxname}")

    # The server picks the name: list the table's indexes before, find the new one after.
    def after(rows: list[tuple]) -> CatalogRead:
        before = [r[0] for r in rows]

        def resolve(now: list[tuple]) -> Inverse:
            new = [r[0] for r in now if r[0] not in before]
            if len(new) != 1:
                return Inverse(manual=f"could not tell which index {what!r} created")
            return Inverse((f"{drop} {new[0]}",))

        return CatalogRead(_INDEX_NAMES, (_rv(rv),), _guard(resolve, what),
            f"the name the server gave the new index on {_rv(rv)}")

    return _read(_INDEX_NAMES, (_rv(rv),), lambda rows: NOTHING,
        f"drop the index the server names on {_rv(rv)} (read when applied)", after)


_DROP_INDEX = f"""
SELECT pg_catalog.pg_get_indexdef(c.oid), {extras_sql("c.oid")}
FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind IN ('i', 'I')"""


def _create_seq(node: ast.CreateSeqStmt, what: str) -> Step:
    rv = node.sequence
    if rv.relpersistence == "t":
        return Step(NOTHING)
    drop = (f"DROP SEQUENCE {_rv(rv)}",)
    if node.if_not_exists:
        sql, params = _relation_exists(rv)
        return _unless_exists(sql, params, drop, f"sequence {_rv(rv)}")
    return _fixed(*drop)


_SEQUENCE = """
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
  pg_catalog.format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, s.seqcycle,
  (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname) || '.'
          || pg_catalog.quote_ident(a.attname)
   FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
   JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
   WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'a' LIMIT 1)
FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE s.seqrelid = pg_catalog.to_regclass(%s)"""


def _alter_seq(node: ast.AlterSeqStmt, what: str) -> Step:
    if any(isinstance(o, ast.DefElem) and o.defname == "restart" for o in node.options or ()):
        raise _Manual(f"{what!r} restarts the sequence, whose current value cannot be read back exactly")
    name = _rv(node.sequence)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return NOTHING if node.missing_ok else Inverse(manual=f"{what!r}: {name} was not found")
        qname, typ, inc, lo, hi, start, cache, cycle, owned = rows[0]
        return Inverse((f"ALTER SEQUENCE {qname} AS {typ} INCREMENT {inc} MINVALUE {lo} MAXVALUE {hi} START {start} "
                        f"CACHE {cache} {'CYCLE' if cycle else 'NO CYCLE'} OWNED BY {owned or 'NONE'}",))

    return _read(_SEQUENCE, (name,), resolve, f"restore the parameters of sequence {name} (read when applied)")


def _create_stats(node: ast.CreateStatsStmt, what: str) -> Step:
    if not node.defnames or node.if_not_exists:
        raise _Manual(f"no inverse is known for {what!r}")
    return _fixed(f"DROP STATISTICS {_names(node.defnames)}")
