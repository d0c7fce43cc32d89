"""COMMENT ON: the previous comment read back."""

from __future__ import annotations

import copy

from pglast import ast, enums

from app.core.rollback.model import NOTHING, Inverse, Step
from app.core.rollback.names import _names, _owa_oid, _strs, deparse, ident
from app.core.rollback.steps import _Manual, _read

OT = enums.ObjectType


def _comment_lookup(node: ast.CommentStmt) -> tuple[str, tuple] | None:
    """SQL and params giving (catalog, oid, subid) of the commented object, or None if not supported."""
    t, obj = node.objtype, node.object
    rel_kinds = (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_INDEX, OT.OBJECT_SEQUENCE,
                 OT.OBJECT_FOREIGN_TABLE)
    if t in rel_kinds:
        return "'pg_class', pg_catalog.to_regclass(%s), 0", (_names(obj),)
    if t == OT.OBJECT_COLUMN:
        names = _strs(obj)
        return ("'pg_class', pg_catalog.to_regclass(%s), (SELECT a.attnum::int FROM pg_catalog.pg_attribute a "
                "WHERE a.attrelid = pg_catalog.to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped)",
                (".".join(ident(n) for n in names[:-1]),) * 2 + (names[-1],))
    if t in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE, OT.OBJECT_AGGREGATE):
        lookup, params = _owa_oid(obj)
        return f"'pg_proc', {lookup}, 0", params
    if t in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        return "'pg_type', pg_catalog.to_regtype(%s), 0", (deparse(obj),)
    if t == OT.OBJECT_SCHEMA:
        return "'pg_namespace', pg_catalog.to_regnamespace(%s), 0", (ident(obj.sval),)
    if t == OT.OBJECT_EXTENSION:
        return "'pg_extension', (SELECT oid FROM pg_catalog.pg_extension WHERE extname = %s), 0", (obj.sval,)
    if t in (OT.OBJECT_TABCONSTRAINT, OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE):
        names = _strs(obj)
        table, name = ".".join(ident(n) for n in names[:-1]), names[-1]
        catalog, rel, col = {
            OT.OBJECT_TABCONSTRAINT: ("pg_constraint", "conrelid", "conname"),
            OT.OBJECT_TRIGGER: ("pg_trigger", "tgrelid", "tgname"),
            OT.OBJECT_POLICY: ("pg_policy", "polrelid", "polname"),
            OT.OBJECT_RULE: ("pg_rewrite", "ev_class", "rulename"),
        }[t]
        return (f"'{catalog}', (SELECT oid FROM pg_catalog.{catalog} WHERE {rel} = pg_catalog.to_regclass(%s) "
                f"AND {col} = %s), 0", (table, name))
    if t == OT.OBJECT_DOMCONSTRAINT:
        names = _strs(obj[0].names) if isinstance(obj[0], ast.TypeName) else []
        return ("'pg_constraint', (SELECT oid FROM pg_catalog.pg_constraint WHERE contypid = "
                "pg_catalog.to_regtype(%s) AND conname = %s), 0", (".".join(ident(n) for n in names), obj[1].sval))
    return None


def _comment_on(node: ast.CommentStmt, what: str) -> Step:
    lookup = _comment_lookup(node)
    if lookup is None:
        raise _Manual(f"no inverse is known for {what!r}")
    select, params = lookup
    query = (f"SELECT (SELECT d.description FROM pg_catalog.pg_description d WHERE d.classoid = "
             f"('pg_catalog.' || o.c)::regclass AND d.objoid = o.oid AND d.objsubid = o.sub) "
             f"FROM (SELECT {select}) AS o(c, oid, sub)")

    def resolve(rows: list[tuple]) -> Inverse:
        old = rows[0][0] if rows else None
        if old == node.comment:
            return NOTHING
        inv = copy.deepcopy(node)
        inv.comment = old
        return Inverse((deparse(inv),))

    return _read(query, params, resolve, "restore the previous comment (read when applied)")
