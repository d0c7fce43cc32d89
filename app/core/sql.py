"""SQL through PostgreSQL's own parser (pglast): split, classify, locks, error positions."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError, parse_sql_json

from app.core.errors import FileProblem, MigrationFileError

if TYPE_CHECKING:
    import psycopg

AT = enums.AlterTableType
OT = enums.ObjectType


class LockMode(IntEnum):
    """PostgreSQL's table lock modes, weakest first (as in lockdefs.h)."""

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def label(self) -> str:
        """As PostgreSQL's documentation writes it: ACCESS EXCLUSIVE."""
        return self.name.replace("_", " ")

    @property
    def blocks_reads(self) -> bool:
        """True when plain SELECTs on the relation wait for it."""
        return self is LockMode.ACCESS_EXCLUSIVE

    @property
    def blocks_writes(self) -> bool:
        """True when INSERT/UPDATE/DELETE on the relation wait for it."""
        return self >= LockMode.SHARE


@dataclass(frozen=True)
class Lock:
    """A lock a statement takes: mode on relation."""

    relation: str
    mode: LockMode
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.mode.label} on {self.relation}"
        return f"{text} ({self.note})" if self.note else text


@dataclass
class Statement:
    """One statement of a migration file, with where it stands in the file."""

    index: int
    text: str
    start: int  # character offset in the file's (normalised) text
    line: int
    node: ast.Node
    non_transactional: str | None = None  # why it cannot run in a transaction block
    locks: list[Lock] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The parse node's name, e.g. CreateStmt."""
        return type(self.node).__name__

    @property
    def first_line(self) -> str:
        """The statement's first line, for progress and logs."""
        return self.text.strip().split("\n", 1)[0][:120]


class LineIndex:
    """Maps character offsets of a text to 1-based line and column numbers."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        at = text.find("\n")
        while at >= 0:
            self._starts.append(at + 1)
            at = text.find("\n", at + 1)

    def line_col(self, offset: int) -> tuple[int, int]:
        """The (line, column) of a 0-based character offset."""
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


def _syntax_error(exc: ParseError, text: str, path: Path) -> MigrationFileError:
    message, location = exc.args[0], (exc.args[1] if len(exc.args) > 1 else None)
    line = column = None
    if isinstance(location, int) and location >= 0:  # pglast gives it in characters
        line, column = LineIndex(text).line_col(min(location, len(text)))
    hint = "fix the SQL; nothing was run"
    if text.lstrip().startswith("\\") or "\n\\" in text:
        hint = "psql meta-commands (\\i, \\set, ...) are not SQL and cannot run here"
    return MigrationFileError([FileProblem(path, f"SQL syntax error: {message}", line, column, hint)])


_CHECKED_SETATTR = ast.Node.__setattr__
_PARSING = threading.RLock()
# pglast.ast.Node.__setattr__ checks and coerces every value assigned to a node. The values
# pglast's own parser assigns are already of the right types (enums, bools, tuples: see its
# ast.pyx), all but one: A_Const's Boolean gets a C int. Checking the rest again is ~80% of a
# parse, and a migrate parses every pending file; so while the parser runs, Node's check is
# swapped for object.__setattr__, and Boolean keeps a checking method of its own. The swap
# covers a batch of files, not one (assigning to a class attribute invalidates the caches of
# its ~300 subclasses: ~0.2 ms), under a lock. While it lasts, a node another thread builds by
# hand is not checked either: Tidemark's own code only builds nodes from values of the right
# type. tests/test_sql.py proves the trees equal pglast's checked ones on the real-world sets.
ast.Boolean.__setattr__ = _CHECKED_SETATTR  # type: ignore[method-assign]


@contextmanager
def _trusted_parsing() -> Iterator[None]:
    with _PARSING:
        ast.Node.__setattr__ = object.__setattr__  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            ast.Node.__setattr__ = _CHECKED_SETATTR  # type: ignore[method-assign]


def parse_file(text: str, path: Path) -> list[Statement]:
    """Split a file into statements; a syntax error names file, line and column."""
    return parse_files([(text, path)])[0]


def parse_files(files: Sequence[tuple[str, Path]]) -> list[list[Statement]]:
    """parse_file for several files at once (one swap of pglast's checks, see above)."""
    trees: list[tuple[ast.RawStmt, ...]] = []
    with _trusted_parsing():
        for text, path in files:
            try:
                trees.append(parse_sql(text))
            except ParseError as exc:
                failed = (exc, text, path)
                break
        else:
            failed = None
    if failed is not None:
        raise _syntax_error(*failed) from None
    return [_statements(text, raw) for (text, _path), raw in zip(files, trees, strict=True)]


def _statements(text: str, raw: tuple[ast.RawStmt, ...]) -> list[Statement]:
    index = LineIndex(text)
    statements: list[Statement] = []
    for i, rs in enumerate(raw):
        start = rs.stmt_location
        length = rs.stmt_len if rs.stmt_len else len(text) - start
        body = text[start : start + length]
        # pglast's location includes leading comments and blank lines: skip them for line numbers.
        lead = _leading_noise(body)
        start += lead
        body = body[lead:]
        line, _ = index.line_col(start)
        st = Statement(i, body, start, line, rs.stmt)
        st.non_transactional = non_transactional_reason(rs.stmt)
        statements.append(st)
    return statements


def _leading_noise(body: str) -> int:
    """Length of whitespace and comments before a statement's first token."""
    i, n = 0, len(body)
    while i < n:
        if body[i].isspace():
            i += 1
        elif body.startswith("--", i):
            nl = body.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif body.startswith("/*", i):
            end = body.find("*/", i + 2)
            if end < 0:
                return i
            i = end + 2
        else:
            break
    return i


def non_transactional_reason(node: ast.Node) -> str | None:
    """Why PostgreSQL refuses this statement inside a transaction block, or None."""
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt):
        if _has_option(node.params, "concurrently"):
            return "REINDEX CONCURRENTLY"
        if node.kind in (
            enums.ReindexObjectType.REINDEX_OBJECT_SCHEMA,
            enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM,
            enums.ReindexObjectType.REINDEX_OBJECT_DATABASE,
        ):
            return "REINDEX SCHEMA/SYSTEM/DATABASE"
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:
        return "VACUUM"
    if isinstance(node, ast.AlterSystemStmt):
        return "ALTER SYSTEM"
    if isinstance(node, ast.CreatedbStmt | ast.DropdbStmt):
        return "CREATE/DROP DATABASE"
    if isinstance(node, ast.CreateTableSpaceStmt | ast.DropTableSpaceStmt):
        return "CREATE/DROP TABLESPACE"
    if isinstance(node, ast.ClusterStmt) and node.relation is None:
        return "CLUSTER without a table"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if (
                isinstance(cmd, ast.AlterTableCmd)
                and cmd.subtype == AT.AT_DetachPartition
                and getattr(cmd.def_, "concurrent", False)
            ):
                return "DETACH PARTITION CONCURRENTLY"
    if isinstance(node, ast.CreateSubscriptionStmt):
        return "CREATE SUBSCRIPTION"
    if isinstance(node, ast.DiscardStmt) and node.target == enums.DiscardMode.DISCARD_ALL:
        return "DISCARD ALL"
    return None


def _has_option(options: tuple | None, name: str) -> bool:
    return any(isinstance(o, ast.DefElem) and o.defname == name for o in options or ())


@dataclass(frozen=True)
class Outline:
    """A statement as PostgreSQL's parser outlines it, without building a parse tree."""

    kind: str  # the parse node's name, e.g. TransactionStmt
    fields: dict[str, Any]  # the node's fields as the parser's JSON gives them
    start: int  # character offset in the file's text

    @property
    def transaction_kind(self) -> str | None:
        """TRANS_STMT_BEGIN, TRANS_STMT_COMMIT... for a TransactionStmt, else None."""
        return self.fields.get("kind") if self.kind == "TransactionStmt" else None

    def line(self, text: str) -> int:
        """The 1-based line of the statement's first token (past leading comments)."""
        return LineIndex(text).line_col(self.start + _leading_noise(text[self.start:]))[0]

    def first_line(self, text: str) -> str:
        """The statement's first line, for messages."""
        start = self.start + _leading_noise(text[self.start:])
        return text[start:].split("\n", 1)[0].split(";", 1)[0][:120]


def syntax_tree(text: str, path: Path) -> str:
    """The parser's tree of a file as compact JSON (the C parser alone, ~10x cheaper than parse_file).

    Every file of a run is checked this way before anything runs; the parse trees the rollback
    planner needs are built later, one file at a time, while the server works. A syntax error
    names file, line and column.
    """
    try:
        return parse_sql_json(text)
    except ParseError as exc:
        raise _syntax_error(exc, text, path) from None


def outline_file(text: str, path: Path, tree: str | None = None) -> list[Outline]:
    """A file's statements, kind and place, from its syntax tree (read here when not given)."""
    parsed = json.loads(tree if tree is not None else syntax_tree(text, path))
    encoded = None if text.isascii() else text.encode("utf-8")
    out = []
    for raw in parsed.get("stmts", ()):
        ((kind, fields),) = raw["stmt"].items()
        start = raw.get("stmt_location", 0)  # bytes of UTF-8
        if encoded is not None:
            start = len(encoded[:start].decode("utf-8", errors="ignore"))
        out.append(Outline(kind, fields, start))
    return out


# --- locks --------------------------------------------------------------------------------


def qualified(rv: ast.RangeVar | None, default_schema: str | None = None) -> str:
    """`schema.name` of a RangeVar (the default schema where none is written)."""
    if rv is None:
        return "?"
    schema = rv.schemaname or default_schema
    return f"{schema}.{rv.relname}" if schema else rv.relname


def _names(seq: tuple | list | None) -> str:
    return ".".join(n.sval for n in seq or () if isinstance(n, ast.String))


_AT_LEVEL: dict[AT, LockMode] = {
    AT.AT_SetStatistics: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_SetOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ClusterOn: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DropCluster: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_SetRelOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetRelOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ValidateConstraint: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_AttachPartition: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DetachPartitionFinalize: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_EnableTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableAlwaysTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableReplicaTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableTrigAll: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigAll: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableTrigUser: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigUser: LockMode.SHARE_ROW_EXCLUSIVE,
}


def _alter_table_locks(node: ast.AlterTableStmt, schema: str | None) -> list[Lock]:
    target = qualified(node.relation, schema)
    level = LockMode.SHARE_UPDATE_EXCLUSIVE
    others: list[Lock] = []
    notes: set[str] = set()
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        mode = _AT_LEVEL.get(cmd.subtype, LockMode.ACCESS_EXCLUSIVE)
        if cmd.subtype == AT.AT_DetachPartition and getattr(cmd.def_, "concurrent", False):
            mode = LockMode.SHARE_UPDATE_EXCLUSIVE
        if (
            cmd.subtype == AT.AT_AddConstraint
            and isinstance(cmd.def_, ast.Constraint)
            and cmd.def_.contype == enums.ConstrType.CONSTR_FOREIGN
        ):
            mode = LockMode.SHARE_ROW_EXCLUSIVE
            others.append(Lock(qualified(cmd.def_.pktable, schema), mode, "referenced table"))
        if cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            for c in cmd.def_.constraints or ():
                if isinstance(c, ast.Constraint) and c.contype == enums.ConstrType.CONSTR_FOREIGN:
                    others.append(
                        Lock(qualified(c.pktable, schema), LockMode.SHARE_ROW_EXCLUSIVE, "referenced table")
                    )
        if cmd.subtype == AT.AT_DropConstraint:
            notes.add("if it is a foreign key, its referenced table too")
        if cmd.subtype in (AT.AT_AttachPartition, AT.AT_DetachPartition):
            part = getattr(cmd.def_, "name", None)
            if isinstance(part, ast.RangeVar):
                others.append(Lock(qualified(part, schema), LockMode.ACCESS_EXCLUSIVE, "partition"))
        level = max(level, mode)
    kind = "view" if node.objtype in (OT.OBJECT_VIEW, OT.OBJECT_MATVIEW) else ""
    note = "; ".join(sorted({kind, *notes} - {""}))
    return [Lock(target, level, note), *others]


def statement_locks(node: ast.Node, schema: str | None = None) -> list[Lock]:
    """The table-level locks a statement takes, strongest on each relation."""
    q = lambda rv: qualified(rv, schema)  # noqa: E731
    L = LockMode
    match node:
        case ast.AlterTableStmt():
            return _alter_table_locks(node, schema)
        case ast.IndexStmt():
            mode = L.SHARE_UPDATE_EXCLUSIVE if node.concurrent else L.SHARE
            note = "concurrent build: writes go on" if node.concurrent else "blocks writes while it builds"
            return [Lock(q(node.relation), mode, note)]
        case ast.CreateStmt():
            locks = []
            for elt in node.tableElts or ():
                cons = [*(getattr(elt, "constraints", None) or ())]
                if isinstance(elt, ast.Constraint):
                    cons.append(elt)
                for c in cons:
                    if isinstance(c, ast.Constraint) and c.contype == enums.ConstrType.CONSTR_FOREIGN:
                        locks.append(Lock(q(c.pktable), L.SHARE_ROW_EXCLUSIVE, "referenced table"))
            for parent in node.inhRelations or ():
                if isinstance(parent, ast.RangeVar):
                    mode = L.ACCESS_EXCLUSIVE if node.partbound else L.SHARE_UPDATE_EXCLUSIVE
                    locks.append(Lock(q(parent), mode, "parent table"))
            return locks
        case ast.DropStmt():
            if node.removeType in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE,
                                   OT.OBJECT_FOREIGN_TABLE):
                return [Lock(_names(o), L.ACCESS_EXCLUSIVE) for o in node.objects or ()]
            if node.removeType == OT.OBJECT_INDEX:
                mode = L.SHARE_UPDATE_EXCLUSIVE if node.concurrent else L.ACCESS_EXCLUSIVE
                return [Lock(_names(o), mode, "index, and its table") for o in node.objects or ()]
            if node.removeType in (OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE):
                # objects are (schema?, table, name): the lock is on the table (CREATE TRIGGER takes
                # SHARE ROW EXCLUSIVE, but DROP TRIGGER takes ACCESS EXCLUSIVE)
                return [Lock(_names(o[:-1]), L.ACCESS_EXCLUSIVE) for o in node.objects or () if len(o) > 1]
            return []
        case ast.RenameStmt() | ast.AlterObjectSchemaStmt() | ast.AlterOwnerStmt():
            if getattr(node, "relation", None) is not None:
                return [Lock(q(node.relation), L.ACCESS_EXCLUSIVE)]
            return []
        case ast.TruncateStmt():
            return [Lock(q(r), L.ACCESS_EXCLUSIVE) for r in node.relations or ()]
        case ast.InsertStmt() | ast.UpdateStmt() | ast.DeleteStmt() | ast.MergeStmt():
            return [Lock(q(node.relation), L.ROW_EXCLUSIVE, "row locks on the rows it changes")]
        case ast.VacuumStmt():
            full = _has_option(node.options, "full")
            mode = L.ACCESS_EXCLUSIVE if full else L.SHARE_UPDATE_EXCLUSIVE
            rels = [v.relation for v in node.rels or () if isinstance(v, ast.VacuumRelation)]
            return [Lock(q(r), mode) for r in rels] or [Lock("every table", mode)]
        case ast.ClusterStmt():
            return [Lock(q(node.relation), L.ACCESS_EXCLUSIVE)] if node.relation else []
        case ast.ReindexStmt():
            conc = _has_option(node.params, "concurrently")
            if node.relation is None:
                return []
            if node.kind == enums.ReindexObjectType.REINDEX_OBJECT_INDEX:
                mode = L.SHARE_UPDATE_EXCLUSIVE if conc else L.ACCESS_EXCLUSIVE
                return [Lock(q(node.relation), mode, "index")]
            return [Lock(q(node.relation), L.SHARE_UPDATE_EXCLUSIVE if conc else L.SHARE)]
        case ast.RefreshMatViewStmt():
            return [Lock(q(node.relation), L.EXCLUSIVE if node.concurrent else L.ACCESS_EXCLUSIVE)]
        case ast.CreateTrigStmt():
            return [Lock(q(node.relation), L.SHARE_ROW_EXCLUSIVE)]
        case ast.CreatePolicyStmt() | ast.AlterPolicyStmt():
            return [Lock(q(node.table), L.ACCESS_EXCLUSIVE)]
        case ast.RuleStmt():
            return [Lock(q(node.relation), L.ACCESS_EXCLUSIVE)]
        case ast.ViewStmt():
            return [Lock(q(node.view), L.ACCESS_EXCLUSIVE, "view")] if node.replace else []
        case ast.LockStmt():
            return [Lock(q(r), LockMode(node.mode)) for r in node.relations or ()]
        case ast.CommentStmt():
            if node.objtype in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_COLUMN):
                obj = node.object
                names = _names(obj[:-1] if node.objtype == OT.OBJECT_COLUMN else obj)
                return [Lock(names, L.SHARE_UPDATE_EXCLUSIVE)]
            return []
        case ast.AlterSeqStmt():
            return [Lock(q(node.sequence), L.SHARE_ROW_EXCLUSIVE)]
        case ast.SelectStmt():
            return []
    return []


def annotate_locks(statements: list[Statement], default_schema: str | None) -> None:
    """Fill in each statement's locks (for dry runs), resolving unqualified names."""
    for st in statements:
        st.locks = [
            Lock(lk.relation if "." in lk.relation or lk.relation in ("?", "every table")
                 else f"{default_schema}.{lk.relation}" if default_schema else lk.relation,
                 lk.mode, lk.note)
            for lk in statement_locks(st.node, default_schema)
        ]


_FK_REFERENCED = """
SELECT format('%%I.%%I', n.nspname, r.relname) FROM pg_constraint c
JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE c.conrelid = to_regclass(%s) AND c.conname = %s AND c.contype = 'f'
"""
_PARTITIONS = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_partition_tree(to_regclass(%s)) t
JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.level > 0 AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def catalog_locks(conn: psycopg.Connection, statements: list[Statement]) -> None:
    """Add the locks only the catalog can tell (dry runs): the table a dropped foreign key
    references, the partitions an index on a partitioned table is built on. Objects made by
    earlier pending migrations are not there yet: nothing is added for them."""
    for st in statements:
        node = st.node
        if isinstance(node, ast.AlterTableStmt):
            table = next((lk.relation for lk in st.locks), None)
            for cmd in node.cmds or ():
                if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == AT.AT_DropConstraint and table:
                    for (ref,) in conn.execute(_FK_REFERENCED, (table, cmd.name)).fetchall():
                        st.locks.append(Lock(ref, LockMode.ACCESS_EXCLUSIVE, "referenced by the dropped foreign key"))
        elif isinstance(node, ast.IndexStmt) and st.locks:
            mode = st.locks[0].mode
            parts = [r[0] for r in conn.execute(_PARTITIONS, (st.locks[0].relation,)).fetchall()]
            for part in parts[:20]:
                st.locks.append(Lock(part, mode, "partition"))
            if len(parts) > 20:
                st.locks.append(Lock(f"{len(parts) - 20} more partitions", mode, "partition"))


# --- what was sent, mapped back to the file ------------------------------------------------


class SentText:
    """Text sent to the server built from pieces of a file, mapping positions back.

    PostgreSQL reports an error position as a 1-based character index into the query string
    it received; this turns it into the file's offset.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._map: list[tuple[int, int | None]] = []  # (start in sent text, start in file or None)
        self._length = 0

    def add(self, text: str, file_offset: int | None = None) -> None:
        """Append text; file_offset is where it stands in the file (None: ours, not the file's)."""
        self._map.append((self._length, file_offset))
        self._parts.append(text)
        self._length += len(text)

    def text(self) -> str:
        """The whole text to send."""
        return "".join(self._parts)

    def file_offset(self, position: int) -> int | None:
        """The file offset of a 1-based server error position, or None if it is in our text."""
        pos = position - 1
        starts = [s for s, _ in self._map]
        i = bisect.bisect_right(starts, pos) - 1
        if i < 0:
            return None
        sent_start, file_start = self._map[i]
        return None if file_start is None else file_start + (pos - sent_start)

    def __bool__(self) -> bool:
        return self._length > 0
