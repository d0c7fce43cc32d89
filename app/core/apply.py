"""Running one migration (or one rollback) together with its history rows.

A transactional migration goes as BEGIN, its statements, its history and audit rows and
COMMIT, in one message when no catalog read is needed in between: a failure leaves
neither schema change nor history row. A migration that cannot run in a transaction runs
one statement at a time, its history row written right after; it is the only place a
partial state can exist, and its error says so.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from app.core import history, lock, nontx, verify
from app.core.connect import session_setup
from app.core.errors import (
    Cancelled,
    MigrationFailed,
    ServerErrorInfo,
)
from app.core.failures import connection_lost, is_connection_error, not_run, ran_list, record_failure, server_error
from app.core.history import Event, Raw
from app.core.options import Options
from app.core.prepared import Context, Prepared
from app.core.progress import Clock, Phase
from app.core.results import AppliedMigration, StatementTiming
from app.core.rollback import Inverse, RollbackKind, RollbackPlan, Step, assemble
from app.core.script import Script, ScriptError, rollback_if_needed, run
from app.core.sql import Statement

# Server-side duration of the current transaction: the time the migration's statements took.
TX_ELAPSED_MS = "(extract(epoch from clock_timestamp() - now()) * 1000)::integer"
LOCK_CHECK = object()  # the unit of lock.STILL_HELD_OR_FAIL, sent before each COMMIT


def _reset_session(script: Script, ctx: Context, p: Prepared) -> None:
    """A migration's SET search_path (or set_config, SET ROLE) must not leak into the next one."""
    if p.changes_session:
        # RESET ALL leaves the role and session authorization as they are: reset them too.
        script.add("RESET ALL", None)
        script.add("RESET ROLE", None)
        script.add("RESET SESSION AUTHORIZATION", None)
        for s in session_setup(ctx.conn):
            script.add(s, None)


def timeout_settings(options: Options, *, local: bool, index_build: bool = False) -> list[str]:
    """SET (LOCAL) lock_timeout / statement_timeout as the options ask."""
    scope = "SET LOCAL" if local else "SET"
    out = []
    if options.lock_timeout_ms is not None:
        out.append(f"{scope} lock_timeout = {int(options.lock_timeout_ms)}")
    timeout = options.index_timeout_ms if index_build else options.statement_timeout_ms
    if timeout is not None:
        out.append(f"{scope} statement_timeout = {int(timeout)}")
    return out


def applied_rows(ctx: Context, p: Prepared, plan: RollbackPlan, elapsed: Raw | int) -> list[history.Row]:
    """The history row and the audit row that commit with a migration."""
    f = p.file
    if f.kind == "baseline":  # with the rows of the versioned files it stands for (app.core.baselines)
        from app.core import baselines

        return baselines.rows(f, ctx.batch_id, elapsed, p.transactional, ctx.actor)
    if f.kind == "repeatable":  # its own table: it has no version (app.core.repeatables)
        from app.core import repeatables

        audit = {"event": Event.APPLIED, "migration_name": f.name, "version": None, "batch_id": ctx.batch_id,
                 "execution_time_ms": elapsed, "checksum": f.checksum, **history.audit_values(ctx.actor)}
        return [repeatables.row(f, ctx.batch_id, elapsed, p.transactional, ctx.actor),
                history.Row(history.AUDIT, audit)]
    values = {
        "name": f.name,
        "version": f.version,
        "checksum": f.checksum,
        "raw_checksum": f.raw_checksum,
        "execution_time_ms": elapsed,
        "rollback_sql": plan.sql,
        "rollback_kind": plan.kind.value,
        "rollback_note": plan.reason or None,
        "batch_id": ctx.batch_id,
        "title": f.title,
        "description": f.description or None,
        "applied_sql": f.text,
        "transactional": p.transactional,
        **history.audit_values(ctx.actor),
    }
    audit = {
        "event": Event.APPLIED,
        "migration_name": f.name,
        "version": f.version,
        "batch_id": ctx.batch_id,
        "execution_time_ms": elapsed,
        "checksum": f.checksum,
        **history.audit_values(ctx.actor),
    }
    # RETURNING: a pipelined run reads the server-side time back from the history row
    return [history.Row(history.MIGRATIONS, values, "execution_time_ms"), history.Row(history.AUDIT, audit)]


def supabase_rows(ctx: Context, p: Prepared) -> list[str]:
    """With --supabase-history: the statements that keep the Supabase CLI's table in step."""
    if not ctx.options.supabase_history or p.file.kind != "versioned":  # the Supabase CLI has no such kind
        return []
    from app.core import supabase_history

    return supabase_history.applied_sql(ctx.conn, p.file, [st.text for st in p.statements])


def apply(ctx: Context, p: Prepared, index: int, total: int, *, failed: LockTimeout | None = None,
          after: int = 0) -> AppliedMigration:
    """Run one migration with its history rows; retry on lock timeout when asked.

    `index` of `total` numbers it in its batch; `after`: how many run after that batch (repeatables):
    a failure says how many later migrations did not run, and only when some would have.
    `failed`: its first attempt already hit the lock timeout (in a pipelined run).
    """
    attempt = 0
    later = total - index + after
    while True:
        if failed is None:
            ctx.cancel.check_between()
            ctx.emit(Phase.MIGRATION_START, index=index, total=total, migration=p.file.name,
                     message=p.file.title)
            try:
                run_one = _apply_transactional if p.transactional else _apply_non_transactional
                result = run_one(ctx, p, later)
                break
            except LockTimeout as exc:
                failed = exc
        attempt += 1
        if attempt > ctx.options.retries:
            raise failed.failure from None
        failed = None
        wait = min(ctx.options.retry_backoff_s * 2 ** (attempt - 1), 60.0)
        ctx.emit(Phase.MESSAGE, index=index, total=total, migration=p.file.name,
                 message=f"lock timeout; retry {attempt} of {ctx.options.retries} in {wait:g} s")
        if ctx.cancel.wait(wait):
            ctx.cancel.check()
    result = AppliedMigration(**{**result.__dict__, "attempts": attempt + 1})
    ctx.emit(Phase.MIGRATION_DONE, index=index, total=total, migration=p.file.name,
             elapsed_ms=float(result.execution_time_ms), message=p.file.title)
    return result


class LockTimeout(Exception):
    def __init__(self, failure: MigrationFailed) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _closing(ctx: Context, p: Prepared, script: Script, plan: RollbackPlan, elapsed: Raw | int) -> None:
    """Add the history and audit rows, COMMIT and a session reset to the script."""
    if p.changes_session:
        # A file's SET ROLE or statement_timeout must not govern Tidemark's own history rows.
        script.add("RESET ROLE", None)
        script.add("SET LOCAL statement_timeout = 0", None)
    for row in applied_rows(ctx, p, plan, elapsed):
        script.add(row.sql(ctx.conn), None)
    for text in supabase_rows(ctx, p):
        script.add(text, None)
    script.add(lock.still_held_or_fail(ctx.conn), LOCK_CHECK)
    script.add("COMMIT", None)
    _reset_session(script, ctx, p)


def _finish(ctx: Context, p: Prepared, script: Script, plan: RollbackPlan, elapsed: Raw | int) -> None:
    """History and audit rows, COMMIT and a session reset, sent with what the script holds."""
    _closing(ctx, p, script, plan, elapsed)
    run(ctx.conn, script)


def _apply_transactional(ctx: Context, p: Prepared, later: int = 0) -> AppliedMigration:
    conn = ctx.conn
    clock = Clock()
    timings: list[StatementTiming] = []
    inverses: list[Inverse] = []
    script = Script()
    script.add("BEGIN", None)
    for s in timeout_settings(ctx.options, local=True):
        script.add(s, None)
    script.add(lock.share_for_transaction(ctx.conn), None)  # after lock_timeout, which bounds it
    try:
        for st, step in zip(p.statements, p.steps, strict=True):
            rows: list[tuple] = []
            if step.read is not None:
                if step.read.reads_now(conn):
                    run(conn, script)
                    script = Script()
                _tell_so_far(step, p, inverses)
                rows = step.read.fetch(conn)
                inverses.append(step.read.resolve(rows))
            else:
                inverses.append(step.inverse or Inverse(manual="no inverse"))
            script.add(st.text, st, st.start)
            if ctx.verbose:
                t = Clock()
                run(conn, script)
                script = Script()
                timings.append(StatementTiming(st.line, st.first_line, t.ms()))
                ctx.emit(Phase.STATEMENT_DONE, migration=p.file.name, statement=st.first_line,
                         line=st.line, elapsed_ms=t.ms())
            if step.after is not None:  # the statement picked a name: read it right after
                run(conn, script)
                script = Script()
                inverses[-1] = _read_after(conn, step, rows)
        plan = assemble(p.statements, inverses, p.file.directives.custom_rollback)
        verify.add(script, p.verify)
        _finish(ctx, p, script, plan, Raw(TX_ELAPSED_MS))
    except ScriptError as exc:
        rollback_if_needed(conn)
        raise failure(ctx, p, exc, partial_ran=[], later=later) from None
    except psycopg.OperationalError as exc:
        raise connection_lost(p.file.name, exc) from None
    except BaseException:
        rollback_if_needed(conn)
        raise
    return AppliedMigration(p.file.version, p.file.name, p.file.title, round(clock.ms()), plan.kind.value,
                            True, timings)


def _apply_non_transactional(ctx: Context, p: Prepared, later: int = 0) -> AppliedMigration:
    conn = ctx.conn
    clock = Clock()
    timings: list[StatementTiming] = []
    inverses: list[Inverse] = []
    ran: list[Statement] = []
    try:
        for st, step in zip(p.statements, p.steps, strict=True):
            if ran:
                ctx.cancel.check()
            rows: list[tuple] = []
            if step.read is not None:
                _tell_so_far(step, p, inverses)
                rows = step.read.fetch(conn)
                inverses.append(step.read.resolve(rows))
            else:
                inverses.append(step.inverse or Inverse(manual="no inverse"))
            script = Script()
            for s in timeout_settings(ctx.options, local=False, index_build=bool(st.non_transactional)):
                script.add(s, None)
            script.add(st.text, st, st.start)
            t = Clock()
            run(conn, script)
            ran.append(st)
            timings.append(StatementTiming(st.line, st.first_line, t.ms()))
            if not lock.still_held(conn):  # it committed on its own: stop before anything more runs
                raise lock_lost(ctx, p, st, ran)
            problem = nontx.index_problem(conn, st)
            if problem is not None:
                raise _index_failure(ctx, p, st, ran, problem)
            if step.after is not None:  # the statement picked a name: read it right after
                inverses[-1] = _read_after(conn, step, rows)
            if ctx.verbose:
                ctx.emit(Phase.STATEMENT_DONE, migration=p.file.name, statement=st.first_line,
                         line=st.line, elapsed_ms=t.ms())
        plan = assemble(p.statements, inverses, p.file.directives.custom_rollback)
        script = Script()
        script.add("BEGIN", None)
        verify.add(script, p.verify)  # the deploy committed: a failing verify leaves it unrecorded
        _finish(ctx, p, script, plan, round(clock.ms()))
    except ScriptError as exc:
        rollback_if_needed(conn)
        raise failure(ctx, p, exc, partial_ran=ran, later=later) from None
    except psycopg.OperationalError as exc:
        raise nontx.connection_lost(p.file.name, p.statements, ran, exc) from None
    finally:
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.execute("RESET lock_timeout; RESET statement_timeout")
    if not ctx.verbose:
        timings = []
    return AppliedMigration(p.file.version, p.file.name, p.file.title, round(clock.ms()), plan.kind.value,
                            False, timings)


def _index_failure(ctx: Context, p: Prepared, st: Statement, ran: list[Statement], problem: str) -> MigrationFailed:
    """A statement ran but its index is not there and valid: the file is not recorded."""
    info = ServerErrorInfo(problem, file=p.file.path, line=st.line, statement=st.text,
                           ran_statements=[f"line {r.line}: {r.first_line}" for r in ran])
    _record(ctx, Event.FAILED, p, info)
    return MigrationFailed(f"{p.file.name} ran outside a transaction, but an index it names is not usable, so it "
                           f"is not recorded as applied ({ran_list(ran)})", info, partial=True)


def lock_lost(ctx: Context, p: Prepared, st: Statement | None = None, ran: list[Statement] | None = None
              ) -> MigrationFailed:
    """The run's lock was gone after the migration's SQL ran: recorded as failed, the run stops.

    `st`, `ran`: outside a transaction, the statement after which it was found gone, and what had run.
    """
    if st is None:
        info = ServerErrorInfo(f"{lock.LOST}: the run's advisory lock was no longer held by this session "
                               "before COMMIT", file=p.file.path, hint=lock.lost_hint(ctx.conn))
        _record(ctx, Event.FAILED, p, info)
        return MigrationFailed(f"{p.file.name} {lock.LOST}: rolled back, nothing after it ran", info)
    ran = ran or []
    info = ServerErrorInfo(f"{lock.LOST}: the run's advisory lock was no longer held by this session after "
                           f"line {st.line}", file=p.file.path, line=st.line, statement=st.text,
                           hint=lock.lost_hint(ctx.conn),
                           ran_statements=[f"line {r.line}: {r.first_line}" for r in ran])
    _record(ctx, Event.FAILED, p, info)
    return MigrationFailed(
        f"{p.file.name} ran outside a transaction and {lock.LOST}: {ran_list(ran)}; it is not recorded as "
        "applied and nothing after it ran (a second runner could have started meanwhile: see `tidemark status`)",
        info, partial=True)


def _tell_so_far(step: Step, p: Prepared, inverses: list[Inverse]) -> None:
    """Give a read that asks for it the rollback of the statements before its own (None: manual)."""
    assert step.read is not None
    if step.read.so_far is not None:
        plan = assemble(p.statements[:len(inverses)], inverses, None)
        step.read.so_far(plan.sql if plan.kind is RollbackKind.GENERATED else None)


def _read_after(conn: psycopg.Connection, step: Step, rows: list[tuple]) -> Inverse:
    """Run a step's second catalog read (after its statement) and resolve the inverse from it."""
    assert step.after is not None
    read = step.after(rows)
    return read.resolve(read.fetch(conn))


def failure(ctx: Context, p: Prepared, exc: ScriptError, partial_ran: list[Statement], later: int = 0) -> Exception:
    """The exception for a migration that failed; `later`: how many migrations were to run after it."""
    if is_connection_error(ctx.conn, exc.error):
        if not p.transactional:
            return nontx.connection_lost(p.file.name, p.statements, partial_ran, exc.error)
        return connection_lost(p.file.name, exc.error, partial=bool(partial_ran))
    if exc.unit is LOCK_CHECK and isinstance(exc.error, pg_errors.DivisionByZero):
        return lock_lost(ctx, p, partial_ran[-1], partial_ran) if partial_ran else lock_lost(ctx, p)
    if verify.failed_by(p.verify, exc.unit):
        info = server_error(exc.error, exc.unit, exc.script, p.file.verify_path, p.file.verify_text or "")
        _record(ctx, Event.FAILED, p, info)
        revert = p.file.directives.rollback_path
        return MigrationFailed(verify.summary(p.file, info, p.transactional, revert, later), info,
                               partial=not p.transactional)
    info = server_error(exc.error, exc.unit, exc.script, p.file.path, p.file.forward)  # offsets: of what ran
    if ctx.cancel.cancelled and isinstance(exc.error, pg_errors.QueryCanceled):
        _record(ctx, Event.FAILED if partial_ran else "cancelled", p, info)
        if partial_ran:
            return Cancelled(
                f"cancelled during {p.file.name}, which runs outside a transaction: "
                + ran_list(partial_ran) + "; it is not recorded as applied"
            )
        return Cancelled(f"cancelled: {p.file.name} was rolled back; nothing of it remains")
    _record(ctx, Event.FAILED, p, info)
    if partial_ran:
        info.ran_statements = [f"line {st.line}: {st.first_line}" for st in partial_ran]
        summary = (
            f"{p.file.name} failed outside a transaction and is partially applied: {ran_list(partial_ran)}. "
            "It is not recorded as applied: undo those statements or make them re-runnable "
            "(IF NOT EXISTS), then run migrate again"
        )
    elif not p.transactional:  # its first statement failed on its own: there was no transaction to roll back
        summary = (f"{p.file.name} failed at its first statement, outside a transaction; it is not recorded as "
                   "applied" + not_run(later, ", "))
    else:
        summary = f"{p.file.name} failed and was rolled back; nothing of it remains" + not_run(later, ", ")
    if isinstance(exc.unit, Statement) and exc.unit.kind == "IndexStmt" and exc.unit.node.concurrent:
        summary += nontx.invalid_index_hint(ctx.conn, exc.unit)
    failure = MigrationFailed(summary, info, partial=bool(partial_ran))
    if isinstance(exc.error, pg_errors.LockNotAvailable) and not partial_ran and p.transactional:
        return LockTimeout(failure)
    return failure


def _record(ctx: Context, event: str, p: Prepared, info: ServerErrorInfo) -> None:
    """Write a failed apply to the audit table, after its transaction rolled back."""
    # A repeatable or baseline file is no versioned migration: its failure must not read as one's.
    version = p.file.version if p.file.kind == "versioned" else None
    record_failure(ctx, event, p.file.name, version, info, checksum=p.file.checksum)
