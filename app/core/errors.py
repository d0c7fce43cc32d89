"""Errors the user or the environment caused, each one readable line.

Everything that is not a `TidemarkError` is a bug in Tidemark: the CLI and the app show it
as "internal error" with the log file's path. A `TidemarkError` says what happened, where
(file, line or field) and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace any password in a URL or a `password=` pair with `***` (the second net)."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***@", text)
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}***", text)


class TidemarkError(Exception):
    """A known problem, caused by input or environment, not by a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        """The one-line message for the user."""
        return str(self)


class UsageError(TidemarkError):
    """Bad arguments or bad input: nothing was changed."""


class MigrationFileError(UsageError):
    """One or more migration files break the rules; nothing ran."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        head = lines[0] if len(lines) == 1 else f"{len(lines)} problems in migration files:\n  " + "\n  ".join(
            lines
        )
        super().__init__(head)


@dataclass(frozen=True)
class FileProblem:
    """A migration file problem: where, what, and what to do."""

    path: Path
    reason: str
    line: int | None = None
    column: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.reason}"
        return f"{text} ({self.hint})" if self.hint else text


class ConnectionFailed(TidemarkError):
    """The server could not be reached or refused the login."""


class PasswordNeeded(ConnectionFailed):
    """The server asks for a password none of the sources gave (`rejected`: the one given was wrong)."""

    def __init__(self, message: str, *, rejected: bool) -> None:
        super().__init__(message)
        self.rejected = rejected


class ConnectionLost(TidemarkError):
    """The connection broke in the middle of a run (server restart, terminated backend)."""


class DatabaseError(TidemarkError):
    """The server refused an operation of Tidemark's own (permissions, a broken history table)."""


class LockHeld(TidemarkError):
    """Another runner holds the migration lock."""


class ServerError(TidemarkError):
    """The local server could not be set up, started or stopped."""


class Cancelled(TidemarkError):
    """The user cancelled; the running migration was rolled back."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, with what is known of the migration under way (see core/interrupt.py).

    Still a KeyboardInterrupt, so callers that stop on Ctrl-C keep doing so.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ServerErrorInfo:
    """What PostgreSQL said, mapped back to the migration file."""

    message: str
    sqlstate: str | None = None
    detail: str | None = None
    hint: str | None = None
    file: Path | None = None
    line: int | None = None
    column: int | None = None
    statement: str | None = None
    ran_statements: list[str] = field(default_factory=list)

    def location(self) -> str:
        """`file:line:column`, as far as known."""
        if self.file is None:
            return ""
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where


class MigrationFailed(TidemarkError):
    """A migration (or a rollback) failed on the server and was rolled back."""

    completed: object | None = None  # the run's result up to the failure (RunResult / RollbackResult)
    source: str | None = None  # the failing file's text, when a caller read it to show (the GUI's worker does)

    def __init__(self, summary: str, info: ServerErrorInfo, *, partial: bool = False) -> None:
        self.info = info
        self.partial = partial
        parts = [summary]
        where = info.location()
        if where:
            parts[0] = f"{where}: {summary}"
        parts.append(f"ERROR: {info.message}" + (f" (SQLSTATE {info.sqlstate})" if info.sqlstate else ""))
        if info.detail:
            parts.append(f"DETAIL: {info.detail}")
        if info.hint:
            parts.append(f"HINT: {info.hint}")
        super().__init__("\n".join(parts))


class ManualRollback(UsageError):
    """A rollback was asked for a migration whose inverse cannot be generated."""

    def __init__(self, message: str, manual: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.manual = manual  # the manual migrations in range, newest first (the app offers to write one's)


class StateError(TidemarkError):
    """The database's history forbids the operation (modified or out-of-order files...)."""
