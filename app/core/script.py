"""Sending several statements in one round trip, and knowing which one failed.

A migration's statements, its history rows and COMMIT go to the server as one simple-query
message (the `psql` floor: one round trip per migration). PostgreSQL answers with one result
per statement, so the index of the first error result names the failing statement even when
the server gives no error position (a division by zero, a constraint violation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import errors as pg_errors
from psycopg import generators, pq

from app.core.sql import SentText

_FAIL = pq.ExecStatus.FATAL_ERROR
_COPY_IN = (pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_BOTH)


@dataclass
class Script:
    """Text to send as one message: numbered units, each one statement."""

    sent: SentText = field(default_factory=SentText)
    units: list[object] = field(default_factory=list)  # what each statement is (for error mapping)

    def add(self, text: str, tag: object, file_offset: int | None = None) -> None:
        """Append one statement (without its semicolon) and what it stands for."""
        self.sent.add(text, file_offset)
        self.sent.add(";\n")
        self.units.append(tag)

    def __bool__(self) -> bool:
        return bool(self.units)


class ScriptError(Exception):
    """A statement of a script failed: which one, and the server's error."""

    def __init__(self, unit: object | None, error: psycopg.Error, script: Script) -> None:
        super().__init__(str(error))
        self.unit = unit
        self.error = error
        self.script = script


def run(conn: psycopg.Connection, script: Script) -> None:
    """Send a script in one message; raise ScriptError naming the statement that failed.

    After an error inside an explicit BEGIN the session is left in an aborted transaction:
    the caller rolls it back.
    """
    if not script:
        return
    data = script.sent.text().encode(conn.info.encoding, errors="strict")
    with conn.lock:
        conn.pgconn.send_query(data)
        results = conn.wait(generators.execute(conn.pgconn))
        if results and results[-1].status in _COPY_IN:
            # COPY ... FROM STDIN (refused by the checks, but stored SQL can be edited by hand) would
            # wait for data no one sends: end it with an error, so it fails and the rest is skipped.
            i = len(results) - 1
            try:
                conn.wait(generators.copy_end(conn.pgconn, b"Tidemark sends no COPY data"))
            except psycopg.Error as exc:
                conn.wait(generators.execute(conn.pgconn))  # up to ReadyForQuery
                raise ScriptError(script.units[i] if i < len(script.units) else None, exc, script) from None
    for i, res in enumerate(results):
        if res.status == _FAIL:
            unit = script.units[i] if i < len(script.units) else None
            raise ScriptError(unit, pg_errors.error_from_result(res, encoding=conn.info.encoding), script)
    if not results:
        raise ScriptError(None, psycopg.InternalError("got no result from the server"), script)


def rollback_if_needed(conn: psycopg.Connection) -> None:
    """End an open or aborted transaction on an autocommit connection."""
    if conn.closed:
        return
    status = conn.info.transaction_status
    if status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            pass  # the connection broke: the server rolls back itself
