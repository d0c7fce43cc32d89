"""Undoing one applied migration: its stored rollback SQL and the history rows, together.

A transactional rollback goes as one message (BEGIN, the SQL, a guard that the transaction is
still Tidemark's, the history and audit rows, the lock check, COMMIT); one that cannot run in a
transaction runs a statement at a time and says exactly what ran when it fails.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import errors as pg_errors

from app.core import guards, history, lock, nontx
from app.core.apply import LOCK_CHECK, TX_ELAPSED_MS, timeout_settings
from app.core.errors import Cancelled, MigrationFailed, ServerErrorInfo
from app.core.failures import connection_lost, is_connection_error, ran_list, record_failure, server_error
from app.core.history import AppliedRow, Event, Raw
from app.core.place import place_of
from app.core.prepared import Context
from app.core.progress import Clock, Phase
from app.core.results import RolledBackMigration
from app.core.script import Script, ScriptError, rollback_if_needed, run
from app.core.sql import Statement


def revert(ctx: Context, row: AppliedRow, index: int, total: int) -> RolledBackMigration:
    """Run a migration's stored rollback SQL and remove it from the history, together."""
    ctx.cancel.check_between()
    ctx.emit(Phase.MIGRATION_START, index=index, total=total, migration=row.name, message="rollback")
    sql_text = row.rollback_sql or ""
    label = Path(f"{row.name} (stored rollback SQL)")
    statements = guards.stored_rollback(row.name, sql_text, place_of(ctx.conn))
    transactional = not any(st.non_transactional for st in statements)
    clock = Clock()
    history_sql = _rollback_history_sql(ctx, row, Raw(TX_ELAPSED_MS) if transactional else None)
    conn = ctx.conn
    ran: list[Statement] = []
    try:
        if transactional:
            script = Script()
            script.add("BEGIN", None)
            for s in timeout_settings(ctx.options, local=True):
                script.add(s, None)
            script.add(lock.share_for_transaction(ctx.conn), None)
            for st in statements:
                script.add(st.text, st, st.start)
            # A second net under the checks: SAVEPOINT fails outside a transaction block, so if the
            # rollback SQL ended Tidemark's transaction, the history is left alone and it is said.
            script.add("SAVEPOINT tidemark_still_in_transaction", _STILL_IN_TRANSACTION)
            for text in history_sql:
                script.add(text, None)
            script.add(lock.still_held_or_fail(ctx.conn), LOCK_CHECK)
            script.add("COMMIT", None)
            run(conn, script)
        else:
            for st in statements:
                script = Script()
                for s in timeout_settings(ctx.options, local=False, index_build=bool(st.non_transactional)):
                    script.add(s, None)
                script.add(st.text, st, st.start)
                run(conn, script)
                ran.append(st)
                if not lock.still_held(conn):
                    info = ServerErrorInfo(f"{lock.LOST}: the run's advisory lock was no longer held by this "
                                           f"session after line {st.line}", file=label, line=st.line,
                                           hint=lock.lost_hint(ctx.conn))
                    record_failure(ctx, Event.ROLLBACK_FAILED, row.name, row.version, info)
                    raise MigrationFailed(f"rollback of {row.name} ran outside a transaction and {lock.LOST}: "
                                          f"{ran_list(ran)}; it is still recorded as applied and nothing after "
                                          "it ran: finish or undo those statements by hand", info, partial=True)
                problem = nontx.index_problem(conn, st)
                if problem is not None:
                    raise MigrationFailed(f"rollback of {row.name} ran outside a transaction, but an index it names "
                                          f"is not usable ({ran_list(ran)}); it is still recorded as applied",
                                          ServerErrorInfo(problem, file=label, line=st.line), partial=True)
            script = Script()
            script.add("BEGIN", None)
            for text in _rollback_history_sql(ctx, row, round(clock.ms())):
                script.add(text, None)
            script.add("COMMIT", None)
            run(conn, script)
    except ScriptError as exc:
        rollback_if_needed(conn)
        if is_connection_error(conn, exc.error):
            if not transactional:
                raise nontx.connection_lost(f"the rollback of {row.name}", statements, ran, exc.error,
                                            rollback=True) from None
            raise connection_lost(f"the rollback of {row.name}", exc.error, partial=bool(ran)) from None
        if exc.unit is _STILL_IN_TRANSACTION:
            raise MigrationFailed(
                f"rollback of {row.name} ended Tidemark's transaction from inside its SQL: what ran before "
                "that may be committed; it is still recorded as applied. Check the schema by hand",
                ServerErrorInfo(str(exc.error).strip(), exc.error.sqlstate, file=label), partial=True) from None
        if exc.unit is LOCK_CHECK and isinstance(exc.error, pg_errors.DivisionByZero):
            info = ServerErrorInfo(f"{lock.LOST}: the run's advisory lock was no longer held by this session "
                                   "before COMMIT", file=label, hint=lock.lost_hint(ctx.conn))
            record_failure(ctx, Event.ROLLBACK_FAILED, row.name, row.version, info)
            raise MigrationFailed(f"rollback of {row.name} {lock.LOST}: undone, it is still applied; nothing "
                                  "after it ran", info) from None
        info = server_error(exc.error, exc.unit, exc.script, label, sql_text)
        record_failure(ctx, Event.ROLLBACK_FAILED, row.name, row.version, info)
        if ctx.cancel.cancelled and isinstance(exc.error, pg_errors.QueryCanceled) and not ran:
            raise Cancelled(f"cancelled: the rollback of {row.name} was undone; it is still applied") from None
        if ran:
            summary = (f"rollback of {row.name} failed outside a transaction after {ran_list(ran)}; "
                       "it is still recorded as applied: finish or undo those statements by hand")
        else:
            summary = f"rollback of {row.name} failed and was undone; it is still applied, later rollbacks did not run"
        raise MigrationFailed(summary, info, partial=bool(ran)) from None
    except psycopg.OperationalError as exc:
        if not transactional:
            raise nontx.connection_lost(f"the rollback of {row.name}", statements, ran, exc, rollback=True) from None
        raise connection_lost(f"the rollback of {row.name}", exc, partial=bool(ran)) from None
    except BaseException:
        rollback_if_needed(conn)
        raise
    finally:
        if not transactional and not conn.closed and (
            conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        ):
            conn.execute("RESET lock_timeout; RESET statement_timeout")
    ms = round(clock.ms())
    ctx.emit(Phase.MIGRATION_DONE, index=index, total=total, migration=row.name, elapsed_ms=float(ms),
             message="rolled back")
    return RolledBackMigration(row.version, row.name, ms, sql_text)


_STILL_IN_TRANSACTION = object()  # the unit of revert's SAVEPOINT guard


def _rollback_history_sql(ctx: Context, row: AppliedRow, elapsed: Raw | int | None) -> list[str]:
    elapsed = elapsed if elapsed is not None else Raw("0")
    rb = {
        "migration_name": row.name,
        "rollback_sql": row.rollback_sql or "",
        "execution_time_ms": elapsed,
        "batch_id": ctx.batch_id,
        "version": row.version,
        "applied_at": row.executed_at,
        "applied_batch_id": row.batch_id,
        **history.audit_values(ctx.actor),
    }
    audit = {
        "event": Event.ROLLED_BACK,
        "migration_name": row.name,
        "version": row.version,
        "batch_id": ctx.batch_id,
        "execution_time_ms": elapsed,
        "checksum": row.checksum,
        **history.audit_values(ctx.actor),
    }
    rows = [
        f"DELETE FROM {history.names(ctx.conn).migrations} WHERE version = {history.literal(ctx.conn, row.version)}",
        history.insert_sql(ctx.conn, history.ROLLBACKS, rb),
        history.insert_sql(ctx.conn, history.AUDIT, audit),
    ]
    if ctx.options.supabase_history:
        from app.core import supabase_history

        rows += supabase_history.reverted_sql(ctx.conn, row.version)
    return rows
