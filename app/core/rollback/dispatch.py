"""Which handler undoes which statement, and the plan of a whole file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from pglast import ast, enums

from app.core.rollback.alter_table import _alter_table
from app.core.rollback.comments import _comment_on
from app.core.rollback.created import Created
from app.core.rollback.creation_schema import CreationSchema
from app.core.rollback.do_blocks import do_step
from app.core.rollback.drops import _drop
from app.core.rollback.inserted_rows import seed_or_selected, selected_step
from app.core.rollback.model import DEFAULT_PATH, NOTHING, Inverse, Step
from app.core.rollback.names import _rv
from app.core.rollback.observed import observed_step, observed_unless
from app.core.rollback.policies import _alter_policy, _create_policy
from app.core.rollback.privileges import _alter_owner, _default_privileges, _grant, _grant_role
from app.core.rollback.queries import _DATA, _NO_EFFECT, _cluster, _copy, _explain, _select
from app.core.rollback.renames import _rename, _set_schema
from app.core.rollback.routines import _alter_function, _create_function
from app.core.rollback.schemas import _alter_publication, _create_extension, _create_schema, _simple_drop
from app.core.rollback.search_path import _path_change, _under_path
from app.core.rollback.seeds import insert_step
from app.core.rollback.sequence_moves import moves_sequences, sequence_step
from app.core.rollback.steps import _Manual, _manual
from app.core.rollback.tables import (
    _alter_seq,
    _create_index,
    _create_seq,
    _create_stats,
    _create_table,
    _create_table_as,
)
from app.core.rollback.triggers import _create_rule, _create_trigger
from app.core.rollback.types import _alter_domain, _alter_enum, _create_domain, _create_type, _define
from app.core.rollback.views import _create_view
from app.core.sql import Statement

AT = enums.AlterTableType
OT = enums.ObjectType
GT = enums.GrantTargetType


def step_for(st: Statement) -> Step:
    """How to undo one statement."""
    node = st.node
    what = st.first_line
    try:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(node, what)
    except _Manual as exc:
        return _manual(str(exc))
    except (LookupError, TypeError, ValueError, AttributeError) as exc:  # a parse tree shape not foreseen
        return _manual(f"no inverse could be worked out for {what!r} ({exc!r})")
    if isinstance(node, _NO_EFFECT):
        return Step(NOTHING)
    if isinstance(node, _DATA):
        return _manual(f"{what!r} changes data")
    if isinstance(node, ast.CallStmt):
        return observed_step(what, f"{what!r} calls a procedure, whose effects its text does not tell")
    return _manual(f"no inverse is known for {what!r}")


_HANDLERS: dict[type, Callable[[ast.Node, str], Step]] = {
    ast.SelectStmt: _select,
    ast.ExplainStmt: _explain,
    ast.CopyStmt: _copy,
    ast.ClusterStmt: _cluster,
    ast.CreateStmt: _create_table,
    ast.CreateForeignTableStmt: _create_table,
    ast.CreateTableAsStmt: _create_table_as,
    ast.IndexStmt: _create_index,
    ast.CreateFunctionStmt: _create_function,
    ast.ViewStmt: _create_view,
    ast.CreateSeqStmt: _create_seq,
    ast.CompositeTypeStmt: _create_type,
    ast.CreateEnumStmt: _create_type,
    ast.CreateRangeStmt: _create_type,
    ast.DefineStmt: _define,
    ast.CreateDomainStmt: _create_domain,
    ast.CreateTrigStmt: _create_trigger,
    ast.CreatePolicyStmt: _create_policy,
    ast.CreateSchemaStmt: _create_schema,
    ast.CreateExtensionStmt: _create_extension,
    ast.CreateStatsStmt: _create_stats,
    ast.RuleStmt: _create_rule,
    ast.CreateEventTrigStmt: _simple_drop("EVENT TRIGGER", "trigname"),
    ast.CreatePublicationStmt: _simple_drop("PUBLICATION", "pubname"),
    ast.AlterTableStmt: _alter_table,
    ast.RenameStmt: _rename,
    ast.AlterEnumStmt: _alter_enum,
    ast.AlterObjectSchemaStmt: _set_schema,
    ast.DropStmt: _drop,
    ast.CommentStmt: _comment_on,
    ast.GrantStmt: _grant,
    ast.GrantRoleStmt: _grant_role,
    ast.AlterDefaultPrivilegesStmt: _default_privileges,
    ast.AlterFunctionStmt: _alter_function,
    ast.AlterPublicationStmt: _alter_publication,
    ast.AlterPolicyStmt: _alter_policy,
    ast.AlterSeqStmt: _alter_seq,
    ast.AlterDomainStmt: _alter_domain,
    ast.AlterOwnerStmt: _alter_owner,
    ast.DoStmt: lambda node, what: _do(node, what),
}


def _do(node: ast.DoStmt, what: str, last: bool = False) -> Step:
    """A DO block planned from its statements; one that cannot be (a loop, EXECUTE): from what it adds
    (`last`: the file's last statement, after which nothing depends on the search_path it leaves)."""
    try:
        return do_step(node, what)
    except _Manual as exc:
        return observed_step(what, str(exc), last)


def _validates_own_constraint(node: ast.Node, added: set[tuple[str, str]]) -> bool:
    """ALTER TABLE ... VALIDATE CONSTRAINT of constraints added earlier in the same file.

    The NOT VALID then VALIDATE pattern: dropping the constraint undoes both.
    """
    if not isinstance(node, ast.AlterTableStmt) or not node.cmds:
        return False
    return all(isinstance(c, ast.AlterTableCmd) and c.subtype == AT.AT_ValidateConstraint
               and (_rv(node.relation), c.name) in added for c in node.cmds)


def _added_constraints(node: ast.Node) -> list[tuple[str, str]]:
    if not isinstance(node, ast.AlterTableStmt):
        return []
    return [(_rv(node.relation), c.def_.conname) for c in node.cmds or ()
            if isinstance(c, ast.AlterTableCmd) and c.subtype == AT.AT_AddConstraint
            and isinstance(c.def_, ast.Constraint) and c.def_.conname]


def plan_steps(statements: Sequence[Statement]) -> list[Step]:
    """One Step per statement, in file order."""
    changes = {i: _path_change(st.node) for i, st in enumerate(statements)}
    steps: list[Step] = []
    path = DEFAULT_PATH
    added: set[tuple[str, str]] = set()
    created = Created()
    schema = CreationSchema()
    moves_path = any(changes.values())
    for i, st in enumerate(statements):
        if path == "unknown":
            step = _manual(f"{st.first_line!r} runs after search_path was set to a value read at run time")
        elif _validates_own_constraint(st.node, added):
            step = Step(NOTHING)
        elif created.only_touches(st.node):
            step = Step(NOTHING)  # the rollback drops what it touches, and this goes with it
        else:
            step = (_data_or_select(st, created, i == len(statements) - 1) or schema.step(st, step_for)
                    or step_for(st))
            if moves_path:
                step = _under_path(step, path)
        if (isinstance(st.node, ast.CreateStmt) and st.node.if_not_exists and st.node.relation.relpersistence == "p"
                and step.read is not None):
            step = _noting(step, created.maybe_cell(st.node.relation))
        added.update(_added_constraints(st.node))
        created.track(st.node)
        schema.forget_unless_kept(st.node, bool(changes[i]))
        steps.append(step)
        if changes[i] or _may_rename(st.node, step):
            # names the file created mean the same objects only while search_path stays put and nothing
            # unseen renames or drops them: what a later statement names may be something else
            created = Created()
        path = changes[i] or path
    return steps


def _insert(node: ast.InsertStmt, what: str) -> Step | None:
    """An INSERT into a table that was there: by the constants it gives, else by the rows read after it."""
    seed, selected = insert_step(node, what), selected_step(node, what)
    if seed is not None and selected is not None:
        return seed_or_selected(seed, selected)
    return seed or selected


def _noting(step: Step, cell: list[bool]) -> Step:
    """A CREATE TABLE IF NOT EXISTS step that notes in `cell` whether it created the table (its inverse drops it)."""
    assert step.read is not None
    read = step.read

    def resolve(rows: list[tuple]) -> Inverse:
        inverse = read.resolve(rows)
        cell[0] = bool(inverse.sql) and not inverse.manual
        return inverse

    return Step(inverse=step.inverse, read=replace(read, resolve=resolve), after=step.after)


def _may_rename(node: ast.Node, step: Step) -> bool:
    """A statement whose text does not tell what it does (a DO block, CALL, a SELECT that calls functions)."""
    return isinstance(node, ast.DoStmt | ast.CallStmt) or (
        isinstance(node, ast.SelectStmt) and step.read is not None and not moves_sequences(node))


def _data_or_select(st: Statement, created: Created, last: bool) -> Step | None:
    """The step of a data change on what the file created, or of a SELECT (which may call functions)."""
    try:
        if isinstance(st.node, ast.DoStmt):
            return _do(st.node, st.first_line, last)
        if isinstance(st.node, ast.SelectStmt) and st.node.intoClause is None:
            if moves_sequences(st.node):
                return sequence_step(st.node, st.first_line, created)
            step = created.select_step(st.node, st.first_line)
            if step.read is None:
                return step
            return observed_unless(step, st.first_line, last)
        seed = _insert(st.node, st.first_line) if isinstance(st.node, ast.InsertStmt) else None
        step = created.data_step(st.node, st.first_line, otherwise=seed)
        return seed if step is None else step
    except (LookupError, TypeError, ValueError, AttributeError) as exc:  # a parse tree shape not foreseen
        return _manual(f"no inverse could be worked out for {st.first_line!r} ({exc!r})")
