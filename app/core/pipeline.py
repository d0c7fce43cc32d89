"""Sending statements ahead of their results, in libpq's pipeline mode.

With many small migrations the server, not the client, should set the pace: while it runs one
migration, the next ones are already parsed, planned and on the wire. The protocol keeps the
guarantee a run relies on: after an error the server skips every message until the next Sync,
and a Sync is sent only when nothing after it is in flight, so nothing queued behind a failing
migration runs. Each statement goes as its own extended-protocol query, and results come back
one per query, in order, so the failing statement is known exactly.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque

import psycopg
from psycopg import generators, pq

_SYNC = pq.ExecStatus.PIPELINE_SYNC
_OK = pq.ExecStatus.COMMAND_OK
_ERROR = pq.ExecStatus.FATAL_ERROR
_NAMES = itertools.count(1)
# Per process too: a name another process left on a pooled server session must not come back.
_PROCESS = secrets.token_hex(4)


def _fetch(pgconn: pq.abc.PGconn, n: int) -> generators.PQGen[list[list[pq.abc.PGresult]]]:
    """The results of the next n queries (psycopg's fetch_many, n times in one wait)."""
    out = []
    for _ in range(n):
        results = yield from generators.fetch_many(pgconn)
        if not results:
            raise psycopg.InternalError("the server sent no result for a pipelined statement")
        out.append(results)
    return out


def supported(conn: psycopg.Connection) -> bool:
    """True when both ends can pipeline with the per-statement timeouts of a simple query.

    From PostgreSQL 13 statement_timeout restarts with each Execute message (before, it ran
    from the first message to the Sync); libpq 14 brought pipeline mode.
    """
    return conn.info.server_version >= 130000 and psycopg.Pipeline.is_supported()


class Pipeline:
    """A connection in pipeline mode: queue statements, push them, read results in order.

    `prepared` maps statement templates to the names they are prepared under in this session;
    it outlives one Pipeline (a run enters pipeline mode again after a migration that could not
    be sent ahead), and forgets a template whose Parse did not succeed.
    """

    def __init__(self, conn: psycopg.Connection, prepared: dict[str, bytes]) -> None:
        self._conn = conn
        self._pgconn = conn.pgconn
        self._encoding = conn.info.encoding
        self._prepared = prepared
        # One entry per result to come: None for a statement, the template for our own Parse.
        self._expected: deque[str | None] = deque()
        with conn.lock:
            self._pgconn.enter_pipeline_mode()
        self.open = True

    def send(self, text: str) -> None:
        """Queue one statement (no parameters); `push` puts it on the wire."""
        self._pgconn.send_query_params(self._encode(text), None)
        self._expected.append(None)

    def send_prepared(self, template: str, params: list[str | None]) -> None:
        """Queue a statement from a template (parsed and planned once per session) with its values."""
        name = self._prepared.get(template)
        if name is None:
            # Never a name used before in this process: a forgotten entry may still exist on the server.
            name = f"tidemark_{_PROCESS}_{next(_NAMES)}".encode()
            self._pgconn.send_prepare(name, self._encode(template))
            self._expected.append(template)
            self._prepared[template] = name
        self._pgconn.send_query_prepared(name, [None if v is None else self._encode(v) for v in params])
        self._expected.append(None)

    def push(self) -> None:
        """Send what is queued and ask the server to flush back the results it has so far."""
        with self._conn.lock:
            self._pgconn.send_flush_request()
            self._conn.wait(generators.send(self._pgconn))

    def next_results(self, n: int) -> list[pq.abc.PGresult]:
        """The results of the n oldest statements in flight, waiting for them (in one wait)."""
        internal = 0  # our own Parse messages among them
        for i, template in enumerate(self._expected):
            if i - internal >= n:
                break
            internal += template is not None
        with self._conn.lock:
            raw = self._conn.wait(_fetch(self._pgconn, n + internal))
        out = []
        failed_parse = None
        for results in raw:
            template = self._expected.popleft()
            if template is None:
                out.append(failed_parse or results[-1])
                failed_parse = None
            elif results[-1].status != _OK:  # failed, or skipped after an earlier error: not prepared
                self._prepared.pop(template, None)
                if results[-1].status == _ERROR:
                    failed_parse = results[-1]
        return out

    def close(self) -> None:
        """Sync, read what is left (statements skipped after an error) and leave pipeline mode."""
        if not self.open:
            return
        pending = sum(template is None for template in self._expected)  # a Parse always precedes its query
        if pending:
            self.next_results(pending)  # keeps the registry of prepared statements true
        self._sync_and_leave()

    def discard(self) -> None:
        """After an interrupted wait, when results can no longer be matched to statements: read
        everything up to a Sync without looking, forget what was prepared, leave pipeline mode."""
        if not self.open:
            return
        self._expected.clear()
        self._prepared.clear()  # names are never reused, so a statement that does exist is harmless
        self._sync_and_leave()

    def _sync_and_leave(self) -> None:
        with self._conn.lock:
            self._pgconn.pipeline_sync()
            self._conn.wait(generators.send(self._pgconn))
            while True:
                results = self._conn.wait(generators.fetch_many(self._pgconn))
                if results and results[0].status == _SYNC:
                    break
            self._pgconn.exit_pipeline_mode()
        self.open = False

    def _encode(self, text: str) -> bytes:
        return text.encode(self._encoding, errors="strict")
