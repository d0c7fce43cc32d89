"""What the file itself creates, and the statements that touch only that: undone by undoing the creation.

`CREATE TABLE t; INSERT INTO t ...` is rolled back by dropping `t`: the rows go with it. The same
for `ALTER TABLE t ADD COLUMN c; UPDATE t SET c = ...` (dropping `c`), a sequence the file created
and moved with `setval`, and a comment, grant or index on any of them. Such a statement is exact
only when it cannot reach anything else: no trigger or rule fires, no foreign key cascades, no
function with side effects runs and no other sequence moves. The parse tree tells most of it; the
rest is read from the catalog just before the statement (the file may have added a trigger).

Names are compared as the file spells them, and everything is forgotten at a DROP, RENAME or SET
SCHEMA (a name could then mean another object), as `dispatch` does for comments and grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from pglast import ast, enums

from app.core.rollback.model import NOTHING, Inverse, Step
from app.core.rollback.names import _rv, _strs, ident
from app.core.rollback.reach import CHECK, Calls, calls_of, check_params, resolve_serials
from app.core.rollback.steps import _either, _read

OT = enums.ObjectType
GT = enums.GrantTargetType
AT = enums.AlterTableType

Key = tuple[str | None, str]  # (schema as written or None, name)

@dataclass
class Created:
    """Tables, sequences and columns the file has created so far (as it spells them)."""

    tables: set[Key] = field(default_factory=set)
    sequences: set[Key] = field(default_factory=set)
    columns: set[tuple[Key, str]] = field(default_factory=set)
    # tables of CREATE TABLE IF NOT EXISTS: whether each was created is known only when its step's
    # read resolves (before any later statement's), and is noted in its cell then
    maybe: dict[Key, list[bool]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tables or self.sequences or self.columns)

    def names(self) -> list[str]:
        """The tables and sequences created so far, as regclass text."""
        return [_text(k) for k in sorted(self.tables | self.sequences, key=str)]

    def maybe_cell(self, rv: ast.RangeVar) -> list[bool]:
        """The cell a CREATE TABLE IF NOT EXISTS step fills in (True: it created the table)."""
        cell = [False]
        self.maybe[_key_of(rv)] = cell
        return cell

    def track(self, node: ast.Node) -> None:
        """Note what a statement creates (forgetting everything at a drop, rename or move)."""
        match node:
            case ast.CreateStmt() if not node.if_not_exists and node.relation.relpersistence == "p":
                self.tables.add(_key_of(node.relation))
            case ast.CreateTableAsStmt(objtype=OT.OBJECT_TABLE | OT.OBJECT_MATVIEW) if (
                    not node.if_not_exists and node.into.rel.relpersistence == "p"):
                self.tables.add(_key_of(node.into.rel))
            case ast.SelectStmt() if node.intoClause is not None and node.intoClause.rel.relpersistence == "p":
                self.tables.add(_key_of(node.intoClause.rel))
            case ast.CreateSeqStmt() if not node.if_not_exists and node.sequence.relpersistence == "p":
                self.sequences.add(_key_of(node.sequence))
            case ast.AlterTableStmt(objtype=OT.OBJECT_TABLE):
                table = _key_of(node.relation)
                for cmd in node.cmds or ():
                    if not isinstance(cmd, ast.AlterTableCmd):
                        continue
                    if cmd.subtype == AT.AT_AddColumn and not cmd.missing_ok and not node.missing_ok:
                        self.columns.add((table, cmd.def_.colname))
                    elif cmd.subtype == AT.AT_DropColumn:
                        self.columns.discard((table, cmd.name))
            case ast.DropStmt() | ast.RenameStmt() | ast.AlterObjectSchemaStmt():
                self.tables.clear()
                self.sequences.clear()
                self.columns.clear()
                self.maybe.clear()

    def only_touches(self, node: ast.Node) -> bool:
        """A comment, row-level-security flag, grant or index on objects the same file created.

        Their rollback drops those objects, and comments, flags, privileges and indexes go with
        them, so nothing needs reading. (Not OWNER TO: the old owner must be back before the DROP.)
        """
        if not self:
            return False
        match node:
            case ast.CommentStmt(objtype=OT.OBJECT_TABLE | OT.OBJECT_SEQUENCE):
                names = _strs(node.object)
                return (_key(names) in self.tables) if node.objtype == OT.OBJECT_TABLE else (
                    _key(names) in self.sequences)
            case ast.CommentStmt(objtype=OT.OBJECT_COLUMN):
                names = _strs(node.object)
                table = _key(names[:-1])
                return table in self.tables or (table, names[-1]) in self.columns
            case ast.AlterTableStmt(objtype=OT.OBJECT_TABLE):
                return bool(node.cmds) and _rv_key(node.relation) in self.tables and all(
                    isinstance(c, ast.AlterTableCmd) and c.subtype in _RLS_FLAGS for c in node.cmds)
            case ast.GrantStmt(targtype=GT.ACL_TARGET_OBJECT, objtype=OT.OBJECT_TABLE | OT.OBJECT_SEQUENCE):
                known = self.tables if node.objtype == OT.OBJECT_TABLE else self.sequences
                return bool(node.objects) and all(isinstance(o, ast.RangeVar) and _rv_key(o) in known
                                                  for o in node.objects)
            case ast.IndexStmt():
                return _rv_key(node.relation) in self.tables and not node.concurrent
        return False

    def data_step(self, node: ast.Node, what: str, otherwise: Step | None = None) -> Step | None:
        """The step for a data change that only reaches what the file created, or None if it may reach more.

        `otherwise`: the step for the change on a table that was there before (a seed's rows deleted by
        key), taken when a CREATE TABLE IF NOT EXISTS it changes found its table already there.
        """
        step = self._data_step(node, what)
        if step is not None or not self.maybe:
            return step
        # counting the tables of CREATE TABLE IF NOT EXISTS it changes as created: exact only if they were
        targets = {_rv_key(r) for r in (node.relations if isinstance(node, ast.TruncateStmt) else
                                       [getattr(node, "relation", None)]) or () if isinstance(r, ast.RangeVar)}
        mine = {k for k in targets if k in self.maybe}
        if not mine:
            return None
        cells = [self.maybe[k] for k in mine]
        step = Created(self.tables | mine, self.sequences, self.columns)._data_step(node, what)
        if step is None:
            return None
        manual = Inverse(manual=f"{what!r} changes data (a table CREATE TABLE IF NOT EXISTS found already there)")

        def created() -> bool:
            return all(cell[0] for cell in cells)

        if otherwise is None:
            otherwise = Step(manual)
        return _either(created, step, otherwise)

    def _data_step(self, node: ast.Node, what: str) -> Step | None:
        match node:
            case ast.InsertStmt():
                targets, event = [node.relation], "insert"
                if node.onConflictClause is not None and node.onConflictClause.action == \
                        enums.OnConflictAction.ONCONFLICT_UPDATE:
                    event = "insert update"
                if _rv_key(node.relation) not in self.tables:
                    return None
            case ast.UpdateStmt():
                targets, event = [node.relation], "update"
                table = _rv_key(node.relation)
                if table not in self.tables:
                    cols = [t.name for t in node.targetList or () if isinstance(t, ast.ResTarget)]
                    if not cols or any((table, c) not in self.columns for c in cols):
                        return None  # it changes a column that was there before
            case ast.DeleteStmt():
                targets, event = [node.relation], "delete"
                if _rv_key(node.relation) not in self.tables:
                    return None
            case ast.TruncateStmt():
                targets, event = list(node.relations or ()), "truncate"
                if node.behavior == enums.DropBehavior.DROP_CASCADE or not targets or any(
                        _rv_key(r) not in self.tables for r in targets):
                    return None
            case ast.CopyStmt() if node.is_from and node.relation is not None and not node.is_program:
                targets, event = [node.relation], "insert"
                if _rv_key(node.relation) not in self.tables:
                    return None
            case _:
                return None
        calls = calls_of(node)
        if calls.modifies_more:
            return None  # a data-modifying WITH reaches other tables
        return _checked(what, [_rv(t) for t in targets], event.split(), calls, self)

    def select_step(self, node: ast.SelectStmt, what: str) -> Step:
        """A SELECT: nothing to undo unless it calls a function that changes something lasting."""
        calls = calls_of(node)
        if calls.modifies_more:
            return Step(Inverse(manual=f"{what!r} changes data (a data-modifying WITH)"))
        if not (calls.functions or calls.sequences or calls.unknown_sequence or calls.serials):
            return Step(NOTHING)
        return _checked(what, [], [], calls, self)


_RLS_FLAGS = {AT.AT_EnableRowSecurity, AT.AT_DisableRowSecurity, AT.AT_ForceRowSecurity, AT.AT_NoForceRowSecurity}


def query_step(query: ast.Node, what: str, then: Inverse) -> Step:
    """`then`, once a query that fills a new table (CREATE TABLE AS, SELECT INTO) is known to change nothing else."""
    calls = calls_of(query)
    if calls.modifies_more:
        return Step(Inverse(manual=f"{what!r} changes data (a data-modifying WITH)"))
    if not (calls.functions or calls.sequences or calls.unknown_sequence or calls.serials):
        return Step(then)
    return _checked(what, [], [], calls, Created(), then)


def _checked(what: str, targets: list[str], events: list[str], calls: Calls, created: Created,
             then: Inverse = NOTHING) -> Step:
    """A step that reads, just before the statement, whether it can reach anything the file did not create."""
    if calls.unknown_sequence:
        return Step(Inverse(manual=f"{what!r} calls {calls.unknown_sequence} on a sequence named at run time"))
    params = check_params(targets, events, calls, created.names())
    describe = ("nothing to undo beyond what the file created, if no trigger, rule or function reaches further "
                "(read when applied)")

    def resolve(rows: list[tuple]) -> Inverse:
        problems = rows[0][0] if rows else ["could not be checked"]
        if problems:
            return Inverse(manual=f"{what!r} changes data beyond what the file created: {problems[0]}")
        return then

    if not calls.serials:
        return _read(CHECK, params, resolve, describe)

    def run(conn: psycopg.Connection) -> list[tuple]:
        serials = resolve_serials(conn, calls)
        if serials is None:
            return [(["names a serial column pg_get_serial_sequence does not find"],)]
        return conn.execute(CHECK, {**params, "sequences": sorted({*calls.sequences, *serials})}).fetchall()

    return _read(CHECK, (), resolve, describe, run=run)


def _text(key: Key) -> str:
    schema, name = key
    return f"{ident(schema)}.{ident(name)}" if schema else ident(name)


def _key(names: list[str]) -> Key | None:
    if len(names) == 2:
        return names[0], names[1]
    return (None, names[0]) if len(names) == 1 else None


def _key_of(rv: ast.RangeVar) -> Key:
    return rv.schemaname, rv.relname


def _rv_key(rv: ast.RangeVar | None) -> Key | None:
    return None if rv is None or rv.catalogname else (rv.schemaname, rv.relname)
