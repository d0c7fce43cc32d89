"""What a data change can reach beyond its own rows, and the catalog check of it.

The parse tree tells which functions a statement calls, which sequences it moves (nextval, setval,
also through pg_get_serial_sequence) and whether it modifies other tables (a data-modifying WITH);
CHECK reads, just before the statement runs, what the tree cannot tell: the triggers and rules that
would fire, the foreign keys that would cascade, and whether the functions it calls are volatile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from pglast import ast
from pglast.visitors import Visitor

from app.core.rollback.names import _strs

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
class Calls:
    functions: set[str] = field(default_factory=set)  # names that may change something: checked when applied
    sequences: set[str] = field(default_factory=set)  # sequences moved by nextval/setval, as regclass text
    unknown_sequence: str | None = None  # a nextval/setval whose sequence cannot be told from the text
    serials: set[tuple[str, str]] = field(default_factory=set)  # pg_get_serial_sequence('t', 'c'): read when applied
    modifies_more: bool = False


class _CallVisitor(Visitor):
    def __init__(self, root: ast.Node) -> None:
        super().__init__()
        self.root = root
        self.calls = Calls()

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


def calls_of(node: ast.Node) -> Calls:
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


def resolve_serials(conn: psycopg.Connection, calls: Calls) -> list[str] | None:
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


def check_params(targets: list[str], events: list[str], calls: Calls, mine: list[str]) -> dict[str, object]:
    """The parameters of CHECK: what a data change on `targets` could reach beyond them (`mine`: what the
    file created, as regclass text)."""
    return {
        "targets": targets, "created": mine, "bits": sum(_TRIGGER_BITS[e] for e in events),
        "events": [_RULE_EVENTS[e] for e in events if _RULE_EVENTS[e]], "delete": "delete" in events,
        "update": "update" in events, "functions": sorted(calls.functions), "sequences": sorted(calls.sequences),
    }
