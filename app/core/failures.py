"""How a server error or a broken connection during a run is told: the message, and its audit row."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from app.core import history
from app.core.errors import ConnectionLost, ServerErrorInfo
from app.core.script import Script
from app.core.sql import LineIndex, Statement
from app.core.text import counted

if TYPE_CHECKING:
    from app.core.prepared import Context


def connection_lost(name: str, exc: psycopg.Error, partial: bool = False, ahead: int = 0) -> ConnectionLost:
    """The error for a connection that broke while `name` ran (and `ahead` more were already sent)."""
    from app.core.connect import libpq_message

    why = f"({libpq_message(exc)})"
    if partial:
        return ConnectionLost(
            f"connection lost while running {name} outside a transaction: some of its statements may "
            f"have run; `tidemark status` shows the history, check the schema before running it again {why}"
        )
    if ahead:
        what = (f"{name}, with {ahead} more migration{'s' if ahead > 1 else ''} sent after it: the server "
                "committed each")
    else:
        what = f"{name}: the server committed it"
    return ConnectionLost(
        f"connection lost while applying {what} with its history row or rolled both back; "
        f"`tidemark status` shows which, and `tidemark migrate` goes on from there {why}"
    )


def server_error(exc: psycopg.Error, unit: object, script: Script, path: Path, text: str) -> ServerErrorInfo:
    """What the server said, with the position mapped back into the file."""
    diag = exc.diag
    line = column = None
    statement = None
    pos = diag.statement_position
    offset = script.sent.file_offset(int(pos)) if pos and pos.isdigit() else None
    if offset is not None:
        line, column = LineIndex(text).line_col(offset)
    if isinstance(unit, Statement):
        statement = unit.text
        if line is None:
            line = unit.line
    message = diag.message_primary or str(exc).strip().split("\n")[0]
    if diag.context and "PL/pgSQL" in diag.context:
        message += f" ({diag.context.strip().splitlines()[0]})"
    return ServerErrorInfo(
        message=message,
        sqlstate=diag.sqlstate,
        detail=diag.message_detail,
        hint=diag.message_hint,
        file=path,
        line=line,
        column=column,
        statement=statement,
    )


def is_connection_error(conn: psycopg.Connection, error: psycopg.Error) -> bool:
    """The session ended under us (terminated backend, server shutdown), not the SQL failing."""
    state = error.sqlstate or ""
    return conn.broken or conn.closed or state.startswith(("57P", "08"))


def ran_list(ran: list[Statement]) -> str:
    if not ran:
        return "no statement had run"
    return "these statements ran: " + "; ".join(f"line {st.line}: {st.first_line}" for st in ran)


def record_failure(ctx: Context, event: str, name: str, version: str | None, info: ServerErrorInfo,
                    checksum: str | None = None) -> None:
    if ctx.conn.closed:
        return
    try:
        ctx.conn.execute(
            history.audit_sql(
                ctx.conn, ctx.actor, event,
                migration_name=name, version=version, batch_id=ctx.batch_id, checksum=checksum,
                error_message=info.message, error_sqlstate=info.sqlstate, error_detail=info.detail,
                error_hint=info.hint, error_file=str(info.file), error_line=info.line,
                error_column=info.column, error_statement=info.statement,
            )
        )
    except psycopg.Error:
        pass  # the failure itself is reported; a lost audit row must not hide it


def not_run(later: int, joint: str) -> str:
    """`joint` and "2 later migrations did not run", or nothing when the one that failed was the last
    to run (it said "later migrations did not run" when there were none)."""
    return f"{joint}{counted(later, 'later migration')} did not run" if later > 0 else ""
