"""After Ctrl-C: say only what is known about the migration that was under way, and record it.

A KeyboardInterrupt can land anywhere: while the server runs a statement, after COMMIT was sent
but before its answer came back, or while the network is gone. So "the migration in progress was
rolled back" is a guess. What is known comes from the server: on a new connection (the run's own
one is closed by then), the history says which migrations of this run committed, and
pg_stat_activity says whether the run's old session is gone (then nothing more of it can
commit). When neither can be read, the message says so and names `tidemark status`.
The interruption is written to the audit trail as `interrupted`, as the app's Cancel is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from app.core import history
from app.core.connect import Target, connect, libpq_message
from app.core.errors import ConnectionLost, Interrupted, TidemarkError
from app.core.files import MigrationFile
from app.core.history import Actor, AppliedRow, Event
from app.core.progress import Phase, ProgressCallback, ProgressEvent

CHECK_TIMEOUT_S = 5  # connecting to check, and each query of the check
SESSION_GONE_S = 3.0  # how long the old session may take to end (the server notices the closed socket)


@dataclass
class Watch:
    """Follows a run's progress events, so that after Ctrl-C it can say what was under way.

    Wraps the caller's progress callback; `files` (a migrate) or `rows` (a rollback) are what
    the run may change, set just before it starts changing anything.
    """

    progress: ProgressCallback
    batch_id: str
    rollback: bool = False
    backend_pid: int | None = None
    files: dict[str, MigrationFile] = field(default_factory=dict)
    rows: dict[str, AppliedRow] = field(default_factory=dict)
    current: str | None = None  # started and not reported done
    done: list[str] = field(default_factory=list)

    def __call__(self, event: ProgressEvent) -> None:
        if event.phase is Phase.MIGRATION_START:
            self.current = event.migration
        elif event.phase is Phase.MIGRATION_DONE:
            self.done.append(event.migration)
            if self.current == event.migration:
                self.current = None
        self.progress(event)

    def expect(self, items: Sequence[MigrationFile] | Sequence[AppliedRow]) -> None:
        """What the run is about to change (until now an interruption changed nothing)."""
        for item in items:
            if isinstance(item, AppliedRow):
                self.rows[item.name] = item
            else:
                self.files[item.name] = item

    def interrupted(self, target: Target, actor: Actor) -> Interrupted:
        """The one-line truth about this run after Ctrl-C (the check and the audit row included)."""
        if not self.files and not self.rows:
            return Interrupted("interrupted before anything ran: nothing was changed")
        try:
            finished, gone = self._check(target, actor)
        except (TidemarkError, psycopg.Error, OSError) as exc:
            reason = exc.message if isinstance(exc, TidemarkError) else libpq_message(exc)
            return Interrupted(self._unknown(f"it could not be checked ({reason})"))
        return Interrupted(self._known(finished, gone))

    # --- what the server says -----------------------------------------------------------------

    def _check(self, target: Target, actor: Actor) -> tuple[list[str], bool]:
        """Names this run finished on the server (committed), and whether its old session ended."""
        with connect(target, connect_timeout=CHECK_TIMEOUT_S) as conn:
            conn.execute(f"SET statement_timeout = '{CHECK_TIMEOUT_S}s'")
            gone = self._session_gone(conn)
            if not history.tables_exist(conn):
                return [], gone
            if self.rollback:
                query = f"SELECT migration_name FROM {history.names(conn).rollbacks} WHERE batch_id = %s ORDER BY id"
            else:
                query = f"SELECT name FROM {history.names(conn).migrations} WHERE batch_id = %s ORDER BY version"
            finished = [name for (name,) in conn.execute(query, (self.batch_id,)).fetchall()]
            if not self.rollback and any(f.kind == "repeatable" for f in self.files.values()):

                finished += [name for (name,) in conn.execute(
                    f"SELECT name FROM {history.names(conn).repeatables} WHERE batch_id = %s ORDER BY name",
                    (self.batch_id,)).fetchall()]
            self._record(conn, actor, finished, gone)
            return finished, gone

    def _session_gone(self, conn: psycopg.Connection) -> bool:
        if self.backend_pid is None:
            return False
        deadline = time.monotonic() + SESSION_GONE_S
        while True:
            alive = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                 (self.backend_pid,)).fetchone()
            if not alive or not alive[0]:
                return True
            if time.monotonic() > deadline:
                return False
            threading.Event().wait(0.1)  # a bounded poll: the server ends the session on its own

    def _record(self, conn: psycopg.Connection, actor: Actor, finished: list[str], gone: bool) -> None:
        name = self.current if self.current not in finished else None
        version = None
        if name is not None:
            item = self.rows.get(name) or self.files.get(name)
            version = (item.version or None) if item is not None else None  # a repeatable has none
        try:
            conn.execute(history.audit_sql(conn, actor, Event.INTERRUPTED, migration_name=name, version=version,
                                           batch_id=self.batch_id, error_message=self._known(finished, gone)))
        except psycopg.Error:
            pass  # the message still tells the truth; a lost audit row must not hide it

    # --- the sentence -------------------------------------------------------------------------

    def _known(self, finished: list[str], gone: bool) -> str:
        late = [n for n in finished if n not in self.done]
        verb = "rolled back" if self.rollback else "applied"
        parts = [f"{len(finished)} migration{'s' if len(finished) != 1 else ''} of this run {verb}"
                 + (f" ({', '.join(finished)})" if finished else "")]
        if late:
            parts.append(f"{', '.join(late)} committed as it was interrupted")
        current = self.current if self.current not in finished else None
        if current is None:
            if not late:
                parts.append("none was in progress")
        elif not gone:
            parts.append(self._unknown(f"its session (pid {self.backend_pid}) is still open on the server")
                         .removeprefix("interrupted: "))
        else:
            parts.append(self._not_committed(current))
        return "interrupted: " + "; ".join(parts)

    def _not_committed(self, name: str) -> str:
        if self.rollback:
            row = self.rows.get(name)
            if row is not None and not row.transactional:
                return (f"the rollback of {name} did not finish: it is still recorded as applied, and it runs "
                        "outside a transaction, so some of its statements may have run (check the schema)")
            return f"the rollback of {name} did not commit: it is still applied"
        if self._transactional(name):
            return f"{name} did not commit: nothing of it remains and it is not recorded as applied"
        return (f"{name} did not finish: it is not recorded as applied, and it runs outside a transaction, "
                "so some of its statements may have run (check the schema before running it again)")

    def _unknown(self, why: str) -> str:
        what = self.current or "the migration in progress"
        action = f"the rollback of {what}" if self.rollback and self.current else what
        return (f"interrupted: whether {action} committed is not known: {why}; "
                "`tidemark status` shows what is applied")

    def _transactional(self, name: str) -> bool:
        f = self.files.get(name)
        if f is None:
            return False
        from app.core.prepared import prepare  # the parser: only for the one migration cut short

        try:
            return prepare(f).transactional
        except TidemarkError:
            return False


def rollback_lost(row: AppliedRow, exc: ConnectionLost, done: int) -> ConnectionLost:
    """A rollback cut short: `migrate` would re-apply what was being rolled back, so never advise it."""
    from app.core.connect import libpq_message
    from app.core.script import ScriptError

    cause = exc.__context__
    if isinstance(cause, ScriptError):
        cause = cause.error
    why = libpq_message(cause) if cause is not None else "server closed the connection"
    before = f"{done} rolled back before it; " if done else ""
    if not row.transactional:
        state = ("it runs outside a transaction, so some of its statements may have run: check the schema, and "
                 f"`tidemark status` to see whether {row.name} is still recorded as applied")
    else:
        state = (f"the server committed the rollback with its history change or undid both: check `tidemark "
                 f"status` to see whether {row.name} is still applied (if it is, the rollback did not commit)")
    return ConnectionLost(f"connection lost during the rollback of {row.name} ({why}); {before}{state}")
