"""Connection poolers: a run needs one server session for its whole length, or it must not start.

The migration lock is a session-level advisory lock, and a pipelined run prepares its history
INSERT once per session. Behind a pooler in transaction (or statement) mode each transaction
may run on another server session, which other clients share between ours: the lock would
guard nothing (and stay behind on a pooled session), prepared names would clash. So before a
run takes the lock it checks, from what the connection does rather than its port:

1. The key the server side sent at login names the backend process, unless something in
   between made its own (every pooler does, to route cancel requests): `pg_backend_pid()`
   equal to it means a direct connection (or a plain TCP forwarder), and nothing more is asked.
2. Otherwise probe connections open transactions and keep them open, up to PROBES at once. A
   pooler that shares sessions hands one of them the session ours left idle (PgBouncer reuses
   the last one first), or moves ours to another one while they hold theirs: either is
   refused, before anything changed. A session-mode pooler keeps ours pinned: the probes get
   other sessions or none, and it then behaves as a direct connection. Still a test of
   behaviour, not a proof: a pooler that never hands out our idle session would pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from app.core import lock
from app.core.deadline import query_row
from app.core.errors import TidemarkError, UsageError

HANDOVER_WAIT_S = 3.0  # how long a probe connection waits for a server session of its own
PROBES = 6  # probes held open at once before a session that stayed ours counts as pinned


class TransactionPooler(UsageError):
    """The connection goes through a pooler that shares server sessions between transactions."""


@dataclass(frozen=True)
class Session:
    """What the check found about the connection's server session."""

    backend_pid: int
    pooled: bool  # something between us and the server issued its own cancel key


def check_session(conn: psycopg.Connection, reopen: Callable[[], psycopg.Connection], where: str,
                  *, wait_s: float = HANDOVER_WAIT_S) -> Session:
    """Refuse (TransactionPooler, exit 2) a connection whose server session does not stay ours.

    `conn` is idle, in autocommit; `reopen` opens one more connection to the same target.
    """
    pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
    if pid == conn.info.backend_pid:
        return Session(pid, pooled=False)
    probes: list[psycopg.Connection] = []
    try:
        # Each probe keeps its transaction open, so it holds its server session: an idle session
        # of a sharing pooler is handed out sooner or later (ours too, or ours moves), also while
        # other clients take sessions at the same time; a pinned one never is.
        for _ in range(PROBES):
            try:
                other = reopen()
            except (TidemarkError, psycopg.Error) as exc:  # the mode stays unknown: refuse
                raise TransactionPooler(_refusal(where, "a pooler", f"its mode could not be checked ({exc})")
                                        ) from None
            probes.append(other)
            theirs = _begin_and_pid(other, wait_s)
            if isinstance(theirs, str):  # e.g. PgBouncer in statement mode refuses transactions
                raise TransactionPooler(_refusal(where, name_pooler(conn), f"it refused a transaction ({theirs})"))
            if theirs == pid:
                raise TransactionPooler(_refusal(where, name_pooler(conn, "transaction"),
                                                 "it gave this run's server session to another client"))
            if theirs is None:  # no session for the probe while ours sat idle: ours is pinned
                break
            again = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
            if again != pid:
                raise TransactionPooler(_refusal(where, name_pooler(conn, "transaction"),
                                                 "it moved this run to another server session between "
                                                 "two transactions"))
        return Session(pid, pooled=True)
    finally:
        for other in probes:
            other.close()


def _begin_and_pid(conn: psycopg.Connection, wait_s: float) -> int | str | None:
    """BEGIN and the backend pid on `conn`; None when no server session answered in time, the
    error's text when it refused."""
    try:
        row = query_row(conn, "BEGIN; SELECT pg_backend_pid()", wait_s)
    except TimeoutError:
        return None
    except OSError as exc:
        return " ".join(str(exc).split()) or "no answer"
    return int(row[0] or 0) if row else "no answer"


def name_pooler(conn: psycopg.Connection, mode: str | None = None) -> str:
    """The pooler's name as far as it can be told (and its mode when known), for a message."""
    info = conn.info
    host = (info.host or "").lower()
    in_mode = f" in {mode} mode" if mode else ""
    if "pooler.supabase.com" in host or info.port == 6543:  # the port only names it, never decides
        return f"Supabase's pooler (Supavisor){in_mode}"
    try:  # PgBouncer answers SHOW VERSION on its admin database, to users it lets in there
        params = {**info.get_parameters(), "dbname": "pgbouncer", "connect_timeout": "3"}
        params.pop("options", None)
        with psycopg.connect(autocommit=True, password=info.password or None, **params) as admin:
            cur = admin.execute("SHOW VERSION")
            row = cur.fetchone()
            if row and "pgbouncer" in str(row[0]).lower():
                return f"{row[0]}{in_mode}"
    except (psycopg.Error, OSError):
        pass
    return f"a connection pooler{in_mode} (PgBouncer, Supavisor, ...)"


def _refusal(where: str, pooler: str, why: str) -> str:
    return (f"{where} goes through {pooler}: {why}, so the migration lock cannot hold; "
            "nothing was changed. Use the pooler's session-mode URL or the direct database URL "
            "(Supabase: port 5432 of the pooler host, or db.PROJECTREF.supabase.co)")


def give_back(conn: psycopg.Connection) -> None:
    """Leave the server session clean, on every way out: a pooler may hand it to someone else."""
    if conn.closed or conn.broken or conn.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF:
        return  # gone, or unusable: a pooler drops a server session its client left mid-exchange
    status = conn.info.transaction_status
    try:
        if status in (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR):
            conn.rollback()
            status = conn.info.transaction_status
        if status == psycopg.pq.TransactionStatus.IDLE:
            lock.release(conn)
    except psycopg.Error:
        pass  # the connection closes next; a direct server session ends with it
