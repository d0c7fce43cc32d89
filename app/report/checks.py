"""Results as checks for CI: one per migration, finding or object, passed or not, with its place.

The CI formats (app/report/junit.py, github.py, sarif.py) render a CheckRun and know nothing of
the commands; each command's result becomes a CheckRun here. File paths are made relative to the
working folder when under it, as CI systems show them against the checkout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.core.drift import DriftResult
    from app.core.errors import MigrationFailed
    from app.core.fleet import FleetResult, MemberResult
    from app.core.lint import LintResult
    from app.core.rehearse import RehearsalResult
    from app.core.results import RunResult
    from app.core.status import MigrationStatus

Outcome = Literal["passed", "failed", "warning", "skipped"]


@dataclass(frozen=True)
class Check:
    """One test case: a migration, a lint finding or a catalog object."""

    name: str
    outcome: Outcome
    message: str = ""  # one line: why it failed (or the warning)
    detail: str = ""  # more lines (definitions, the server's DETAIL/HINT)
    file: str | None = None
    line: int | None = None
    column: int | None = None
    rule: str | None = None  # a lint rule's id
    rule_help: str = ""  # the rule's safer way (SARIF's rule description)
    time_ms: float = 0.0


@dataclass
class CheckRun:
    """What one command checked, on one target."""

    command: str  # "status", "migrate", ...
    target: str
    checks: list[Check] = field(default_factory=list)
    time_ms: float = 0.0
    fleet: bool = False  # one target of a fleet's run (the renderers name the target on each line)

    def count(self, outcome: Outcome) -> int:
        """How many checks came to `outcome`."""
        return sum(1 for c in self.checks if c.outcome == outcome)


def shown_path(path: Path | str | None) -> str | None:
    """The path relative to the working folder when it is under it (as the CI's checkout shows it)."""
    if path is None:
        return None
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return p.as_posix() if not p.is_absolute() else str(p)


def from_status(status: MigrationStatus) -> CheckRun:
    """applied: passed; pending: skipped; modified, missing, failed: failed."""
    why = {"modified": "changed since it was applied (checksum differs from the history's)",
           "missing": "applied on the database, but its file is gone",
           "failed": "its last attempt failed and it is not applied"}
    run = CheckRun("status", status.target)
    for m in status.migrations:
        state = m.state.value
        outcome: Outcome = "passed" if state == "applied" else "skipped" if state == "pending" else "failed"
        message = why.get(state, "pending: not applied yet" if state == "pending" else "")
        run.checks.append(Check(m.name, outcome, message, file=shown_path(m.path),
                                line=1 if outcome == "failed" and m.path else None,
                                time_ms=float(m.execution_time_ms or 0)))
    return run


def from_run(result: RunResult | None, failure: MigrationFailed | None = None, *,
             migrations_dir: Path | None = None, target: str = "") -> CheckRun:
    """Each applied migration passed; the one that failed with the server's message, file and line."""
    run = CheckRun("migrate", result.target if result is not None and result.target else target)
    if result is not None:
        run.time_ms = result.total_ms
        for a in result.applied:
            run.checks.append(Check(a.name, "passed", time_ms=float(a.execution_time_ms),
                                    file=_file(migrations_dir, a.name)))
    if failure is not None:
        info = failure.info
        name = Path(info.file).name if info.file else "migration"
        extra = [x for x in (f"DETAIL: {info.detail}" if info.detail else "", f"HINT: {info.hint}" if info.hint
                             else "", f"statement: {info.statement}" if info.statement else "") if x]
        message = info.message + (f" (SQLSTATE {info.sqlstate})" if info.sqlstate else "")
        run.checks.append(Check(name, "failed", message, "\n".join(extra), shown_path(info.file), info.line,
                                info.column))
    return run


def _file(folder: Path | None, name: str) -> str | None:
    if folder is None or not (folder / name).is_file():
        return None
    return shown_path(folder / name)


def from_lint(result: LintResult) -> CheckRun:
    """A check per finding (error: failed, warning: warning); a file without findings passes."""
    run = CheckRun("lint", "")
    with_findings = {f.path for f in result.findings}
    for f in result.findings:
        run.checks.append(Check(f"{shown_path(f.path)}:{f.line} {f.rule}",
                                "failed" if f.severity == "error" else "warning", f.message,
                                f"{f.statement}\nsafer: {f.fix}", shown_path(f.path), f.line,
                                rule=f.rule, rule_help=f.fix))
    for p in result.files:
        if p not in with_findings:
            run.checks.append(Check(str(shown_path(p)), "passed", file=shown_path(p)))
    return run


def from_rehearsal(r: RehearsalResult, migrations_dir: Path | None = None) -> CheckRun:
    """A check per pending migration; a copy that did not restore is one failed check."""
    run = CheckRun("rehearse", r.source, time_ms=float(r.total_ms))
    if not r.restored:
        run.checks.append(Check("restore the copy", "failed", r.restore_error or "the copy's catalog differs "
                                "from the source's", "\n".join(r.restore_differences)))
    for m in r.migrations:
        file = _file(migrations_dir, m.name)
        if m.apply_error is not None:
            run.checks.append(_failed_apply(m.name, m.apply_error, file))
        elif not m.ok:
            run.checks.append(Check(m.name, "failed", f"rollback {m.rollback}: {m.rollback_note}",
                                    "\n".join(m.differences), file, 1 if file else None))
        elif not m.applied:
            run.checks.append(Check(m.name, "skipped", "not run: an earlier migration failed", file=file))
        else:
            note = f"rollback {m.rollback}" + (f": {m.rollback_note}" if m.rollback_note else "")
            run.checks.append(Check(m.name, "passed", note, file=file, time_ms=float(m.apply_ms or 0)))
    return run


# MigrationFailed's message: "FILE:LINE[:COL]: summary", then "ERROR: the server's message", DETAIL, HINT
_LOCATED = re.compile(r"^.+?:(\d+)(?::(\d+))?: ")


def _failed_apply(name: str, error: str, file: str | None) -> Check:
    lines = error.splitlines() or [""]
    server = next((ln.removeprefix("ERROR: ") for ln in lines if ln.startswith("ERROR: ")), lines[0])
    where = _LOCATED.match(lines[0])
    line = int(where.group(1)) if where else (1 if file else None)
    column = int(where.group(2)) if where and where.group(2) else None
    return Check(name, "failed", server, "\n".join(lines), file, line, column)


def from_drift(r: DriftResult) -> CheckRun:
    """A check per object compared: agreeing ones pass, each difference fails with both definitions."""
    run = CheckRun("drift", r.target, time_ms=float(r.total_ms))
    if r.replay_error is not None:
        run.checks.append(Check("replay the applied migrations", "failed", r.replay_error))
        return run
    for key in r.agreeing:
        run.checks.append(Check(key, "passed"))
    for d in r.differences:
        run.checks.append(Check(d.key, "failed", d.what, f"files:  {d.files or '(none)'}\n"
                                f"target: {d.target or '(none)'}"))
    return run



def from_fleet(command: str, result: FleetResult, convert: Callable[[Any, MemberResult], CheckRun | None]
               ) -> list[CheckRun]:
    """A CheckRun per target, by `convert` from the target's result (as a single run's); a target that
    failed without a failed check (locked, unreachable, a migration's error) gets one from its error,
    one that was not started or was stopped a skipped check saying so."""
    from app.core.fleet import Outcome

    runs = []
    for m in result.members:
        run = convert(m.result, m) if m.result is not None else None
        run = run or CheckRun(command, m.target)
        run.target, run.fleet = f"{m.name} ({m.target})" if m.name != m.target else m.target, True
        run.time_ms = run.time_ms or m.elapsed_ms
        if m.outcome is not Outcome.OK and not any(c.outcome == "failed" for c in run.checks):
            if m.outcome in (Outcome.FAILED, Outcome.LOCKED):
                run.checks.append(_member_failure(command, m.name, m.error or m.outcome.value))
            else:
                said = f"{m.outcome.value}: {m.error}" if m.error else m.outcome.value
                run.checks.append(Check(f"{command} on {m.name}", "skipped", said.splitlines()[0]))
        runs.append(run)
    return runs


def _member_failure(command: str, name: str, error: str) -> Check:
    """A failed check from a target's one-line (or MigrationFailed's located) error."""
    first = error.splitlines()[0] if error else ""
    where = re.match(r"^(.+?\.sql):\d+(?::\d+)?: ", first)
    if where:
        path = where.group(1)
        return _failed_apply(Path(path).name, error, shown_path(path))
    return Check(f"{command} on {name}", "failed", first, "\n".join(error.splitlines()[1:]))
