"""The runner's connection plumbing: a connection tied to the cancel token, the migration lock held
for a run (session setup, the pooler's session check, the deadline watchdog, the advisory lock and
its wait), and the mapping of a psycopg error that escaped the engine into one known error.

Moved out of app.core.runner, which keeps the seed's API; its `_connection` and `_locked` call these.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import psycopg

from app.core import lock
from app.core.connect import Target, connect, session_setup
from app.core.deadline import Watchdog, partition_named
from app.core.errors import ConnectionLost, DatabaseError
from app.core.options import Options
from app.core.pooler import check_session, give_back
from app.core.progress import CancelToken, Phase, ProgressCallback, ProgressEvent

if TYPE_CHECKING:
    from app.core.notify import Notification
    from app.core.runner import MigrationRunner

_P = ParamSpec("_P")
_R = TypeVar("_R")


def database_errors(method: Callable[Concatenate[MigrationRunner, _P], _R]
                    ) -> Callable[Concatenate[MigrationRunner, _P], _R]:
    """Turn a psycopg error that escaped the engine's own handling into a one-line known error."""

    @functools.wraps(method)
    def wrapper(self: MigrationRunner, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except psycopg.OperationalError as exc:
            from app.core.connect import libpq_message

            raise ConnectionLost(f"connection to {self.target.display()} lost: {libpq_message(exc)}; nothing more ran "
                                 "(`tidemark status` shows where things stand)") from None
        except psycopg.Error as exc:
            diag = exc.diag
            text = diag.message_primary or str(exc).strip().split("\n")[0]
            state = f" (SQLSTATE {diag.sqlstate})" if diag.sqlstate else ""
            raise DatabaseError(f"{self.target.display()}: {text}{state}") from None

    return wrapper


@contextmanager
def connection(target: Target, cancel: CancelToken | None = None) -> Iterator[psycopg.Connection]:
    """A connection to the target, registered with `cancel` (so cancelling cancels its statement)."""
    conn = connect(target)
    if cancel is not None:
        cancel.attach(conn)
    try:
        yield conn
    finally:
        if cancel is not None:
            cancel.attach(None)
        conn.close()


@contextmanager
def locked(conn: psycopg.Connection, target: Target, options: Options, cancel: CancelToken,
           progress: ProgressCallback, notes: list[Notification] | None = None) -> Iterator[None]:
    """The migration lock on `conn` for the block, with the session checks and the watchdog around it;
    `notes`: the run's notifications, told when it has waited their `lock_wait` seconds for the lock."""
    conn.execute("; ".join(session_setup(conn)))  # one round trip
    # Before the lock: behind a transaction-mode pooler it would stay on a shared session.
    session = check_session(conn, lambda: connect(target), target.display())
    watchdog = Watchdog(conn, session.backend_pid, lambda timeout: connect(target, connect_timeout=timeout))
    try:
        with partition_named(watchdog, target):
            yield from _hold_lock(conn, target, options, cancel, progress, notes or [])
    finally:
        watchdog.stop()


def _hold_lock(conn: psycopg.Connection, target: Target, options: Options, cancel: CancelToken,
               progress: ProgressCallback, notes: list[Notification]) -> Iterator[None]:
    if not lock.try_acquire(conn):
        if options.wait_lock_s <= 0:
            lock.acquire(conn, 0)
        who = lock.holder(conn)
        progress(ProgressEvent(Phase.LOCK_WAIT, message=f"waiting for the migration lock ({who})"))
        from app.core.notify import LockWaitAlarm

        alarm = LockWaitAlarm(target, notes, say(progress), str(who or "held"))
        lock.acquire(conn, options.wait_lock_s, should_stop=lambda: alarm() or cancel.cancelled)
        cancel.check()
    try:
        yield
    finally:
        give_back(conn)


def say(progress: ProgressCallback) -> Callable[[str], None]:
    """A line for the user through the progress callback (the CLI prints it, the app logs it)."""
    return lambda text: progress(ProgressEvent(Phase.MESSAGE, message=text))
