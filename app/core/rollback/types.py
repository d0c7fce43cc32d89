"""Types, enums and domains: creating and altering them, and recreating them from the catalog."""

from __future__ import annotations

from collections.abc import Sequence

from pglast import ast, enums

from app.core.rollback.model import NOTHING, Inverse, Step
from app.core.rollback.names import _names, _rv, _strs, deparse, ident, literal
from app.core.rollback.steps import (
    _acl_json,
    _acl_restore,
    _comment,
    _fixed,
    _in_creation_schema,
    _Manual,
    _owner,
    _owner_unless_me,
    _read,
    _unless_exists,
)

OT = enums.ObjectType


def _type_exists(names: Sequence[ast.Node]) -> tuple[str, tuple]:
    strs = _strs(names)
    if len(strs) > 1:
        return "pg_catalog.to_regtype(%s) IS NOT NULL", (_names(names),)
    return f"pg_catalog.to_regtype({_in_creation_schema()}) IS NOT NULL", (strs[0],)


def _create_type(node: ast.Node, what: str) -> Step:
    match node:
        case ast.CompositeTypeStmt():
            name = _rv(node.typevar)
        case ast.CreateEnumStmt() | ast.CreateRangeStmt():
            name = _names(node.typeName)
        case _:
            raise _Manual(f"no inverse is known for {what!r}")
    return _fixed(f"DROP TYPE {name}")


def _define(node: ast.DefineStmt, what: str) -> Step:
    if node.replace:
        raise _Manual(f"{what!r} may replace an existing object")
    name = _names(node.defnames)
    if node.kind == OT.OBJECT_TYPE:
        drop = (f"DROP TYPE {name}",)
        if node.if_not_exists:
            sql, params = _type_exists(node.defnames)
            return _unless_exists(sql, params, drop, f"type {name}")
        return _fixed(*drop)
    if node.kind == OT.OBJECT_COLLATION and not node.if_not_exists:
        return _fixed(f"DROP COLLATION {name}")
    if node.kind == OT.OBJECT_AGGREGATE and not node.oldstyle and node.args and node.args[0]:
        direct = node.args[1].ival if len(node.args) > 1 and isinstance(node.args[1], ast.Integer) else -1
        if direct == -1:  # a plain aggregate (an ordered-set one's signature has ORDER BY in it)
            args = ", ".join(deparse(p.argType) for p in node.args[0])
            return _fixed(f"DROP AGGREGATE {name}({args})")  # named in its schema (creation_schema)
    if node.kind == OT.OBJECT_OPERATOR:
        return _operator(node, what)
    raise _Manual(f"no inverse is known for {what!r}")


def _operator(node: ast.DefineStmt, what: str) -> Step:
    args = {d.defname.lower(): d.arg for d in node.definition or () if isinstance(d, ast.DefElem)}
    if "commutator" in args or "negator" in args:
        # one not there yet is made as a shell operator, which dropping this one leaves behind
        raise _Manual(f"{what!r} names a COMMUTATOR or NEGATOR, which it may create as a shell operator")
    left, right = (deparse(args[k]) if k in args else "NONE" for k in ("leftarg", "rightarg"))
    *schema, op = _strs(node.defnames)  # an operator's own name is symbols, never quoted
    return _fixed(f"DROP OPERATOR {''.join(ident(s) + '.' for s in schema)}{op} ({left}, {right})")


def _create_domain(node: ast.CreateDomainStmt, what: str) -> Step:
    return _fixed(f"DROP DOMAIN {_names(node.domainname)}")


def _alter_enum(node: ast.AlterEnumStmt, what: str) -> Step:
    if node.oldVal is None:
        # PostgreSQL has no statement that removes an enum value: the whole migration is manual
        manual = Inverse(manual=f"{what!r} adds an enum value, which PostgreSQL cannot remove")
        if not node.skipIfNewValExists:
            return Step(manual)
        name = _names(node.typeName)
        return _read("SELECT 1 FROM pg_catalog.pg_enum WHERE enumtypid = pg_catalog.to_regtype(%s) AND enumlabel = %s",
                     (name, node.newVal), lambda rows: NOTHING if rows else manual,
                     f"nothing to undo if {name} has the value already (read when applied)")
    return _fixed(f"ALTER TYPE {_names(node.typeName)} RENAME VALUE {literal(node.newVal)} TO {literal(node.oldVal)}")


def _alter_domain(node: ast.AlterDomainStmt, what: str) -> Step:
    name = _names(node.typeName)
    query = """SELECT pg_catalog.format_type(t.oid, NULL), t.typdefault, t.typnotnull,
      (SELECT pg_catalog.json_object_agg(c.conname, pg_catalog.json_build_array(pg_catalog.pg_get_constraintdef(c.oid),
          pg_catalog.obj_description(c.oid, 'pg_constraint'), c.convalidated))
       FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n')
    FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.to_regtype(%s) AND t.typtype = 'd'"""

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse(manual=f"{what!r}: domain {name} was not found")
        qname, default, notnull, cons = rows[0]
        cons = cons or {}
        sub = node.subtype
        if sub == "T":
            return Inverse((f"ALTER DOMAIN {qname} {'DROP DEFAULT' if default is None else 'SET DEFAULT ' + default}",))
        if sub in ("N", "O"):
            if notnull == (sub == "O"):
                return NOTHING
            return Inverse((f"ALTER DOMAIN {qname} {'SET' if notnull else 'DROP'} NOT NULL",))
        if sub == "C" and isinstance(node.def_, ast.Constraint):
            new = node.def_.conname
            if not new:
                return Inverse(manual=f"{what!r}: give the constraint a name to make it reversible")
            return Inverse((f"ALTER DOMAIN {qname} DROP CONSTRAINT {ident(new)}",))
        if sub == "X" and node.behavior != enums.DropBehavior.DROP_CASCADE:
            con = cons.get(node.name)
            if con is None:
                return NOTHING if node.missing_ok else Inverse(manual=f"{what!r}: constraint not found")
            return Inverse((f"ALTER DOMAIN {qname} ADD CONSTRAINT {ident(node.name)} {con[0]}",
                            *_comment(f"CONSTRAINT {ident(node.name)} ON DOMAIN {qname}", con[1])))
        if sub == "V":
            con = cons.get(node.name)
            return NOTHING if con and con[2] else Inverse(manual=f"{what!r} cannot be made NOT VALID again")
        return Inverse(manual=f"no inverse is known for {what!r}")

    return _read(query, (name,), resolve, f"undo the change to domain {name} (read when applied)")


_TYPE = f"""
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname), t.typtype::text,
  (SELECT pg_catalog.json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e
   WHERE e.enumtypid = t.oid),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
     CASE WHEN a.attcollation <> at.typcollation THEN (
       SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
       WHERE co.oid = a.attcollation) END) ORDER BY a.attnum)
   FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
   WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
  pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typdefault, t.typnotnull,
  CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN (
       SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
       WHERE co.oid = t.typcollation) END,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(c.conname, pg_catalog.pg_get_constraintdef(c.oid),
     pg_catalog.obj_description(c.oid, 'pg_constraint')) ORDER BY c.conname)
   FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n'),
  pg_catalog.obj_description(t.oid, 'pg_type'),
  {_acl_json('t.typacl', "'T'", 't.typowner')}, {_acl_json('', "'T'", 't.typowner', default=True)},
  {_owner_unless_me('t.typowner')}
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
WHERE t.oid = pg_catalog.to_regtype(%s)"""


def _type_sql(rows: list[tuple]) -> list[str] | str:
    (qname, typtype, labels, attributes, base, default, notnull, collation, constraints, comment,
     acl, default_acl, owner) = rows[0]
    if typtype == "e":
        out = [f"CREATE TYPE {qname} AS ENUM ({', '.join(literal(label) for label in labels or [])})"]
    elif typtype == "c":
        cols = [f"{ident(a)} {t}{' COLLATE ' + c if c else ''}" for a, t, c in attributes or []]
        out = [f"CREATE TYPE {qname} AS ({', '.join(cols)})"]
    elif typtype == "d":
        sql = f"CREATE DOMAIN {qname} AS {base}"
        sql += f" COLLATE {collation}" if collation else ""
        sql += f" DEFAULT {default}" if default is not None else ""
        sql += " NOT NULL" if notnull else ""
        for name, definition, _ in constraints or []:
            sql += f" CONSTRAINT {ident(name)} {definition}"
        out = [sql]
        for name, _, text in constraints or []:
            out += _comment(f"CONSTRAINT {ident(name)} ON DOMAIN {qname}", text)
    else:
        return f"type {qname} is neither an enum, a composite type nor a domain"
    word = "DOMAIN" if typtype == "d" else "TYPE"
    return (out + _comment(f"{word} {qname}", comment) + _owner(f"{word} {qname}", owner)
            + _acl_restore(f"{word} {qname}", acl, default_acl))
