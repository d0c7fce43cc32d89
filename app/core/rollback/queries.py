"""Statements that leave the catalog alone (settings, queries, COPY TO...) or change data."""

from __future__ import annotations

from pglast import ast

from app.core.rollback.created import query_step
from app.core.rollback.model import NOTHING, Inverse, Step
from app.core.rollback.names import _rv
from app.core.rollback.search_path import replace_node
from app.core.rollback.steps import _Manual

_NO_EFFECT = (
    ast.VariableSetStmt, ast.VariableShowStmt, ast.LockStmt, ast.NotifyStmt, ast.ListenStmt, ast.UnlistenStmt,
    ast.CheckPointStmt, ast.DiscardStmt, ast.DeclareCursorStmt, ast.FetchStmt, ast.ClosePortalStmt,
    ast.PrepareStmt, ast.DeallocateStmt, ast.VacuumStmt, ast.ReindexStmt, ast.RefreshMatViewStmt,
    ast.TransactionStmt, ast.LoadStmt,
)


_DATA = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.TruncateStmt, ast.MergeStmt)


def _select(node: ast.SelectStmt, what: str) -> Step:
    """SELECT INTO: dropping the table it made (a plain SELECT is planned in `created`, which knows the file)."""
    if node.intoClause is not None:
        rv = node.intoClause.rel
        drop = Inverse(() if rv.relpersistence == "t" else (f"DROP TABLE {_rv(rv)}",))
        return query_step(replace_node(node, intoClause=None), what, drop)
    return query_step(node, what, NOTHING)


def _explain(node: ast.ExplainStmt, what: str) -> Step:
    analyze = any(isinstance(o, ast.DefElem) and o.defname == "analyze" for o in node.options or ())
    if analyze and not isinstance(node.query, ast.SelectStmt):
        raise _Manual(f"{what!r} runs the statement it explains")
    return Step(NOTHING)


def _cluster(node: ast.ClusterStmt, what: str) -> Step:
    if node.indexname:
        raise _Manual(f"{what!r} marks an index as the table's clustering index")
    return Step(NOTHING)  # reorders rows along the index already marked: the catalog stays


def _copy(node: ast.CopyStmt, what: str) -> Step:
    if node.is_from:
        raise _Manual(f"{what!r} loads data")
    return Step(NOTHING)
