"""Running the pending migrations of one `migrate`, sending ahead where that is safe.

A plain transactional migration (no catalog read between its statements, no session change)
is parsed, planned and put on the wire while the server still runs the ones before it
(see pipeline.py): the server, not the client, sets the pace. Anything else (a migration that
runs outside a transaction, reads the catalog to plan its rollback, changes its session, or
a verbose run that times each statement) waits for the pipeline to empty and runs as before,
one round trip at a time. Either way each migration commits with its history row or not at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq

from app.core import history, lock
from app.core.apply import (
    LOCK_CHECK,
    TX_ELAPSED_MS,
    LockTimeout,
    applied_rows,
    apply,
    failure,
    supabase_rows,
    timeout_settings,
)
from app.core.errors import DatabaseError
from app.core.failures import connection_lost, is_connection_error
from app.core.guards import Checked
from app.core.history import Raw, prepared_insert
from app.core.pipeline import Pipeline, supported
from app.core.place import place_of
from app.core.prepared import Context, Prepared, prepare_many
from app.core.progress import Phase
from app.core.results import AppliedMigration
from app.core.rollback import Inverse, assemble, catalog_names, settled
from app.core.script import Script, ScriptError, rollback_if_needed

# Migrations sent ahead of the one the server runs: enough to keep it busy, few enough that
# little is queued behind a cancel (the server skips whatever follows a failure anyway).
AHEAD = 4
PARSE_AHEAD = 16  # files parsed in one go (their parse trees live until they are sent)

_T = TypeVar("_T")
_ERROR = pq.ExecStatus.FATAL_ERROR
_ROWS = pq.ExecStatus.TUPLES_OK
_OK = pq.ExecStatus.COMMAND_OK


def apply_all(ctx: Context, files: list[Checked], applied: list[AppliedMigration], after: int = 0) -> None:
    """Apply checked files in order; each one committed is appended to `applied` at once.

    `after`: how many migrations run once these are done (the repeatables), for a failure's words."""
    total = len(files)
    names = catalog_names(ctx.conn) if total else frozenset()  # before anything is sent: plain CREATEs read nothing
    pipelining = ctx.options.pipeline and not ctx.verbose and supported(ctx.conn)
    ahead = _Ahead(ctx, applied, total, after) if pipelining else None
    ready: dict[int, Prepared] = {}
    i = 0
    try:
        while True:
            try:
                if i == total:
                    if ahead is not None:
                        ahead.drain()
                    return
                if ctx.cancel.stopping and ahead is not None:
                    ahead.drain()  # what is already sent committed, or was cancelled: report it first
                ctx.cancel.check_between()
                if i not in ready:  # parse the next few files together (cheaper than one by one)
                    ready = {n: replace(q, steps=settled(q.steps, names)) for n, q in
                             zip(range(i, i + PARSE_AHEAD), prepare_many(files[i:i + PARSE_AHEAD]), strict=False)}
                p = ready[i]
                if ahead is not None and _sendable(p):
                    ahead.send(p, i + 1)
                else:
                    if ahead is not None:
                        ahead.drain()
                    applied.append(apply(ctx, p, i + 1, total, after=after))
                    if ahead is not None and p.drops_prepared_statements:
                        ahead.prepared_statements.clear()
                i += 1
            except _Retry as r:  # a pipelined migration hit the lock timeout: retry it alone, go on after it
                applied.append(apply(ctx, r.prepared, r.index, total, failed=r.timeout, after=after))
                i = r.index  # 1-based number of the retried one = 0-based index of the next
    finally:
        if ahead is not None:
            ahead.abandon()


def _sendable(p: Prepared) -> bool:
    """True when nothing in the migration needs an answer from the server before its COMMIT."""
    if not p.transactional or p.changes_session or p.drops_prepared_statements or p.verify:
        return False
    if any(st.kind == "CopyStmt" and not st.node.filename for st in p.statements):
        return False  # COPY ... TO STDOUT: libpq refuses the copy protocol in pipeline mode
    if p.file.directives.custom_rollback:
        return True  # its catalog reads would only plan a rollback that is not used
    return all(step.read is None and step.after is None for step in p.steps)


class _Retry(Exception):
    def __init__(self, prepared: Prepared, index: int, timeout: LockTimeout) -> None:
        super().__init__(str(timeout))
        self.prepared = prepared
        self.index = index
        self.timeout = timeout


# A prepared name that already exists or is gone: the server session is not the one it was.
_OWN_STATEMENT_STATES = ("42P05", "26000")
_RETURNS_TIME = "history row"  # the unit of the query that returns the migration's execution_time_ms
_OWN_NAMES = {_RETURNS_TIME: "history INSERT", LOCK_CHECK: "lock check"}  # Tidemark's prepared statements


@dataclass
class _Query:
    """One statement of a migration on the wire, and what it stands for if it fails."""

    text: str  # SQL, or the template of a prepared history row
    unit: object = None  # the file's Statement, _RETURNS_TIME, or None for Tidemark's own
    offset: int | None = None  # where the statement starts in the file
    params: list[str | None] | None = None  # a prepared history row's values

    def script(self) -> Script:
        """As a one-statement script, to map an error position back into the file."""
        one = Script()
        one.add(self.text, self.unit, self.offset)
        return one


@dataclass
class _InFlight:
    prepared: Prepared
    index: int
    queries: list[_Query]
    rollback_kind: str


class _Ahead:
    """The migrations on the wire, oldest first, and the pipeline they went into."""

    def __init__(self, ctx: Context, applied: list[AppliedMigration], total: int, after: int = 0) -> None:
        self.ctx = ctx
        self.applied = applied
        self.total = total
        self.after = after  # migrations to run after this batch (a failure counts those that did not)
        self.queue: deque[_InFlight] = deque()
        self.pipe: Pipeline | None = None
        self.prepared_statements: dict[str, bytes] = {}  # history row templates prepared in this session

    def send(self, p: Prepared, index: int) -> None:
        """Put one migration on the wire (after the oldest ones finished, when AHEAD are out)."""
        while len(self.queue) >= AHEAD:
            self._collect()
        ctx = self.ctx
        inverses = [step.inverse or Inverse(manual="no inverse") for step in p.steps]
        plan = assemble(p.statements, inverses, p.file.directives.custom_rollback)
        queries = [_Query("BEGIN")]
        queries += [_Query(s) for s in timeout_settings(ctx.options, local=True)]
        queries.append(_Query(lock.share_for_transaction(ctx.conn), params=[]))  # prepared, as the lock check is
        queries += [_Query(st.text, st, st.start) for st in p.statements]
        template, params = prepared_insert(applied_rows(ctx, p, plan, Raw(TX_ELAPSED_MS)),
                                           place_of(ctx.conn))
        queries.append(_Query(template, _RETURNS_TIME, params=params))
        queries += [_Query(text) for text in supabase_rows(ctx, p)]
        queries.append(_Query(lock.still_held_or_fail(ctx.conn), LOCK_CHECK, params=[]))  # prepared: planned once
        queries.append(_Query("COMMIT"))
        if self.pipe is None:
            self.pipe = self._guard(lambda: Pipeline(ctx.conn, self.prepared_statements))
        for q in queries:
            if q.params is None:
                self.pipe.send(q.text)
            else:
                self.pipe.send_prepared(q.text, q.params)
        self.queue.append(_InFlight(p, index, queries, plan.kind.value))  # before the push: it may run
        if len(self.queue) == 1:
            self._started(self.queue[0])
        self._guard(self.pipe.push)

    def drain(self) -> None:
        """Wait for every migration on the wire, then leave pipeline mode."""
        while self.queue:
            self._collect()
        if self.pipe is not None:
            self._guard(self.pipe.close)
            self.pipe = None

    def abandon(self) -> None:
        """After an unexpected error (Ctrl-C, a bug): stop what runs, leave the connection sane, and
        report what the server committed anyway.

        Results are not read one by one here: an interrupted wait may have consumed some of them
        already. The history table says which migrations on the wire committed.
        """
        if self.pipe is None or self.ctx.conn.closed:
            return
        conn = self.ctx.conn
        on_the_wire = list(self.queue)
        self.queue.clear()
        try:
            if on_the_wire:
                conn.cancel_safe(timeout=5.0)  # what is sent may still run: stop the running part
            self.pipe.discard()
            self.pipe = None
            rollback_if_needed(conn)
            committed = dict(conn.execute(
                f"SELECT version, execution_time_ms FROM {history.names(conn).migrations} "
                "WHERE batch_id = %s AND version = ANY(%s)",
                (self.ctx.batch_id, [m.prepared.file.version for m in on_the_wire])).fetchall())
        except (psycopg.Error, OSError):
            return  # the caller closes the connection; the server rolls back what is open
        for m in on_the_wire:
            if m.prepared.file.version in committed:
                self._done(m, int(committed[m.prepared.file.version] or 0))

    def _started(self, m: _InFlight) -> None:
        self.ctx.emit(Phase.MIGRATION_START, index=m.index, total=self.total, migration=m.prepared.file.name,
                      message=m.prepared.file.title)

    def _collect(self) -> None:
        """Read the results of the oldest migration on the wire: committed, or failed."""
        assert self.pipe is not None
        m = self.queue[0]
        error: tuple[_Query, pq.abc.PGresult] | None = None
        elapsed = 0
        pipe = self.pipe
        for q, res in zip(m.queries, self._guard(lambda: pipe.next_results(len(m.queries))), strict=True):
            if res.status == _ERROR and error is None:
                error = (q, res)
            elif res.status == _ROWS and q.unit == _RETURNS_TIME:
                elapsed = int(res.get_value(0, 0) or b"0")
        if error is not None:
            self._fail(m, *error)
        if res.status != _OK:  # COMMIT's result: anything else means the results are out of step
            raise RuntimeError(f"pipelined results out of step at {m.prepared.file.name}: {res.status.name}")
        self.queue.popleft()
        self._done(m, elapsed)
        if self.queue:
            self._started(self.queue[0])

    def _done(self, m: _InFlight, elapsed: int) -> None:
        p = m.prepared
        self.applied.append(AppliedMigration(p.file.version, p.file.name, p.file.title, elapsed, m.rollback_kind,
                                             True))
        self.ctx.emit(Phase.MIGRATION_DONE, index=m.index, total=self.total, migration=p.file.name,
                      elapsed_ms=float(elapsed), message=p.file.title)

    def _fail(self, m: _InFlight, q: _Query, res: pq.abc.PGresult) -> None:
        """The server skipped everything after the error: end the pipeline, roll back, explain."""
        conn = self.ctx.conn
        error = pg_errors.error_from_result(res, encoding=conn.info.encoding)
        if conn.broken or is_connection_error(conn, error):
            raise connection_lost(m.prepared.file.name, error, ahead=len(self.queue) - 1)
        pipe = self.pipe
        assert pipe is not None
        self._guard(pipe.close)  # names m while it is still the oldest on the wire
        self.pipe = None
        self.queue.clear()
        rollback_if_needed(conn)
        if (q.unit is None or q.unit in (_RETURNS_TIME, LOCK_CHECK)) and error.sqlstate in _OWN_STATEMENT_STATES:
            raise DatabaseError(  # Tidemark's own statement failed: not the file's failure, no audit row
                f"{m.prepared.file.name} was rolled back, not applied, because Tidemark's own prepared "
                f"{_OWN_NAMES.get(q.unit, 'lock share')} failed on this server session: "
                f"{error.diag.message_primary} (a pooler "
                "sharing sessions? use the session-mode or direct URL); nothing was recorded against it")
        exc = failure(self.ctx, m.prepared, ScriptError(q.unit, error, q.script()), [],
                      later=self.total - m.index + self.after)
        if isinstance(exc, LockTimeout):
            raise _Retry(m.prepared, m.index, exc)
        raise exc

    def _guard(self, step: Callable[[], _T]) -> _T:
        """Run a pipeline step; a broken connection names the migrations it may have cut short."""
        try:
            return step()
        except psycopg.OperationalError as exc:
            oldest = self.queue[0].prepared.file.name if self.queue else "the next migration"
            raise connection_lost(oldest, exc, ahead=max(len(self.queue) - 1, 0)) from None
