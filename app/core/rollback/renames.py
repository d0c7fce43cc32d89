"""RENAME and SET SCHEMA: the same statement, the other way round."""

from __future__ import annotations

import copy

from pglast import ast, enums

from app.core.rollback.alter_table import _KIND_WORD
from app.core.rollback.model import NOTHING, Inverse, Step
from app.core.rollback.names import _rv, deparse, ident
from app.core.rollback.search_path import replace_node
from app.core.rollback.steps import _fixed, _Manual, _read

OT = enums.ObjectType


def _rename(node: ast.RenameStmt, what: str) -> Step:
    if node.missing_ok:
        return _rename_if_exists(node, what)
    inv = copy.deepcopy(node)
    t = node.renameType
    if t in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_INDEX, OT.OBJECT_SEQUENCE,
             OT.OBJECT_FOREIGN_TABLE):
        inv.relation.relname = node.newname
        inv.newname = node.relation.relname
    elif t in (OT.OBJECT_COLUMN, OT.OBJECT_ATTRIBUTE, OT.OBJECT_TABCONSTRAINT, OT.OBJECT_DOMCONSTRAINT,
               OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE) or t in (OT.OBJECT_SCHEMA,):
        inv.subname, inv.newname = node.newname, node.subname
    elif t in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE, OT.OBJECT_AGGREGATE):
        names = list(node.object.objname)
        old = names[-1].sval
        names[-1] = ast.String(node.newname)
        inv.object.objname = tuple(names)
        inv.newname = old
    elif t in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN, OT.OBJECT_STATISTIC_EXT, OT.OBJECT_COLLATION):
        names = list(node.object)
        old = names[-1].sval
        names[-1] = ast.String(node.newname)
        inv.object = tuple(names)
        inv.newname = old
    else:
        raise _Manual(f"no inverse is known for {what!r}")
    return _fixed(deparse(inv))


def _rename_if_exists(node: ast.RenameStmt, what: str) -> Step:
    """ALTER TABLE IF EXISTS ... RENAME: renamed back when the relation was there just before, else nothing."""
    if node.relation is None:
        raise _Manual(f"{what!r} (IF EXISTS) may do nothing")
    inverse = _rename(replace_node(node, missing_ok=False), what).inverse
    assert inverse is not None
    rel = _rv(node.relation)
    return _read("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", (rel,),
                 lambda rows: inverse if rows and rows[0][0] else NOTHING,
                 f"rename back unless {rel} was not there (read when applied)")


def _set_schema(node: ast.AlterObjectSchemaStmt, what: str) -> Step:
    if node.missing_ok:
        raise _Manual(f"{what!r} (IF EXISTS) may do nothing")
    if node.relation is not None:
        rel = node.relation
        kind = _KIND_WORD.get({OT.OBJECT_TABLE: "r", OT.OBJECT_VIEW: "v", OT.OBJECT_MATVIEW: "m",
                               OT.OBJECT_SEQUENCE: "S", OT.OBJECT_FOREIGN_TABLE: "f"}.get(node.objectType, ""))
        if kind is None:
            raise _Manual(f"no inverse is known for {what!r}")

        def resolve(rows: list[tuple]) -> Inverse:
            if not rows:
                return Inverse(manual=f"{what!r}: {_rv(rel)} was not found")
            return Inverse((f"ALTER {kind} {ident(node.newschema)}.{ident(rel.relname)} SET SCHEMA {rows[0][0]}",))

        return _read("SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace"
                     " n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(%s)", (_rv(rel),), resolve,
                     f"move {_rv(rel)} back to its schema (read when applied)")
    raise _Manual(f"no inverse is known for {what!r}")
