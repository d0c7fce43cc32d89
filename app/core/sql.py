"""SQL through PostgreSQL's own parser (pglast): split, classify, error positions (the locks a
statement takes are in statement_locks)."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError, parse_sql_json

from app.core.errors import FileProblem, MigrationFileError

if TYPE_CHECKING:
    from app.core.statement_locks import Lock

AT = enums.AlterTableType
OT = enums.ObjectType


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
        if has_option(node.params, "concurrently"):
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


def has_option(options: tuple | None, name: str) -> bool:
    """True when a statement's option list (WITH/params) names `name`."""
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
