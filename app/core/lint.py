"""`tidemark lint`: find operations that lock or rewrite big tables, or break running clients.

Most rules come from squawk (the `squawk-cli` package ships its binary): a well-kept
linter, run once over the files, its rule names mapped to ours. Tidemark adds what squawk
cannot know: which tables are new in this run (created earlier in the same file or in an
earlier pending migration: squawk flags those too, we drop them), whether the runner
will set `lock_timeout` itself, and a few statements squawk does not check (VACUUM FULL,
CLUSTER). Statements are found with PostgreSQL's own parser (pglast), never regexes.

`-- tidemark:lint-ignore RULE[, RULE]` (or squawk's `-- squawk-ignore RULE`) before a
statement silences those rules for it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pglast import ast, enums

from app.core.errors import TidemarkError
from app.core.jsonable import jsonable
from app.core.lint_rules import ERROR, RULES, TABLE_RULES, WARNING, Rule
from app.core.sql import Statement, parse_file
from app.core.squawk import SQUAWK_RULES, run_squawk
from app.core.statement_locks import LockMode, qualified, statement_locks

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner

_IGNORE = re.compile(r"^\s*--\s*(?:tidemark\s*:\s*lint-ignore|squawk-ignore)\b\s*(?P<rules>[\w\-, ]*)$",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One problem: where, which rule, how bad, what is wrong and the safer way."""

    path: Path
    line: int
    rule: str
    severity: str
    message: str
    fix: str
    statement: str
    source: str  # "squawk" or "tidemark"
    squawk_rule: str | None = None

    @property
    def location(self) -> str:
        """`path:line`."""
        return f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.rule}]\n    safer: {self.fix}"


@dataclass
class LintResult:
    """The findings over a set of files (in run order)."""

    files: list[Path]
    findings: list[Finding] = field(default_factory=list)
    squawk_version: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity error."""
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings of severity warning."""
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not self.errors

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready document."""
        return jsonable({
            "ok": self.ok,
            "files": self.files,
            "counts": {"error": len(self.errors), "warning": len(self.warnings)},
            "findings": [{**asdict(f), "location": f.location} for f in self.findings],
            "squawk_version": self.squawk_version,
            "notes": self.notes,
        })


# --- parsed files --------------------------------------------------------------------------


@dataclass
class _File:
    path: Path
    text: str
    statements: list[Statement]
    starts: list[int]  # line of each statement
    ignores: dict[int, set[str] | None]  # statement index -> rules ignored (None: all)

    def statement_at(self, line: int) -> int | None:
        """The index of the statement that holds a 1-based line."""
        i = bisect.bisect_right(self.starts, line) - 1
        return i if i >= 0 else (0 if self.statements else None)


def _load(path: Path, forward: str | None = None) -> _File:
    from app.core.files import normalise

    if forward is not None:  # a layout's forward text (a down section blanked): only it is linted
        text = forward
    else:
        try:
            text = normalise(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise TidemarkError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    statements = parse_file(text, path)
    starts = [st.line for st in statements]
    ignores: dict[int, set[str] | None] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        m = _IGNORE.match(line)
        if not m:
            continue
        i = bisect.bisect_right(starts, number)  # the next statement after the comment
        if i < len(statements):
            rules = {r.strip() for r in m["rules"].split(",") if r.strip()}
            mapped = {SQUAWK_RULES.get(r) or r for r in rules}
            prev = ignores.get(i, set())
            ignores[i] = None if not rules or prev is None else prev | mapped
    return _File(path, text, statements, starts, ignores)


def _key(rv: ast.RangeVar | None) -> str:
    return qualified(rv, "public").lower()


def _created(node: ast.Node) -> str | None:
    """The table a statement creates, if any."""
    if isinstance(node, ast.CreateStmt):
        return _key(node.relation)
    if isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        return _key(node.into.rel)
    return None


def _subject(node: ast.Node) -> list[str]:
    """The tables a statement acts on (for "is it an existing table?")."""
    match node:
        case ast.AlterTableStmt() | ast.IndexStmt() | ast.ClusterStmt() | ast.ReindexStmt():
            return [_key(node.relation)] if node.relation is not None else []
        case ast.RenameStmt():
            return [_key(node.relation)] if node.relation is not None else []
        case ast.VacuumStmt():
            return [_key(v.relation) for v in node.rels or () if isinstance(v, ast.VacuumRelation)]
        case ast.DropStmt() if node.removeType == enums.ObjectType.OBJECT_TABLE:
            out = []
            for o in node.objects or ():
                parts = [n.sval for n in o if isinstance(n, ast.String)]
                out.append(".".join(parts if len(parts) > 1 else ["public", *parts]).lower())
            return out
    return []


def _is_lock_timeout_set(node: ast.Node) -> bool:
    return isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() == "lock_timeout"


def _own_rules(node: ast.Node) -> list[str]:
    """The rules Tidemark checks itself (squawk does not)."""
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd and any(
        isinstance(o, ast.DefElem) and o.defname == "full" for o in node.options or ()
    ):
        return ["vacuum-full"]
    if isinstance(node, ast.ClusterStmt):
        return ["cluster"]
    if isinstance(node, ast.RefreshMatViewStmt) and not node.concurrent:
        return ["refresh-not-concurrent"]
    return []


def lint_files(paths: Iterable[Path], *, runner_sets_lock_timeout: bool = False,
               pg_version: str | None = None, forward: dict[Path, str] | None = None) -> LintResult:
    """Lint files in run order: a table created by an earlier one is new for later ones.

    `forward`: the text that runs forward of a file whose layout has down sections (dbmate, goose);
    squawk reads the whole file, so its findings outside the forward statements are dropped.
    """
    forward = forward or {}
    files = [_load(Path(p), forward.get(Path(p))) for p in paths]
    result = LintResult([f.path for f in files])
    if not files:
        return result
    raw, result.squawk_version = run_squawk([f.path for f in files], pg_version)
    table = dict(RULES)  # plus squawk rules Tidemark has no name for, passed through as warnings
    by_path = {str(f.path): f for f in files}
    by_resolved = {str(f.path.resolve()): f for f in files}
    # (file, statement index) -> squawk rule names mapped to ours
    squawk_hits: dict[tuple[int, int], dict[str, str]] = {}
    unparsed: set[str] = set()
    for item in raw:
        name = str(item.get("file", ""))
        f = by_path.get(name) or by_resolved.get(str(Path(name).resolve()))
        if f is None:
            continue
        rule_name = str(item.get("rule_name", ""))
        if rule_name == "syntax-error":
            unparsed.add(str(f.path))
        ours = SQUAWK_RULES.get(rule_name, f"squawk:{rule_name}")
        if ours is None:
            continue
        line = int(item.get("line", 0)) + 1  # squawk counts lines from 0
        i = f.statement_at(line)
        if i is None or (f.path in forward and not _within(f.statements[i], line)):
            continue
        squawk_hits.setdefault((files.index(f), i), {}).setdefault(ours, rule_name)
        if ours not in table:
            table.setdefault(ours, Rule(ours, WARNING, str(item.get("message") or rule_name),
                                        str(item.get("help") or "see squawk's documentation")))
    for path in sorted(unparsed):
        result.notes.append(f"squawk could not parse {path}; PostgreSQL's parser could, so only part of "
                            "squawk's rules ran on it")
    created: set[str] = set()
    for fi, f in enumerate(files):
        lock_timeout = runner_sets_lock_timeout
        warned_lock_timeout = False  # once per file: the fix is one line at its top
        for i, st in enumerate(f.statements):
            node = st.node
            if _is_lock_timeout_set(node):
                lock_timeout = True
            subject = _subject(node)
            new_table = bool(subject) and all(s in created for s in subject)
            rules: dict[str, str | None] = dict(squawk_hits.get((fi, i), {}))
            for r in _own_rules(node):
                rules.setdefault(r, None)
            if not lock_timeout and not warned_lock_timeout and any(
                lk.mode is LockMode.ACCESS_EXCLUSIVE and _norm(lk.relation) not in created
                for lk in statement_locks(node, "public") if lk.relation not in ("?", "every table")
            ) and not new_table:
                rules.setdefault("missing-lock-timeout", None)
                warned_lock_timeout = True
            ignored = f.ignores.get(i, set())
            for rule_id, squawk_rule in rules.items():
                if new_table and rule_id in TABLE_RULES:
                    continue
                if ignored is None or rule_id in ignored:
                    continue
                rule = table[rule_id]
                if rule_id == "column-type-change" and _to_text_like(node):
                    rule = _WIDENING_TO_TEXT
                result.findings.append(Finding(f.path, st.line, rule_id, rule.severity, rule.message, rule.fix,
                                               st.first_line, "squawk" if squawk_rule else "tidemark",
                                               squawk_rule))
            made = _created(node)
            if made:
                created.add(made)
    return result


def _within(st: Statement, line: int) -> bool:
    """True when a 1-based line is one of the statement's lines."""
    return st.line <= line <= st.line + st.text.count("\n")


_WIDENING_TO_TEXT = Rule(
    "column-type-change", WARNING,
    "changes a column to text or unbounded varchar: no rewrite when the column was varchar or text, "
    "but ACCESS EXCLUSIVE while it runs (other types are rewritten)",
    "make sure the column was varchar or text; run it with a lock_timeout")


def _to_text_like(node: ast.Node) -> bool:
    """Every type change of the statement is to text or unbounded varchar (no rewrite from varchar or text)."""
    if not isinstance(node, ast.AlterTableStmt):
        return False
    changes = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)
               and c.subtype == enums.AlterTableType.AT_AlterColumnType]
    if not changes:
        return False
    for c in changes:
        col = c.def_
        names = [n.sval for n in (col.typeName.names if col and col.typeName else ()) if isinstance(n, ast.String)]
        if not names or names[-1] not in ("text", "varchar") or col.raw_default is not None:  # USING rewrites
            return False
        if col.typeName.typmods:  # varchar(n): lint cannot tell a widening from a narrowing (a rewrite)
            return False
    return True


def _norm(relation: str) -> str:
    return (relation if "." in relation else f"public.{relation}").lower()


def lint_pending(runner: MigrationRunner, *, runner_sets_lock_timeout: bool = False) -> LintResult:
    """Lint a runner's pending migrations, in run order, for its server's version (the CLI's `lint` and the
    app's Lint pending)."""
    status = runner.get_migration_status()
    paths = [m.path for m in status.pending if m.path is not None]
    forward = {f.path: f.forward for f in runner.files() if f.forward_text is not None}
    return lint_files(paths, runner_sets_lock_timeout=runner_sets_lock_timeout, pg_version=status.server_version,
                      forward=forward)

