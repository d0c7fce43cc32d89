"""search_path: which path each inverse must run under when the file changes it."""

from __future__ import annotations

import copy
from dataclasses import replace

from pglast import ast, enums

from app.core.rollback.model import DEFAULT_PATH, CatalogRead, Inverse, Step
from app.core.rollback.names import _strs, deparse, literal

VK = enums.VariableSetKind


def _path_change(node: ast.Node) -> str | None:
    """The statement that re-establishes the search_path this statement sets, DEFAULT_PATH, or None."""
    if isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() == "search_path":
        if node.kind == VK.VAR_SET_VALUE:
            return deparse(replace_node(node, is_local=False))
        return DEFAULT_PATH
    if isinstance(node, ast.VariableSetStmt) and node.kind == VK.VAR_RESET_ALL:
        return DEFAULT_PATH
    if isinstance(node, ast.SelectStmt):
        for target in node.targetList or ():
            call = getattr(target, "val", None)
            if (isinstance(call, ast.FuncCall) and _strs(call.funcname)[-1:] == ["set_config"] and call.args
                    and isinstance(call.args[0], ast.A_Const) and getattr(call.args[0].val, "sval", None)
                    == "search_path"):
                value = call.args[1]
                if isinstance(value, ast.A_Const) and isinstance(value.val, ast.String):
                    return f"SELECT pg_catalog.set_config('search_path', {literal(value.val.sval)}, false)"
                return "unknown"
    return None


def replace_node(node: ast.Node, **changes: object) -> ast.Node:
    """A copy of a parse node with some attributes changed."""
    out = copy.deepcopy(node)
    for k, v in changes.items():
        setattr(out, k, v)
    return out


def _under_path(step: Step, path: str) -> Step:
    """The step with its inverse marked to run under `path`."""
    def mark(inv: Inverse) -> Inverse:
        return replace(inv, search_path=path) if inv.sql and not inv.manual else inv

    def wrap(read: CatalogRead) -> CatalogRead:
        def settle(names: frozenset[str]) -> Step | None:
            step = read.settle(names) if read.settle is not None else None
            return None if step is None else _under_path(step, path)

        return replace(read, resolve=lambda rows: mark(read.resolve(rows)),
                       settle=settle if read.settle is not None else None)

    return Step(
        mark(step.inverse) if step.inverse is not None else None,
        wrap(step.read) if step.read is not None else None,
        (lambda rows: wrap(step.after(rows))) if step.after is not None else None,
    )
