"""One runner at a time: a session-level PostgreSQL advisory lock held for the whole run.

The lock lives on the runner's own connection, which is never idle inside a transaction,
and dies with it (a killed client leaves nothing to break by hand). A waiting runner polls
`pg_try_advisory_lock` between short autocommit statements: blocking in
`pg_advisory_lock()` would hold a snapshot that a concurrent index build waits for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from app.core.errors import LockHeld
from app.core.place import PUBLIC, place_of

# A fixed name plus the history table: the same database and table always give the same key. A schema
# target's key is its schema's (place.py), so tenants of one database lock each other out only per schema.
LOCK_KEY: int = PUBLIC.lock_key  # a plain target's: the key Tidemark always took


def _halves(key: int) -> tuple[int, int]:
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


_CLASSID, _OBJID = _halves(LOCK_KEY)


def _share_for_transaction(key: int) -> str:
    # Sent at each migration's BEGIN: a transaction-level share of the run's key. SQL run inside the
    # migration (pg_advisory_unlock_all() built by EXECUTE, a function that calls it) can release the
    # session-level lock, which the checks cannot always see; this share outlives that until the
    # transaction ends, so a second runner's pg_try_advisory_lock still fails while the migration runs.
    # The blocking form: a session blocked in pg_advisory_lock() would make the try form fail, while this
    # one is granted at once (the waiter waits for our session lock anyway).
    return f"SELECT pg_catalog.pg_advisory_xact_lock_shared({int(key)})"


def _still_held_or_fail(key: int) -> str:
    # Sent just before a migration's COMMIT: fails (division by zero) when this session no longer holds
    # the run's lock, so the migration rolls back with it. pg_advisory_unlock() answers exactly that and
    # the lock is taken again at once (no other session can take it meanwhile: the share above still
    # holds). One statement, no parameters: it goes in the migration's own message or pipeline, never in
    # a round trip of its own. Reading pg_locks would say the same at ~100 us a migration (it scans the
    # whole lock table, sized by max_connections); this costs a few.
    return (f"SELECT CASE WHEN NOT pg_catalog.pg_advisory_unlock({int(key)}) "
            "THEN 1 / (pg_catalog.pg_backend_pid() * 0) "
            f"WHEN pg_catalog.pg_advisory_lock({int(key)}) IS NULL THEN 0 ELSE 1 END")


SHARE_FOR_TRANSACTION = _share_for_transaction(LOCK_KEY)
STILL_HELD_OR_FAIL = _still_held_or_fail(LOCK_KEY)


def _key_of(conn: psycopg.Connection) -> int:
    return place_of(conn).lock_key


def share_for_transaction(conn: psycopg.Connection) -> str:
    """The statement taking a transaction-level share of this connection's run lock (see above)."""
    return _share_for_transaction(_key_of(conn))


def still_held_or_fail(conn: psycopg.Connection) -> str:
    """The statement that fails when this connection's session no longer holds its run lock."""
    return _still_held_or_fail(_key_of(conn))


def _ours(key: int) -> str:
    # pg_locks, for a check that does not change anything (outside a transaction, where no share holds).
    classid, objid = _halves(key)
    return ("FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            f"AND classid = '{classid}'::oid AND objid = '{objid}'::oid AND objsubid = 1 "
            "AND mode = 'ExclusiveLock' AND granted")


LOST = "released Tidemark's migration lock (pg_advisory_unlock_all or DISCARD?)"
LOST_HINT = ("remove what releases it (pg_advisory_unlock_all(), DISCARD ALL, pg_advisory_unlock of "
             f"Tidemark's key {LOCK_KEY}); for a lock of your own use pg_advisory_xact_lock()")


def lost_hint(conn: psycopg.Connection) -> str:
    """LOST_HINT with this connection's key."""
    return LOST_HINT.replace(str(LOCK_KEY), str(_key_of(conn)))


@dataclass(frozen=True)
class Holder:
    """Who holds the migration lock."""

    pid: int
    db_user: str | None
    client: str | None
    application: str | None
    since: datetime | None

    def __str__(self) -> str:
        since = self.since.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if self.since else "?"
        app = f" ({self.application})" if self.application else ""
        return f"held by {self.db_user or '?'} from {self.client or 'local socket'}{app}, pid {self.pid}, since {since}"


def holder(conn: psycopg.Connection) -> Holder | None:
    """The session holding the lock, read from pg_locks and pg_stat_activity."""
    classid, objid = _halves(_key_of(conn))
    row = conn.execute(
        "SELECT a.pid, a.usename, coalesce(a.client_hostname, host(a.client_addr)), a.application_name, "
        "a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
        "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (classid, objid),
    ).fetchone()
    return Holder(*row) if row else None


def still_held(conn: psycopg.Connection) -> bool:
    """True when this session still holds the run's lock (read in pg_locks); one round trip."""
    row = conn.execute(f"SELECT count(*) {_ours(_key_of(conn))}").fetchone()
    return bool(row and row[0])


def try_acquire(conn: psycopg.Connection) -> bool:
    """Take the lock if free."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_key_of(conn),)).fetchone()
    return bool(row and row[0])


def acquire(
    conn: psycopg.Connection,
    wait_seconds: float = 0.0,
    *,
    poll: float = 0.25,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """Take the lock, polling up to `wait_seconds`; LockHeld names who holds it."""
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while not try_acquire(conn):
        if time.monotonic() >= deadline or (should_stop and should_stop()):
            who = holder(conn)
            msg = f"another migration run holds the lock: {who}" if who else "the migration lock is held"
            hint = " (wait for it, or pass --wait-lock SECONDS)" if wait_seconds <= 0 else (
                f" (waited {wait_seconds:g} s)"
            )
            raise LockHeld(msg + hint)
        time.sleep(poll)


def release(conn: psycopg.Connection) -> None:
    """Give the lock back, and drop the session's prepared statements, in one round trip.

    Closing the connection does both on a direct connection, but behind a session-mode pooler
    the server session goes to the next client as it is (unless the pooler resets it): a lock
    or a prepared name left there would lock out, or clash with, whoever gets it next.
    """
    if not conn.closed:
        conn.execute(f"SELECT pg_advisory_unlock({int(_key_of(conn))}); DEALLOCATE ALL")
