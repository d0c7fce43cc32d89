"""Schemas, extensions, publications and event triggers."""

from __future__ import annotations

from collections.abc import Callable

from pglast import ast, enums

from app.core.rollback.model import Step
from app.core.rollback.names import _rv, ident
from app.core.rollback.steps import _acl_json, _acl_restore, _comment, _fixed, _Manual, _unless_exists

RS = enums.RoleSpecType


def _create_schema(node: ast.CreateSchemaStmt, what: str) -> Step:
    name = node.schemaname
    if name is None:
        if node.authrole is None or node.authrole.roletype != RS.ROLESPEC_CSTRING:
            raise _Manual(f"{what!r}: the schema's name depends on the role running it")
        name = node.authrole.rolename
    drop = (f"DROP SCHEMA {ident(name)}{' CASCADE' if node.schemaElts else ''}",)
    if node.if_not_exists:
        return _unless_exists("pg_catalog.to_regnamespace(%s) IS NOT NULL", (ident(name),), drop, f"schema {name}")
    return _fixed(*drop)


_SCHEMA = f"""
SELECT pg_catalog.quote_ident(n.nspname), pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(n.nspowner)),
  pg_catalog.obj_description(n.oid, 'pg_namespace'), {_acl_json('n.nspacl', "'n'", 'n.nspowner')},
  {_acl_json('', "'n'", 'n.nspowner', default=True)},
  EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl d WHERE d.defaclnamespace = n.oid)
FROM pg_catalog.pg_namespace n WHERE n.oid = pg_catalog.to_regnamespace(%s)"""


def _schema_sql(rows: list[tuple]) -> list[str] | str:
    name, owner, comment, acl, default, has_default_privileges = rows[0]
    if has_default_privileges:
        return f"schema {name} has default privileges, which dropping it loses"
    return [f"CREATE SCHEMA {name} AUTHORIZATION {owner}", *_comment(f"SCHEMA {name}", comment),
            *_acl_restore(f"SCHEMA {name}", acl, default)]


def _create_extension(node: ast.CreateExtensionStmt, what: str) -> Step:
    if any(isinstance(o, ast.DefElem) and o.defname == "cascade" for o in node.options or ()):
        raise _Manual(f"{what!r} may install other extensions (CASCADE)")
    drop = (f"DROP EXTENSION {ident(node.extname)}",)
    if node.if_not_exists:
        return _unless_exists("EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = %s)",
                              (node.extname,), drop, f"extension {node.extname}")
    return _fixed(*drop)


def _simple_drop(kind: str, attr: str) -> Callable[[ast.Node, str], Step]:
    def handler(node: ast.Node, what: str) -> Step:
        if getattr(node, "if_not_exists", False) or getattr(node, "replace", False):
            raise _Manual(f"{what!r} may meet an existing object")
        return _fixed(f"DROP {kind} {ident(getattr(node, attr))}")
    return handler


def _alter_publication(node: ast.AlterPublicationStmt, what: str) -> Step:
    tables = [o.pubtable.relation for o in node.pubobjects or ()
              if isinstance(o, ast.PublicationObjSpec) and o.pubtable is not None]
    if node.action != enums.AlterPublicationAction.AP_AddObjects or not tables or node.options \
            or len(tables) != len(node.pubobjects):
        raise _Manual(f"no inverse is known for {what!r}")
    # adding a table already published fails, so each one was not there before
    return _fixed(f"ALTER PUBLICATION {ident(node.pubname)} DROP TABLE {', '.join(_rv(t) for t in tables)}")
