"""SQL text and names: deparsing, quoting, qualified names, functions found by signature."""

from __future__ import annotations

from collections.abc import Sequence

from pglast import ast, enums, keywords
from pglast.stream import RawStream

PM = enums.FunctionParameterMode
RS = enums.RoleSpecType


def deparse(node: ast.Node) -> str:
    """SQL text of a parse node."""
    return RawStream()(node)


_KEYWORDS = keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS | keywords.COL_NAME_KEYWORDS


def ident(name: str) -> str:
    """A quoted identifier, as PostgreSQL's quote_ident would write it (keywords quoted too)."""
    if (name and (name[0].isalpha() or name[0] == "_") and name.replace("_", "a").replace("$", "a").isalnum()
            and name.islower() and name.isascii() and name not in _KEYWORDS):
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal (standard_conforming_strings is on since PostgreSQL 9.1)."""
    return "'" + text.replace("'", "''") + "'"


def _rv(rv: ast.RangeVar) -> str:
    return f"{ident(rv.schemaname)}.{ident(rv.relname)}" if rv.schemaname else ident(rv.relname)


def _names(names: Sequence[ast.Node] | None) -> str:
    return ".".join(ident(n.sval) for n in names or () if isinstance(n, ast.String))


def _strs(names: Sequence[ast.Node] | None) -> list[str]:
    return [n.sval for n in names or () if isinstance(n, ast.String)]


def _signature(owa: ast.ObjectWithArgs) -> str | None:
    """`name(type, ...)` of a function reference, None when its arguments are not written."""
    if owa.args_unspecified:
        return None
    return f"{_names(owa.objname)}({', '.join(deparse(t) for t in owa.objargs or ())})"


def _create_signature(name: Sequence[ast.Node], params: Sequence[ast.Node] | None) -> str:
    """The identity signature of a function being created: IN, INOUT and VARIADIC arguments only."""
    types = [
        deparse(p.argType) for p in params or ()
        if isinstance(p, ast.FunctionParameter) and p.mode not in (PM.FUNC_PARAM_OUT, PM.FUNC_PARAM_TABLE)
    ]
    return f"{_names(name)}({', '.join(types)})"


def _proc_oid(names: list[str], types: list[str] | None) -> tuple[str, tuple]:
    """SQL (a scalar subquery) and params: the oid of a function, found as the server would.

    Like to_regprocedure, but never an error (PostgreSQL before 16 raises one for an unknown
    argument type): schema-qualified, or the first schema of the session's search_path holding it.
    """
    params: list[object] = [names[-1]]
    where = "p.proname = %s"
    if len(names) > 1:
        where += " AND n.nspname = %s"
        params.append(names[-2])
    else:
        where += " AND n.nspname = ANY(pg_catalog.current_schemas(true))"
    if types is not None:
        args = ", ".join("pg_catalog.to_regtype(%s)::oid" for _ in types)
        # oidvector's text is its oids separated by spaces (an unknown type, NULL, matches nothing)
        where += f" AND p.proargtypes::text = pg_catalog.array_to_string(ARRAY[{args}]::oid[], ' ', '-')"
        params.extend(types)
    return (f"(SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE {where} ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname::text) "
            f"LIMIT 1)", tuple(params))


def _owa_oid(owa: ast.ObjectWithArgs) -> tuple[str, tuple]:
    types = None if owa.args_unspecified else [deparse(t) for t in owa.objargs or ()]
    return _proc_oid(_strs(owa.objname), types)


def _create_oid(name: Sequence[ast.Node], params: Sequence[ast.Node] | None) -> tuple[str, tuple]:
    types = [
        deparse(p.argType) for p in params or ()
        if isinstance(p, ast.FunctionParameter) and p.mode not in (PM.FUNC_PARAM_OUT, PM.FUNC_PARAM_TABLE)
    ]
    return _proc_oid(_strs(name), types)


def _role(spec: ast.RoleSpec) -> str:
    return "PUBLIC" if spec.roletype == RS.ROLESPEC_PUBLIC else deparse(spec)
