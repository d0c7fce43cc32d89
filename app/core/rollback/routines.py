"""Functions and procedures: their definitions, read back to restore or recreate them."""

from __future__ import annotations

from pglast import ast

from app.core.rollback.model import Inverse, Step
from app.core.rollback.names import _create_oid, _create_signature, _names, _owa_oid, _signature
from app.core.rollback.steps import _fixed, _read

_FUNCTION = """
SELECT pg_catalog.pg_get_functiondef(p.oid), p.pronargdefaults, p.prokind::text
FROM pg_catalog.pg_proc p WHERE p.oid = {lookup}"""


def _create_function(node: ast.CreateFunctionStmt, what: str) -> Step:
    kind = "PROCEDURE" if node.is_procedure else "FUNCTION"
    sig = _create_signature(node.funcname, node.parameters)
    drop = f"DROP {kind} {sig}"
    if not node.replace:
        return _fixed(drop)
    new_defaults = sum(1 for p in node.parameters or () if isinstance(p, ast.FunctionParameter) and p.defexpr)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse((drop,))
        definition, old_defaults, _ = rows[0]
        if new_defaults > old_defaults:
            return Inverse(manual=f"{what!r} adds parameter defaults, which CREATE OR REPLACE cannot take away")
        return Inverse((definition,))

    lookup, params = _create_oid(node.funcname, node.parameters)
    return _read(_FUNCTION.format(lookup=lookup), params, resolve,
        f"restore the previous definition of {sig}, or drop it (read when applied)")


_DROP_FUNCTION = """
SELECT pg_catalog.pg_get_functiondef(p.oid), p.prokind::text,
  pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')',
  pg_catalog.obj_description(p.oid, 'pg_proc'), {acl}, {default}, {owner}
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid = {lookup}"""


def _alter_function(node: ast.AlterFunctionStmt, what: str) -> Step:
    sig = _signature(node.func) or _names(node.func.objname)
    lookup, params = _owa_oid(node.func)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse(manual=f"{what!r}: the function was not found")
        return Inverse((rows[0][0],))

    return _read(f"SELECT pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p WHERE p.oid = {lookup}",
                 params, resolve, f"restore the previous definition of {sig} (read when applied)")
