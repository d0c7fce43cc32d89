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
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pglast import ast, enums

from app.core.errors import TidemarkError
from app.core.jsonable import jsonable
from app.core.sql import LockMode, Statement, parse_file, qualified, statement_locks

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Rule:
    """One rule: its severity, what is wrong, and the safer way."""

    id: str
    severity: str
    message: str
    fix: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("not-null-column-without-default", ERROR,
         "adds a NOT NULL column without a default to an existing table: fails on any row, or needs a rewrite",
         "add it nullable (or with a constant DEFAULT), backfill in batches, then add a CHECK (col IS NOT NULL) "
         "NOT VALID, VALIDATE it, and SET NOT NULL"),
    Rule("default-rewrites-table", ERROR,
         "adds a column with a volatile default (or a generated column): rewrites the whole table under "
         "ACCESS EXCLUSIVE",
         "add the column without a default, backfill in batches, then SET DEFAULT for new rows"),
    Rule("index-not-concurrent", ERROR,
         "builds an index on an existing table without CONCURRENTLY: writes to the table wait until it is built",
         "CREATE INDEX CONCURRENTLY (Tidemark runs it outside a transaction)"),
    Rule("drop-index-not-concurrent", WARNING,
         "drops an index without CONCURRENTLY: takes ACCESS EXCLUSIVE on its table",
         "DROP INDEX CONCURRENTLY"),
    Rule("reindex-not-concurrent", ERROR,
         "reindexes without CONCURRENTLY: blocks writes (and reads that use the index) until done",
         "REINDEX ... CONCURRENTLY"),
    Rule("column-type-change", ERROR,
         "changes a column's type: ACCESS EXCLUSIVE, and most changes rewrite the table and its indexes",
         "add a new column, backfill it, switch readers and writers, then drop the old one"),
    Rule("rename-column", ERROR,
         "renames a column: running clients that use the old name break at once",
         "add the new column (or a view), deploy code that uses it, then drop the old name later"),
    Rule("rename-table", ERROR,
         "renames a table: running clients that use the old name break at once",
         "create a view with the old name while clients move, or rename in a release of its own"),
    Rule("drop-column", WARNING,
         "drops a column: running clients that still read or write it break",
         "first deploy code that no longer uses it, then drop it in a later migration"),
    Rule("drop-table", WARNING,
         "drops a table: running clients that still use it break, and its data is gone",
         "first deploy code that no longer uses it, keep a backup, then drop it in a later migration"),
    Rule("drop-database", ERROR, "drops a database", "do not drop databases from a migration"),
    Rule("constraint-without-not-valid", ERROR,
         "adds a constraint that is checked against every row while writes (or reads) wait",
         "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock)"),
    Rule("unique-constraint-builds-index", ERROR,
         "adds a UNIQUE/PRIMARY KEY constraint that builds its index under ACCESS EXCLUSIVE",
         "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX"),
    Rule("add-serial-column", ERROR,
         "adds a serial or primary key column to an existing table: rewrites it under ACCESS EXCLUSIVE",
         "add a nullable column, backfill in batches, build the unique index concurrently, then add the key"),
    Rule("set-not-null", ERROR,
         "SET NOT NULL on an existing column scans the whole table under ACCESS EXCLUSIVE",
         "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT c, then SET NOT NULL "
         "(PostgreSQL 12+ skips the scan) and drop the check"),
    Rule("truncate-cascade", ERROR,
         "TRUNCATE ... CASCADE also empties every table that references it",
         "truncate the tables you mean, by name"),
    Rule("missing-lock-timeout", WARNING,
         "takes ACCESS EXCLUSIVE on an existing table with no lock_timeout: if it waits behind a long query, "
         "every query on the table queues behind it",
         "SET lock_timeout = '5s' at the top of the file (or run migrate --lock-timeout 5s --retries 3)"),
    Rule("vacuum-full", ERROR,
         "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: no reads or writes until done",
         "plain VACUUM, or pg_repack / pg_squeeze outside migrations"),
    Rule("cluster", ERROR,
         "CLUSTER rewrites the table under ACCESS EXCLUSIVE: no reads or writes until done",
         "pg_repack outside migrations"),
    Rule("refresh-not-concurrent", WARNING,
         "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view until done",
         "REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view)"),
)}

# squawk's rule names -> ours. None: not about locks or running clients (style), or a rule
# Tidemark makes itself with more context (lock_timeout), or one that does not apply to how
# Tidemark runs files (it wraps each in a transaction itself, and runs CONCURRENTLY outside one).
SQUAWK_RULES: dict[str, str | None] = {
    "adding-required-field": "not-null-column-without-default",
    "adding-field-with-default": "default-rewrites-table",
    "require-concurrent-index-creation": "index-not-concurrent",
    "require-concurrent-index-deletion": "drop-index-not-concurrent",
    "require-concurrent-reindex": "reindex-not-concurrent",
    "changing-column-type": "column-type-change",
    "renaming-column": "rename-column",
    "renaming-table": "rename-table",
    "ban-drop-column": "drop-column",
    "ban-drop-table": "drop-table",
    "ban-drop-database": "drop-database",
    "constraint-missing-not-valid": "constraint-without-not-valid",
    "adding-foreign-key-constraint": "constraint-without-not-valid",
    "disallowed-unique-constraint": "unique-constraint-builds-index",
    "adding-serial-primary-key-field": "add-serial-column",
    "adding-not-nullable-field": "set-not-null",
    "ban-truncate-cascade": "truncate-cascade",
    "require-lock-timeout": None,
    "require-statement-timeout": None,
    "prefer-robust-stmts": None,
    "prefer-bigint-over-int": None,
    "prefer-bigint-over-smallint": None,
    "prefer-identity": None,
    "prefer-text-field": None,
    "prefer-timestamptz": None,
    "ban-char-field": None,
    "transaction-nesting": None,
    "ban-concurrent-index-creation-in-transaction": None,
    "syntax-error": None,  # pglast (PostgreSQL's parser) already accepted the file
}

# Rules about a table that exists before the run: silent for tables the run itself creates.
_TABLE_RULES = {
    "not-null-column-without-default", "default-rewrites-table", "index-not-concurrent", "column-type-change",
    "rename-column", "rename-table", "drop-column", "drop-table", "constraint-without-not-valid",
    "unique-constraint-builds-index", "add-serial-column", "set-not-null", "missing-lock-timeout",
    "reindex-not-concurrent", "vacuum-full", "cluster", "drop-index-not-concurrent",
}

_IGNORE = re.compile(r"^\s*--\s*(?:tidemark\s*:\s*lint-ignore|squawk-ignore)\b\s*(?P<rules>[\w\-, ]*)$",
                     re.IGNORECASE)


class LintUnavailable(TidemarkError):
    """The squawk binary could not be found or run."""


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


# --- squawk --------------------------------------------------------------------------------


def squawk_binary() -> Path:
    """The squawk of our environment (next to our Python's scripts), or one on PATH."""
    override = os.environ.get("TIDEMARK_SQUAWK")
    exe = "squawk.exe" if sys.platform == "win32" else "squawk"
    candidates = [Path(override)] if override else []
    candidates += [Path(sysconfig.get_path("scripts")) / exe, Path(sys.executable).parent / exe]
    found = shutil.which("squawk")
    if found:
        candidates.append(Path(found))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    how = "reinstall Tidemark" if getattr(sys, "frozen", False) else "reinstall Tidemark (pip install squawk-cli)"
    raise LintUnavailable(f"lint needs squawk, which is missing: {how}, or set TIDEMARK_SQUAWK to its path")


def run_squawk(paths: list[Path], pg_version: str | None = None) -> tuple[list[dict], str]:
    """squawk's JSON findings for the files, and its version."""
    exe = squawk_binary()
    try:
        version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30,
                                 check=True).stdout.strip().removeprefix("squawk ").strip()
        args = [str(exe), "--reporter=json", "--no-error-on-unmatched-pattern"]
        if pg_version:
            args.append(f"--pg-version={pg_version}")
        proc = subprocess.run([*args, *(str(p) for p in paths)], capture_output=True, text=True, timeout=300,
                              check=False, stdin=subprocess.DEVNULL, cwd=str(Path.cwd()))
    except (OSError, subprocess.SubprocessError) as exc:
        raise LintUnavailable(f"cannot run {exe}: {exc}") from None
    try:
        data = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LintUnavailable(f"squawk failed (exit {proc.returncode}): {tail[-1] if tail else 'no output'}"
                              ) from None
    if not isinstance(data, list):
        raise LintUnavailable("squawk gave output Tidemark does not understand (expected a JSON list)")
    return data, version


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
                if new_table and rule_id in _TABLE_RULES:
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

