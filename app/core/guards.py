"""Statements a migration or its rollback SQL may not hold, refused before anything runs.

Tidemark runs each file (and each rollback) in its own transaction with its history rows,
under a session advisory lock held for the whole run. Some statements would break that:

- transaction control (COMMIT, ROLLBACK...) ends Tidemark's transaction half way, apart from
  its history rows (a file's own BEGIN ... COMMIT around everything is accepted and removed);
- COPY ... FROM STDIN waits for data no client sends;
- pg_advisory_unlock_all(), DISCARD ALL, or pg_advisory_unlock() of Tidemark's key give the
  run's lock away: a second runner could start mid-run. A pg_advisory_unlock whose key is not
  a constant could be Tidemark's, so it is refused too; a constant other key, or the two-key
  form (another key space: objsubid 2, Tidemark's is 1), is the file's own business. SQL built
  at run time (EXECUTE in a function) cannot be seen here; a DO block's text is searched.

Forward SQL and custom rollback SQL are checked by the same rules, from the C parser's JSON
tree (no Python parse tree is built), so `check` costs little on the files that have none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile
from app.core.lock import LOCK_KEY
from app.core.place import PUBLIC, Place
from app.core.sql import LineIndex, Outline, Statement, outline_file, parse_file, syntax_tree

# Files whose tree holds none of these need no closer look (the common case). Plain `in` tests:
# a case-blind regex costs ~30x more on a large tree. The parser folds unquoted names to lower
# case; only a DO block's text keeps the case it was written in.
_SUSPECT_NODES = ('"TransactionStmt"', '"CopyStmt"', '"DiscardStmt"', "pg_advisory_unlock")
_SAVEPOINTS = {"TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO"}
_UNLOCKS = {"pg_advisory_unlock", "pg_advisory_unlock_shared"}
_UNLOCK_IN_TEXT = re.compile(r"\bpg_advisory_unlock(?:_all|_shared)?\s*\(", re.IGNORECASE)
_OWN_LOCK_HINT = "remove it; for a lock of your own use pg_advisory_xact_lock(), which ends with its transaction"

LineOf = Callable[[int | None], int | None]


def needs_a_look(tree: str) -> bool:
    """True when a syntax tree may hold a statement these rules refuse."""
    if any(n in tree for n in _SUSPECT_NODES):
        return True
    return '"DoStmt"' in tree and "advisory_unlock" in tree.lower()


def check_outlines(outlines: list[Outline], text: str, path: Path, *, rollback: bool = False,
                   line_of: LineOf | None = None) -> bool:
    """Refuse what cannot run (naming the file's line); True when a BEGIN ... COMMIT wraps it all.

    `rollback`: the text is rollback SQL; `line_of` maps its lines to the file's.
    """
    where = line_of or (lambda line: line)
    what = "rollback SQL" if rollback else "a migration"
    body = outlines
    wrapped = (
        len(body) >= 2
        and body[0].transaction_kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
        and body[-1].transaction_kind == "TRANS_STMT_COMMIT"
    )
    if wrapped:
        body = body[1:-1]
    problems: list[FileProblem] = []
    for o in body:
        if o.transaction_kind is not None and o.transaction_kind not in _SAVEPOINTS:
            hint = ("Tidemark runs each rollback in its own transaction with its history change; remove it"
                    if rollback else "Tidemark runs each file in its own transaction with its history row; "
                    "remove it, or split the file in two")
            problems.append(FileProblem(path, f"transaction control inside {what}: {o.first_line(text)}",
                                        where(o.line(text)), hint=hint))
        elif o.kind == "CopyStmt" and o.fields.get("is_from") and not o.fields.get("filename"):
            problems.append(FileProblem(path, f"COPY ... FROM STDIN in {what} needs data from a client",
                                        where(o.line(text)),
                                        hint="use INSERT statements, or COPY FROM a server-side file"))
        else:
            problems += _lock_giveaways(o, text, path, what, where)
    if problems:
        raise MigrationFileError(problems[:1])  # the first, as a syntax error is reported
    return wrapped


@dataclass(frozen=True)
class Checked:
    """A file that passed `check`: it can be prepared without failing."""

    file: MigrationFile
    wrapped: bool  # the file wraps itself in BEGIN ... COMMIT (our transaction replaces it)


def check(file: MigrationFile) -> Checked:
    """Refuse what cannot run, naming file and line, without building parse trees (see outline_file).

    The file's custom rollback SQL is checked by the same rules, so a rollback never
    finds out at run time that its SQL cannot run.
    """
    if file.verify_text is not None:  # a Sqitch verify script: refused now, not after its deploy ran
        from app.core import verify

        verify.statements(file)
    text = file.forward
    tree = syntax_tree(text, file.path)
    if '"stmts":[{' in tree and not needs_a_look(tree):
        # it has statements, none of a kind refused: no need to read the tree
        return Checked(check_file_rollback(file), False)
    outlines = outline_file(text, file.path, tree)
    wrapped = check_outlines(outlines, text, file.path)
    if len(outlines) <= (2 if wrapped else 0):
        raise MigrationFileError([FileProblem(file.path, "holds no SQL statement, only comments",
                                              hint="add SQL to it, or delete it")])
    return Checked(check_file_rollback(file), wrapped)


def check_sql(text: str, path: Path, *, rollback: bool = False, line_of: LineOf | None = None) -> bool:
    """Parse and check SQL text (syntax first); True when a BEGIN ... COMMIT wraps it all."""
    try:
        tree = syntax_tree(text, path)
    except MigrationFileError as exc:
        if line_of is None:
            raise
        p = exc.problems[0]
        raise MigrationFileError([FileProblem(p.path, p.reason.replace("SQL syntax error", "syntax error in "
                                              "its rollback SQL"), line_of(p.line), None, p.hint)]) from None
    if not needs_a_look(tree):
        return False
    return check_outlines(outline_file(text, path, tree), text, path, rollback=rollback, line_of=line_of)


def _lock_giveaways(o: Outline, text: str, path: Path, what: str, where: LineOf) -> list[FileProblem]:
    line = where(o.line(text))
    if o.kind == "DiscardStmt" and o.fields.get("target") == "DISCARD_ALL":
        return [FileProblem(path, f"DISCARD ALL in {what} releases Tidemark's migration lock "
                            "(a second runner could start mid-run)", line,
                            hint="use DISCARD PLANS, SEQUENCES or TEMP for what you need")]
    if o.kind == "DoStmt":
        body = " ".join(str(a.get("DefElem", {}).get("arg", {}).get("String", {}).get("sval", ""))
                        for a in o.fields.get("args", ()))
        if _UNLOCK_IN_TEXT.search(body):
            return [FileProblem(path, f"a DO block in {what} calls pg_advisory_unlock, which can release "
                                "Tidemark's migration lock (a second runner could start mid-run)", line,
                                hint=_OWN_LOCK_HINT)]
        return []
    for call in _calls(o.fields):
        names = call.get("funcname", ())
        name = names[-1].get("String", {}).get("sval", "") if names else ""
        args = call.get("args", ())
        at = _line_at(text, call.get("location"), where) or line
        if name == "pg_advisory_unlock_all":
            return [FileProblem(path, f"pg_advisory_unlock_all() in {what} releases Tidemark's migration lock "
                                "(a second runner could start mid-run)", at, hint=_OWN_LOCK_HINT)]
        if name in _UNLOCKS and len(args) == 1:
            key = _constant(args[0])
            if key == LOCK_KEY:
                return [FileProblem(path, f"{name}({LOCK_KEY}) in {what} releases Tidemark's migration lock "
                                    "(a second runner could start mid-run)", at, hint="remove it")]
            if key is None:
                return [FileProblem(path, f"{name}() in {what} with a key that is not a constant could "
                                    "release Tidemark's migration lock", at,
                                    hint=f"give your own key as a literal (Tidemark's is {LOCK_KEY}), or use "
                                    "pg_advisory_xact_lock(), which ends with its transaction")]
    return []


def _calls(node: Any) -> Iterator[dict[str, Any]]:
    """Every FuncCall in a JSON tree, outermost first."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            call = n.get("FuncCall")
            if isinstance(call, dict):
                yield call
            stack.extend(reversed(list(n.values())))
        elif isinstance(n, list):
            stack.extend(reversed(n))


def _constant(arg: dict[str, Any]) -> int | None:
    """The integer value of a constant argument (cast or not), or None."""
    while "TypeCast" in arg:
        arg = arg["TypeCast"].get("arg", {})
    const = arg.get("A_Const")
    if not isinstance(const, dict):
        return None
    if "ival" in const:
        return int(const["ival"].get("ival", 0))  # the JSON leaves a zero out
    text = const.get("fval", {}).get("fval") if "fval" in const else None
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None  # 1.5: not a key that names any lock


def _line_at(text: str, location: object, where: LineOf) -> int | None:
    """The line of a parser location (bytes of UTF-8) in text."""
    if not isinstance(location, int) or location < 0:
        return None
    chars = location if text.isascii() else len(text.encode("utf-8")[:location].decode("utf-8", errors="ignore"))
    return where(LineIndex(text).line_col(chars)[0])


STORED_HINT = ("Nothing was rolled back: correct the file's -- ROLLBACK lines and store them with "
               "`tidemark repair NAME --reason ...`, or correct rollback_sql in public._migrations")


def stored_rollback(name: str, sql_text: str | None, place: Place = PUBLIC) -> list[Statement]:
    """The statements of a migration's stored rollback SQL, checked as a file's are.

    The stored SQL may predate these checks or have been edited by hand: it is checked again
    before it runs. A BEGIN ... COMMIT around it all is removed (Tidemark's transaction replaces it).
    """
    if not sql_text or not sql_text.strip():
        return []
    label = Path(f"{name} (stored rollback SQL)")
    try:
        wrapped = check_sql(sql_text, label, rollback=True)
    except MigrationFileError as exc:
        p = exc.problems[0]
        hint = place.words(STORED_HINT.replace("NAME", name))
        raise MigrationFileError([FileProblem(p.path, p.reason, p.line, p.column,
                                              f"{p.hint}. {hint}" if p.hint else hint)]) from None
    statements = parse_file(sql_text, label)
    return statements[1:-1] if wrapped else statements


def check_stored_rollbacks(rows: list[tuple[str, str | None]], place: Place = PUBLIC) -> None:
    """stored_rollback for every (name, rollback SQL) about to run: one error lists every problem."""
    problems: list[FileProblem] = []
    for name, sql_text in rows:
        try:
            stored_rollback(name, sql_text, place)
        except MigrationFileError as exc:
            problems += exc.problems
    if problems:
        raise MigrationFileError(problems)


def check_file_rollback(file: MigrationFile) -> MigrationFile:
    """Check a file's custom rollback SQL (`-- ROLLBACK` lines) before it is stored, naming the file's line."""
    d = file.directives
    if d.custom_rollback:
        check_sql(d.custom_rollback, d.rollback_path or file.path, rollback=True, line_of=d.rollback_file_line)
    return file
