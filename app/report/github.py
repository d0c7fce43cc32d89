"""GitHub Actions workflow commands: `::error file=F,line=L,title=T::message`, one per problem.

A failed check is an ::error, a warning a ::warning, so lint findings, failed migrations and
modified files show on the pull request's lines; passed and skipped checks print nothing, and a
last ::notice line gives the counts. Escaped by the runner's rules (actions/toolkit's
command.ts): in the message %, CR and LF; in a property also : and ,.
"""

from __future__ import annotations

from app.core.errors import redact
from app.core.text import visible
from app.report.checks import Check, CheckRun


def escape_data(text: str) -> str:
    """A message: % first (so the escapes that follow are not escaped again), then CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (file, title): as a message, and : and , too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _clean(text: str) -> str:
    # other controls would reach the log raw (an escape sequence rewrites the terminal's lines)
    return visible(redact(text))


def command(kind: str, message: str, *, file: str | None = None, line: int | None = None,
            column: int | None = None, title: str | None = None) -> str:
    """One workflow command line."""
    props = []
    if file:
        props.append(f"file={escape_property(_clean(file))}")
        if line is not None:
            props.append(f"line={line}")
            if column is not None:
                props.append(f"col={column}")
    if title:
        props.append(f"title={escape_property(_clean(title))}")
    return f"::{kind}{' ' + ','.join(props) if props else ''}::{escape_data(_clean(message))}"


def _line(c: Check, command_name: str, on: str = "") -> str:
    kind = "error" if c.outcome == "failed" else "warning"
    message = c.message + (f"\n{c.detail}" if c.detail else "")
    return command(kind, message, file=c.file, line=c.line, column=c.column,
                   title=f"tidemark {command_name}{on}: {c.rule or c.name}")


def render(run: CheckRun) -> str:
    """The commands, one a line, and the counts as a ::notice."""
    on = f" on {run.target}" if run.fleet and run.target else ""  # a fleet: which target, in each title
    lines = [_line(c, run.command, on) for c in run.checks if c.outcome in ("failed", "warning")]
    labels = {"passed": "passed", "failed": "failed", "warning": "warnings", "skipped": "skipped"}
    counts = ", ".join(f"{run.count(o)} {label}" for o, label in labels.items() if run.count(o))  # type: ignore[arg-type]
    on = f" on {run.target}" if run.target else ""
    lines.append(command("notice", f"tidemark {run.command}{on}: {counts or 'nothing to check'}"))
    return "\n".join(lines) + "\n"


def render_all(runs: list[CheckRun]) -> str:
    """A fleet: each target's commands and its ::notice in turn (the target is in every title)."""
    return "".join(render(r) for r in runs)
