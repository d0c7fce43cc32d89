"""GRANT, REVOKE, default privileges, role membership and owners: the previous ones read back."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from pglast import ast, enums

from app.core.rollback.model import Inverse, Step
from app.core.rollback.names import _names, _owa_oid, _rv, deparse, ident
from app.core.rollback.steps import _QNAME, _Manual, _read

OT = enums.ObjectType
RS = enums.RoleSpecType


_GRANT_KIND = {
    OT.OBJECT_TABLE: "TABLE", OT.OBJECT_SEQUENCE: "SEQUENCE", OT.OBJECT_FUNCTION: "FUNCTION",
    OT.OBJECT_PROCEDURE: "PROCEDURE", OT.OBJECT_ROUTINE: "ROUTINE", OT.OBJECT_SCHEMA: "SCHEMA",
    OT.OBJECT_TYPE: "TYPE", OT.OBJECT_DOMAIN: "DOMAIN",
}


_REL_ACL = """
SELECT %s::int, CASE WHEN c.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || {qname}, g.name,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.privilege_type, a.is_grantable))
   FROM pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault(
     CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a WHERE a.grantee = g.oid),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(p.privilege_type, p.is_grantable, at.attname))
   FROM pg_catalog.pg_attribute at, pg_catalog.aclexplode(at.attacl) p
   WHERE at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped AND p.grantee = g.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, g
WHERE {where}"""


_OBJ_ACL = """
SELECT %s::int, '{word} ' || {qname}, g.name,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.privilege_type, a.is_grantable))
   FROM pg_catalog.aclexplode(coalesce(o.{acl}, pg_catalog.acldefault('{kind}', o.{owner}))) a WHERE a.grantee = g.oid),
  NULL::json
FROM pg_catalog.{catalog} o JOIN pg_catalog.pg_namespace n ON n.oid = o.{nsp}, g
WHERE {where}"""


def _grant(node: ast.GrantStmt, what: str) -> Step:
    kind = _GRANT_KIND.get(node.objtype)
    if kind is None:
        raise _Manual(f"no inverse is known for {what!r}")
    if not node.is_grant and node.behavior == enums.DropBehavior.DROP_CASCADE:
        raise _Manual(f"{what!r} revokes dependent privileges too (CASCADE)")
    grantees, gparams = _roles_sql(node.grantees)
    parts, params = [], []
    for i, obj in enumerate(node.objects or ()):
        if node.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
            schema = obj.sval
            if node.objtype in (OT.OBJECT_TABLE, OT.OBJECT_SEQUENCE):
                kinds = "('S')" if node.objtype == OT.OBJECT_SEQUENCE else "('r', 'p', 'v', 'm', 'f')"
                parts.append(_REL_ACL.format(qname=_QNAME, where=f"n.nspname = %s AND c.relkind IN {kinds}"))
            else:
                prokinds = {"FUNCTION": "('f', 'a', 'w')", "PROCEDURE": "('p')", "ROUTINE": "('f', 'a', 'w', 'p')"}
                if kind not in prokinds:
                    raise _Manual(f"no inverse is known for {what!r}")
                parts.append(_OBJ_ACL.format(
                    word=kind, qname=_FUNC_QNAME, acl="proacl", kind="f", owner="proowner", catalog="pg_proc",
                    nsp="pronamespace",
                    where=f"n.nspname = %s AND o.prokind IN {prokinds[kind]}"))
            params += [i, schema]
        elif kind in ("TABLE", "SEQUENCE"):
            parts.append(_REL_ACL.format(qname=_QNAME, where="c.oid = pg_catalog.to_regclass(%s)"))
            params += [i, _rv(obj)]
        elif kind in ("FUNCTION", "PROCEDURE", "ROUTINE"):
            lookup, lparams = _owa_oid(obj)
            parts.append(_OBJ_ACL.format(word=kind, qname=_FUNC_QNAME, acl="proacl", kind="f", owner="proowner",
                                         catalog="pg_proc", nsp="pronamespace", where=f"o.oid = {lookup}"))
            params += [i, *lparams]
        elif kind == "SCHEMA":
            parts.append(_OBJ_ACL.format(word=kind, qname="pg_catalog.quote_ident(n.nspname)", acl="nspacl", kind="n",
                                         owner="nspowner", catalog="pg_namespace", nsp="oid",
                                         where="o.oid = pg_catalog.to_regnamespace(%s)"))
            params += [i, ident(obj.sval)]
        else:  # TYPE, DOMAIN
            parts.append(_OBJ_ACL.format(
                word=kind, qname="pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.typname)",
                acl="typacl",
                kind="T", owner="typowner", catalog="pg_type", nsp="typnamespace",
                where="o.oid = pg_catalog.to_regtype(%s)"))
            params += [i, deparse(obj)]
    query = f"WITH g(oid, name) AS ({grantees}) " + " UNION ALL ".join(parts)
    privs = [p for p in node.privileges or ()] if node.privileges else None

    def resolve(rows: list[tuple]) -> Inverse:
        out: list[str] = []
        for _, target, grantee, privileges, columns in rows:
            obj = target  # with its kind: TABLE x, SEQUENCE s, FUNCTION f(int)...
            if node.is_grant:
                # take away what the statement gave, then give back what was there before
                if privs is None:
                    out.append(f"REVOKE ALL ON {obj} FROM {grantee}")
                else:
                    for p in privs:
                        cols = f" ({', '.join(ident(c.sval) for c in p.cols)})" if p.cols else ""
                        out.append(f"REVOKE {p.priv_name.upper()}{cols} ON {obj} FROM {grantee}")
            for priv, grantable in privileges or []:
                out.append(f"GRANT {priv} ON {obj} TO {grantee}{' WITH GRANT OPTION' if grantable else ''}")
            for priv, grantable, col in columns or []:
                out.append(f"GRANT {priv} ({ident(col)}) ON {obj} TO {grantee}"
                           f"{' WITH GRANT OPTION' if grantable else ''}")
        return Inverse(tuple(out))

    return _read(query, tuple(gparams + params), resolve, "restore the previous privileges (read when applied)")


def _roles_sql(roles: Sequence[ast.RoleSpec] | None) -> tuple[str, list]:
    """SQL giving (oid, quoted name) of each role named in a statement (PUBLIC is oid 0), and its params."""
    parts, params = [], []
    for g in roles or ():
        if g.roletype == RS.ROLESPEC_PUBLIC:
            parts.append("SELECT 0::oid, 'PUBLIC'")
        elif g.roletype == RS.ROLESPEC_CSTRING:
            parts.append("SELECT oid, pg_catalog.quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname = %s")
            params.append(g.rolename)
        else:
            fn = "session_user" if g.roletype == RS.ROLESPEC_SESSION_USER else "current_user"
            parts.append(f"SELECT oid, pg_catalog.quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname = {fn}")
    return " UNION ALL ".join(parts), params


_DEFAULT_KINDS = {  # object type: (pg_default_acl.defaclobjtype, acldefault kind, keyword)
    OT.OBJECT_TABLE: ("r", "r", "TABLES"), OT.OBJECT_SEQUENCE: ("S", "s", "SEQUENCES"),
    OT.OBJECT_FUNCTION: ("f", "f", "FUNCTIONS"), OT.OBJECT_ROUTINE: ("f", "f", "ROUTINES"),
    OT.OBJECT_TYPE: ("T", "T", "TYPES"), OT.OBJECT_SCHEMA: ("n", "n", "SCHEMAS"),
}


_DEFAULT_ACL = """
WITH g(oid, name) AS ({grantees}), r(oid, name) AS ({roles}),
  s(nsp) AS (SELECT pg_catalog.unnest(%s::text[]))
SELECT r.name, s.nsp, g.name,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.privilege_type, a.is_grantable))
   FROM pg_catalog.aclexplode(coalesce(
     (SELECT d.defaclacl FROM pg_catalog.pg_default_acl d WHERE d.defaclrole = r.oid AND d.defaclobjtype = %s
        AND d.defaclnamespace = coalesce((SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = s.nsp), 0)),
     CASE WHEN s.nsp IS NULL THEN pg_catalog.acldefault(%s, r.oid) END)) a WHERE a.grantee = g.oid)
FROM r, s, g"""


def _default_privileges(node: ast.AlterDefaultPrivilegesStmt, what: str) -> Step:
    action = node.action
    kinds = _DEFAULT_KINDS.get(action.objtype)
    if kinds is None:
        raise _Manual(f"no inverse is known for {what!r}")
    if not action.is_grant and action.behavior == enums.DropBehavior.DROP_CASCADE:
        raise _Manual(f"{what!r} revokes dependent privileges too (CASCADE)")
    objtype, aclkind, word = kinds
    options = {o.defname: o.arg for o in node.options or () if isinstance(o, ast.DefElem)}
    roles = list(options.get("roles") or ())
    schemas = [n.sval for n in options.get("schemas") or ()] or [None]
    grantees, gparams = _roles_sql(action.grantees)
    rsql, rparams = _roles_sql(roles or [ast.RoleSpec(roletype=RS.ROLESPEC_CURRENT_USER)])
    query = _DEFAULT_ACL.format(grantees=grantees, roles=rsql)
    privs = list(action.privileges or ()) or None

    def resolve(rows: list[tuple]) -> Inverse:
        out: list[str] = []
        for role, schema, grantee, privileges in rows:
            head = f"ALTER DEFAULT PRIVILEGES FOR ROLE {role}{' IN SCHEMA ' + ident(schema) if schema else ''}"
            if action.is_grant:
                what_ = "ALL" if privs is None else ", ".join(p.priv_name.upper() for p in privs)
                out.append(f"{head} REVOKE {what_} ON {word} FROM {grantee}")
            for priv, grantable in privileges or []:
                out.append(f"{head} GRANT {priv} ON {word} TO {grantee}{' WITH GRANT OPTION' if grantable else ''}")
        return Inverse(tuple(out))

    return _read(query, (*gparams, *rparams, schemas, objtype, aclkind), resolve,
                 "restore the previous default privileges (read when applied)")


_FUNC_QNAME = ("pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.proname) || '(' "
               "|| pg_catalog.oidvectortypes(o.proargtypes) || ')'")


def _grant_role(node: ast.GrantRoleStmt, what: str) -> Step:
    if not node.is_grant or node.opt:
        raise _Manual(f"no inverse is known for {what!r}")
    roles = [r.priv_name for r in node.granted_roles or ()]
    members = [m for m in node.grantee_roles or () if m.roletype == RS.ROLESPEC_CSTRING]
    if len(members) != len(node.grantee_roles or ()):
        raise _Manual(f"no inverse is known for {what!r}")
    query = ("SELECT r.rolname, m.rolname FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles r "
             "ON r.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member "
             "WHERE r.rolname = ANY(%s) AND m.rolname = ANY(%s)")

    def resolve(rows: list[tuple]) -> Inverse:
        had = set(rows)
        return Inverse(tuple(f"REVOKE {ident(r)} FROM {ident(m.rolename)}" for r in roles for m in members
                             if (r, m.rolename) not in had))

    return _read(query, (roles, [m.rolename for m in members]), resolve,
        "revoke the new role memberships (read when applied)")


_OWNER_LOOKUP = {
    OT.OBJECT_FUNCTION: ("pg_proc", "proowner", ""),
    OT.OBJECT_PROCEDURE: ("pg_proc", "proowner", ""),
    OT.OBJECT_ROUTINE: ("pg_proc", "proowner", ""),
    OT.OBJECT_TYPE: ("pg_type", "typowner", "to_regtype"),
    OT.OBJECT_DOMAIN: ("pg_type", "typowner", "to_regtype"),
    OT.OBJECT_SCHEMA: ("pg_namespace", "nspowner", "to_regnamespace"),
}


def _alter_owner(node: ast.AlterOwnerStmt, what: str) -> Step:
    look = _OWNER_LOOKUP.get(node.objectType)
    if look is None:
        raise _Manual(f"no inverse is known for {what!r}")
    catalog, column, fn = look
    obj = node.object
    if isinstance(obj, ast.ObjectWithArgs):
        lookup, params = _owa_oid(obj)
    else:
        lookup, params = f"pg_catalog.{fn}(%s)", (ident(obj.sval) if isinstance(obj, ast.String) else _names(obj),)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows or rows[0][0] is None:
            return Inverse(manual=f"{what!r}: the object was not found")
        inv = copy.deepcopy(node)
        inv.newowner = ast.RoleSpec(roletype=RS.ROLESPEC_CSTRING, rolename=rows[0][0])
        return Inverse((deparse(inv),))

    return _read(f"SELECT pg_catalog.pg_get_userbyid({column}) FROM pg_catalog.{catalog} "
                 f"WHERE oid = {lookup}", params, resolve, "restore the previous owner (read when applied)")
