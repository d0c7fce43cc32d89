"""Rollback generation: invert a migration statement by statement, in reverse order.

The rule: the generated rollback restores the catalog exactly as it was before the
migration, or the migration is "manual". Where the earlier state matters (CREATE OR
REPLACE over an existing object, DROP of something whose definition can be read...), the
runner asks the catalog just before the statement runs, in the same transaction, through a
`CatalogRead` that this module provides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pglast import ast, enums
from pglast.stream import RawStream

from app.core.sql import Statement

OT = enums.ObjectType
AT = enums.AlterTableType


class RollbackKind(StrEnum):
    """How a migration can be undone."""

    GENERATED = "generated"
    CUSTOM = "custom"
    MANUAL = "manual"


@dataclass(frozen=True)
class Inverse:
    """The inverse of one statement: SQL to run (possibly none), or why there is none."""

    sql: tuple[str, ...] = ()
    manual: str | None = None


NOTHING = Inverse()


@dataclass(frozen=True)
class CatalogRead:
    """A catalog query run just before a statement; `resolve` turns its rows into the inverse."""

    query: str
    params: tuple
    resolve: Callable[[list[tuple]], Inverse]
    describe: str  # for dry runs: what is read


@dataclass(frozen=True)
class Step:
    """What undoing one statement needs: a fixed inverse, or a catalog read first."""

    inverse: Inverse | None = None
    read: CatalogRead | None = None


@dataclass(frozen=True)
class RollbackPlan:
    """The rollback of a whole migration."""

    kind: RollbackKind
    sql: str | None
    reason: str = ""  # why manual


def deparse(node: ast.Node) -> str:
    """SQL text of a parse node."""
    return RawStream()(node)


def ident(name: str) -> str:
    """A quoted identifier, as PostgreSQL's quote_ident would write it."""
    if name and (name[0].isalpha() or name[0] == "_") and name.replace("_", "a").isalnum() and name.islower():
        return name
    return '"' + name.replace('"', '""') + '"'


def _rv(rv: ast.RangeVar) -> str:
    return f"{ident(rv.schemaname)}.{ident(rv.relname)}" if rv.schemaname else ident(rv.relname)


def _manual(reason: str) -> Step:
    return Step(Inverse(manual=reason))


def _drop(kind: str, name: str, cascade: bool = False) -> Step:
    return Step(Inverse((f"DROP {kind} IF EXISTS {name}{' CASCADE' if cascade else ''}",)))


def step_for(st: Statement) -> Step:
    """How to undo one statement (basic cases; see `plan_steps`)."""
    node = st.node
    match node:
        case ast.CreateStmt():
            return _drop("TABLE", _rv(node.relation))
        case ast.IndexStmt() if node.idxname:
            schema = node.relation.schemaname
            name = f"{ident(schema)}.{ident(node.idxname)}" if schema else ident(node.idxname)
            return _drop("INDEX", name)
        case ast.ViewStmt() if not node.replace:
            return _drop("VIEW", _rv(node.view))
        case ast.AlterTableStmt() if all(
            isinstance(c, ast.AlterTableCmd) and c.subtype == AT.AT_AddColumn for c in node.cmds or ()
        ):
            cols = [c.def_.colname for c in node.cmds]
            drops = ", ".join(f"DROP COLUMN IF EXISTS {ident(c)}" for c in reversed(cols))
            return Step(Inverse((f"ALTER TABLE {_rv(node.relation)} {drops}",)))
        case ast.SelectStmt() | ast.VariableSetStmt() | ast.LockStmt():
            return Step(NOTHING)
        case ast.InsertStmt() | ast.UpdateStmt() | ast.DeleteStmt() | ast.TruncateStmt():
            return _manual(f"{st.first_line!r} changes data")
    return _manual(f"no inverse is known for {st.first_line!r}")


def plan_steps(statements: Sequence[Statement]) -> list[Step]:
    """One Step per statement, in file order."""
    return [step_for(st) for st in statements]


def assemble(statements: Sequence[Statement], inverses: Sequence[Inverse], custom: str | None) -> RollbackPlan:
    """The migration's rollback: custom SQL if given, else the inverses in reverse order."""
    if custom:
        return RollbackPlan(RollbackKind.CUSTOM, custom)
    for st, inv in zip(statements, inverses, strict=True):
        if inv.manual:
            return RollbackPlan(RollbackKind.MANUAL, None, f"line {st.line}: {inv.manual}")
    parts = [sql for inv in reversed(inverses) for sql in inv.sql]
    return RollbackPlan(RollbackKind.GENERATED, ";\n".join(parts) + (";" if parts else ""))
