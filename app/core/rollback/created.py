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

from dataclasses import dataclass, field, replace

import psycopg
from pglast import ast, enums
from pglast.visitors import Visitor

from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, _strs, ident
from app.core.rollback.steps import _read

OT = enums.ObjectType
GT = enums.GrantTargetType
AT = enums.AlterTableType

Key = tuple[str | None, str]  # (schema as written or None, name)

# Functions a migration may call without changing anything that lasts beyond its own rows (or the session).
_HARMLESS = frozenset({
    "gen_random_uuid", "random", "random_normal", "clock_timestamp", "timeofday", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "set_config", "pg_sleep", "pg_notify", "txid_current",
    "pg_current_xact_id", "currval", "lastval", "pg_advisory_lock", "pg_advisory_xact_lock",
    "pg_try_advisory_lock", "pg_try_advisory_xact_lock", "pg_advisory_unlock", "pg_advisory_lock_shared",
    "pg_advisory_xact_lock_shared", "pg_advisory_unlock_all", "now", "lower", "upper", "length", "concat",
    "format", "coalesce", "count", "sum", "min", "max", "avg", "array_agg", "string_agg", "jsonb_build_object",
    "json_build_object", "jsonb_build_array", "json_build_array", "to_char", "to_timestamp", "to_date",
    "date_trunc", "extract", "md5", "replace", "substring", "substr", "trim", "btrim", "ltrim", "rtrim",
    "split_part", "regexp_replace", "left", "right", "abs", "round", "floor", "ceil", "generate_series",
    "unnest", "row_number", "jsonb_agg", "json_agg", "current_setting", "pg_get_serial_sequence",
    "quote_ident", "quote_literal", "to_jsonb", "to_json", "encode", "decode", "greatest", "least",
})
_SEQUENCE_SETTERS = frozenset({"nextval", "setval"})

# pg_trigger.tgtype bits and pg_rewrite.ev_type codes for each kind of data change
_TRIGGER_BITS = {"insert": 4, "delete": 8, "update": 16, "truncate": 32}
_RULE_EVENTS = {"insert": "3", "delete": "4", "update": "2", "truncate": ""}


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

    def data_step(self, node: ast.Node, what: str) -> Step | None:
        """The step for a data change that only reaches what the file created, or None if it may reach more."""
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

        if step.read is None:
            inverse = step.inverse or NOTHING
            return Step(read=CatalogRead("SELECT 1", (), lambda rows: inverse if created() else manual,
                                         "whether the file created the tables it changes (read when applied)"))
        read = step.read
        return Step(read=replace(read, resolve=lambda rows: read.resolve(rows) if created() else manual),
                    after=step.after)

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


@dataclass
class _Calls:
    functions: set[str] = field(default_factory=set)  # names that may change something: checked when applied
    sequences: set[str] = field(default_factory=set)  # sequences moved by nextval/setval, as regclass text
    unknown_sequence: str | None = None  # a nextval/setval whose sequence cannot be told from the text
    serials: set[tuple[str, str]] = field(default_factory=set)  # pg_get_serial_sequence('t', 'c'): read when applied
    modifies_more: bool = False


class _CallVisitor(Visitor):
    def __init__(self, root: ast.Node) -> None:
        super().__init__()
        self.root = root
        self.calls = _Calls()

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> None:
        names = _strs(node.funcname)
        name = names[-1] if names else ""
        schema = names[0] if len(names) == 2 else None
        if name in _SEQUENCE_SETTERS and schema in (None, "pg_catalog"):
            seq = _sequence_arg(node.args[0] if node.args else None)
            serial = _serial_arg(node.args[0] if node.args else None)
            if serial is not None:
                self.calls.serials.add(serial)
            elif seq is None:
                self.calls.unknown_sequence = name
            else:
                self.calls.sequences.add(seq)
        elif not (name in _HARMLESS and schema in (None, "pg_catalog")):
            self.calls.functions.add(name)

    def _modifies(self, node: ast.Node) -> None:
        if node is not self.root:
            self.calls.modifies_more = True

    def visit_InsertStmt(self, ancestors: object, node: ast.Node) -> None:
        self._modifies(node)

    def visit_UpdateStmt(self, ancestors: object, node: ast.Node) -> None:
        self._modifies(node)

    def visit_DeleteStmt(self, ancestors: object, node: ast.Node) -> None:
        self._modifies(node)

    def visit_MergeStmt(self, ancestors: object, node: ast.Node) -> None:
        self._modifies(node)


def calls_of(node: ast.Node) -> _Calls:
    v = _CallVisitor(node)
    v(node)
    return v.calls


def _serial_arg(arg: ast.Node | None) -> tuple[str, str] | None:
    """pg_get_serial_sequence('table', 'column') with both written as constants."""
    if isinstance(arg, ast.TypeCast):
        arg = arg.arg
    if not (isinstance(arg, ast.FuncCall) and _strs(arg.funcname)[-1:] == ["pg_get_serial_sequence"]
            and len(arg.args or ()) == 2):
        return None
    parts = [a.val.sval for a in arg.args if isinstance(a, ast.A_Const) and isinstance(a.val, ast.String)]
    return (parts[0], parts[1]) if len(parts) == 2 else None


def resolve_serials(conn: psycopg.Connection, calls: _Calls) -> list[str] | None:
    """The sequences pg_get_serial_sequence names, as the server answers now; None: one is not there."""
    out = []
    for table, column in sorted(calls.serials):
        try:
            with conn.transaction():  # a savepoint: an unknown table must not end the migration
                row = conn.execute("SELECT pg_catalog.pg_get_serial_sequence(%s, %s)", (table, column)).fetchone()
        except psycopg.Error:
            return None
        if row is None or row[0] is None:
            return None
        out.append(row[0])
    return out


def _sequence_arg(arg: ast.Node | None) -> str | None:
    """The sequence nextval/setval names, as regclass text: a literal ('s' or 's'::regclass)."""
    if isinstance(arg, ast.TypeCast) and _strs(arg.typeName.names)[-1:] == ["regclass"]:
        arg = arg.arg
    if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
        return arg.val.sval
    return None


CHECK = """
WITH RECURSIVE rels(oid) AS (
  SELECT pg_catalog.to_regclass(t) FROM pg_catalog.unnest(%(targets)s::text[]) t
  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN rels ON i.inhparent = rels.oid),
mine(oid) AS (SELECT pg_catalog.to_regclass(t) FROM pg_catalog.unnest(%(created)s::text[]) t)
SELECT ARRAY(
  SELECT 'fires trigger ' || pg_catalog.quote_ident(t.tgname) || ' on ' || t.tgrelid::regclass::text
  FROM pg_catalog.pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels) AND NOT t.tgisinternal
    AND t.tgenabled <> 'D' AND (t.tgtype::int & %(bits)s) <> 0
  UNION ALL
  SELECT 'fires rule ' || pg_catalog.quote_ident(r.rulename) || ' on ' || r.ev_class::regclass::text
  FROM pg_catalog.pg_rewrite r WHERE r.ev_class IN (SELECT oid FROM rels) AND r.rulename <> '_RETURN'
    AND r.ev_type::text = ANY(%(events)s::text[])
  UNION ALL
  SELECT 'cascades through foreign key ' || pg_catalog.quote_ident(c.conname) || ' of '
    || c.conrelid::regclass::text
  FROM pg_catalog.pg_constraint c WHERE c.contype = 'f' AND c.confrelid IN (SELECT oid FROM rels)
    AND ((%(delete)s AND c.confdeltype NOT IN ('a', 'r')) OR (%(update)s AND c.confupdtype NOT IN ('a', 'r')))
  UNION ALL
  SELECT DISTINCT 'calls function ' || p.proname || ', which may change other data'
  FROM pg_catalog.pg_proc p WHERE p.proname = ANY(%(functions)s::text[]) AND p.provolatile = 'v'
  UNION ALL
  SELECT 'calls function ' || f || ', which is not known' FROM pg_catalog.unnest(%(functions)s::text[]) f
  WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.proname = f)
  UNION ALL
  SELECT 'moves sequence ' || s || ', which the file did not create'
  FROM pg_catalog.unnest(%(sequences)s::text[]) s
  WHERE pg_catalog.to_regclass(s) IS NULL OR (pg_catalog.to_regclass(s) NOT IN (SELECT oid FROM mine)
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = pg_catalog.to_regclass(s)
        AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
        AND d.refobjid IN (SELECT oid FROM mine)))
)"""


def calls_nothing(query: ast.Node) -> bool:
    """True when a query calls no function that could change anything and modifies no table."""
    calls = calls_of(query)
    return not (calls.modifies_more or calls.functions or calls.sequences or calls.unknown_sequence or calls.serials)


def query_step(query: ast.Node, what: str, then: Inverse) -> Step:
    """`then`, once a query that fills a new table (CREATE TABLE AS, SELECT INTO) is known to change nothing else."""
    calls = calls_of(query)
    if calls.modifies_more:
        return Step(Inverse(manual=f"{what!r} changes data (a data-modifying WITH)"))
    if not (calls.functions or calls.sequences or calls.unknown_sequence or calls.serials):
        return Step(then)
    return _checked(what, [], [], calls, Created(), then)


def _checked(what: str, targets: list[str], events: list[str], calls: _Calls, created: Created,
             then: Inverse = NOTHING) -> Step:
    """A step that reads, just before the statement, whether it can reach anything the file did not create."""
    if calls.unknown_sequence:
        return Step(Inverse(manual=f"{what!r} calls {calls.unknown_sequence} on a sequence named at run time"))
    params = check_params(targets, events, calls, created)
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


def check_params(targets: list[str], events: list[str], calls: _Calls, created: Created) -> dict[str, object]:
    """The parameters of CHECK: what a data change on `targets` could reach beyond them."""
    mine = [_text(k) for k in sorted(created.tables | created.sequences, key=str)]
    return {
        "targets": targets, "created": mine, "bits": sum(_TRIGGER_BITS[e] for e in events),
        "events": [_RULE_EVENTS[e] for e in events if _RULE_EVENTS[e]], "delete": "delete" in events,
        "update": "update" in events, "functions": sorted(calls.functions), "sequences": sorted(calls.sequences),
    }


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
