"""Progress reports and cancellation, for the CLI, the desktop app and scripts alike.

No Qt here: long engine calls take a `progress` callback (a no-op by default) and a
`CancelToken` that any thread may set. Setting it while a statement runs also sends
PostgreSQL a cancel request for that statement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app.core.errors import Cancelled

if TYPE_CHECKING:  # psycopg is not needed to print progress: the CLI's --help stays light
    import psycopg


class Phase(StrEnum):
    """What a progress event reports."""

    CONNECTED = "connected"
    LOCK_WAIT = "lock_wait"
    MIGRATION_START = "migration_start"
    STATEMENT_DONE = "statement_done"
    MIGRATION_DONE = "migration_done"
    HEARTBEAT = "heartbeat"
    MESSAGE = "message"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a long operation: migration i of n, what happens, time so far."""

    phase: Phase
    index: int = 0  # 1-based number of the migration in this run
    total: int = 0
    migration: str = ""
    message: str = ""
    statement: str = ""
    line: int | None = None
    elapsed_ms: float = 0.0  # of the current step (statement or migration)
    run_elapsed_ms: float = 0.0


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    """The default callback: ignore progress."""


class CancelToken:
    """Set from any thread to stop work between migrations and cancel the running statement."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._between = threading.Event()  # stop before the next migration; the running one finishes

    def stop_between(self) -> None:
        """Stop before the next migration starts, letting the running one finish (a fleet's stop rule)."""
        self._between.set()

    @property
    def stopping(self) -> bool:
        """True once cancel() or stop_between() was called: no new migration starts."""
        return self._event.is_set() or self._between.is_set()

    def check_between(self) -> None:
        """Between migrations: raise Cancelled after cancel() or stop_between()."""
        self.check()
        if self._between.is_set():
            raise Cancelled("stopped before the next migration (another target failed): the migrations before "
                            "it are applied, nothing after them ran")

    def cancel(self) -> None:
        """Ask the work to stop; the running statement gets a server-side cancel request."""
        self._event.set()
        with self._lock:
            conn = self._conn
        if conn is not None and not conn.closed:
            import psycopg

            try:
                conn.cancel_safe(timeout=5.0)
            except (psycopg.Error, OSError):
                pass  # the statement finished meanwhile, or the server is gone: nothing to cancel

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise Cancelled if cancel() was called."""
        if self._event.is_set():
            raise Cancelled("cancelled: nothing more was run; the migration in progress was rolled back")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on cancel; True if cancelled."""
        return self._event.wait(seconds)

    def attach(self, conn: psycopg.Connection | None) -> None:
        """Register the connection whose statement cancel() should interrupt (None to clear)."""
        with self._lock:
            self._conn = conn
        if conn is not None and self._event.is_set():
            self.cancel()


class Clock:
    """Milliseconds since a start, for events and results."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        """Milliseconds elapsed."""
        return (time.perf_counter() - self.start) * 1000.0
