"""A silent network partition must not hang a run: a watchdog ends a wait nobody answers.

TCP keepalives (connect.py) find a dead peer only where the TCP peer is the server itself; a
pooler, a proxy or a NAT box in between keeps acknowledging while nothing gets through. So
while a run waits on the server for longer than the deadline, a watchdog asks the server on a
second connection what the run's session is doing. Still busy (a long index build, a lock wait,
pg_sleep): wait on. Gone, or itself waiting for us (ClientRead / ClientWrite: what it sent, or
we sent, was lost on the way): the run's connection is dead. Its server session is then ended
(pg_terminate_backend, which rolls back what was open and frees the migration lock) and the
run's socket is shut, so the run fails with a clear message. When the second connection cannot
reach the server either, only the socket is shut; the server ends the session when its own
keepalives (set by session_setup) go unanswered.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from app.core.errors import ConnectionLost

if TYPE_CHECKING:
    from app.core.connect import Target

DEADLINE_ENV = "TIDEMARK_NET_TIMEOUT"  # seconds; tests make it short
DEFAULT_DEADLINE_S = 30.0  # then the check itself takes at most as long again: about a minute in all


def deadline_s() -> float:
    """The deadline: TIDEMARK_NET_TIMEOUT seconds when set to a positive number, else 30 s."""
    raw = os.environ.get(DEADLINE_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_DEADLINE_S
    return value if 0 < value < float("inf") else DEFAULT_DEADLINE_S


class WatchedConnection(psycopg.Connection[Any]):
    """A psycopg connection that records since when it has been waiting on the server."""

    waiting_since: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        outer = self.waiting_since is None
        if outer:
            self.waiting_since = time.monotonic()
        try:
            return super().wait(gen, interval, timeout)
        finally:
            if outer:
                self.waiting_since = None


class Watchdog:
    """Watches one connection while a run holds it (a thread; `stop` ends it)."""

    def __init__(self, conn: psycopg.Connection, backend_pid: int,
                 reopen: Callable[[int], psycopg.Connection], limit_s: float | None = None) -> None:
        self.conn = conn
        self.pid = backend_pid
        self.reopen = reopen  # opens a second connection with the given connect_timeout (s)
        self.limit = limit_s or deadline_s()
        self.tripped: str | None = None  # why the connection was declared dead
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tidemark-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the watch (the run is over)."""
        self._stop.set()
        self._thread.join(self.limit * 3 + 5)

    def _watch(self) -> None:
        step = min(self.limit / 4, 1.0)
        cleared = 0.0  # a wait counts from the later of its start and the last check that found it alive
        while not self._stop.wait(step):
            since = getattr(self.conn, "waiting_since", None)
            if since is None or time.monotonic() - max(since, cleared) < self.limit:
                continue
            verdict = self._ask_server()
            if self._stop.is_set() or getattr(self.conn, "waiting_since", None) is None:
                continue  # the answer came meanwhile
            if verdict is None:
                cleared = time.monotonic()
                continue
            self.tripped = verdict
            self._shut()
            return

    def _ask_server(self) -> str | None:
        """None while the run's server session still works for it, else what was found."""
        waited = f"no answer from the server for {self.limit:g} s (a network partition?)"
        try:
            probe = self.reopen(max(2, round(self.limit)))
        except Exception:
            return (f"{waited}; the server cannot be reached either: it ends the run's session, and frees "
                    "the migration lock, when its TCP keepalives go unanswered")
        try:
            row = query_row(probe, f"SELECT wait_event FROM pg_stat_activity WHERE pid = {int(self.pid)}", self.limit)
            if row is not None and row[0] not in ("ClientRead", "ClientWrite"):
                return None  # it runs (or waits on a lock, IO, a sleep): a long statement, not a partition
            if row is None:
                return f"{waited}; the run's session on the server had ended, which freed the migration lock"
            query_row(probe, f"SELECT pg_terminate_backend({int(self.pid)})", self.limit)
            return f"{waited}; the server ended the run's session, which freed the migration lock"
        except (psycopg.Error, OSError):
            return f"{waited}; the run's session could not be checked on a second connection"
        finally:
            probe.close()

    def _shut(self) -> None:
        """Wake the run's wait: shut its socket (the run then fails as on any lost connection)."""
        try:
            fd = self.conn.pgconn.socket
            with socket.socket(fileno=os.dup(fd)) as s:
                s.shutdown(socket.SHUT_RDWR)
        except (OSError, psycopg.Error):
            pass


def query_row(conn: psycopg.Connection, text: str, limit: float) -> tuple[str | None, ...] | None:
    """The first column of the last row of a simple query, waiting at most `limit` s (a pooler may make
    it wait for a server session): TimeoutError past it, OSError with the server's message on an error."""
    pg = conn.pgconn
    pg.send_query(text.encode())
    deadline = time.monotonic() + limit
    pg.consume_input()
    while pg.is_busy():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within {limit:g} s")
        select.select([pg.socket], [], [], left)
        pg.consume_input()
    row = None
    while (res := pg.get_result()) is not None:
        if res.status == psycopg.pq.ExecStatus.FATAL_ERROR:
            raise OSError((res.error_message or b"").decode(errors="replace"))
        if res.status == psycopg.pq.ExecStatus.TUPLES_OK and res.ntuples:
            value = res.get_value(0, 0)
            row = (None if value is None else value.decode(),)
    return row


@contextmanager
def partition_named(watchdog: Watchdog, target: Target) -> Iterator[None]:
    """A connection the watchdog declared dead fails with what it found, before what libpq said."""
    try:
        yield
    except (ConnectionLost, psycopg.OperationalError) as exc:
        if watchdog.tripped is None:
            raise
        said = str(exc).strip().splitlines() or ["server closed the connection"]
        detail = said[0] if isinstance(exc, ConnectionLost) else f"connection to {target.display()} lost"
        raise ConnectionLost(f"{watchdog.tripped}: {detail}") from None
