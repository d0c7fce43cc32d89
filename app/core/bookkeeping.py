"""Bookkeeping that runs no migration: baseline (record as applied) and repair (accept a changed file).

The runner's `baseline`, `repair_candidates` and `repair` are these; kept apart so runner.py holds
the runs and rollbacks.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from app.core import history
from app.core.errors import UsageError
from app.core.files import version_key
from app.core.history import Event
from app.core.progress import CancelToken, ProgressCallback, no_progress
from app.core.protection import Action, Confirmation, enforce
from app.core.results import BaselineResult, RepairCandidate, RepairResult
from app.core.status import RollbackKind, State

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner


def baseline(runner: MigrationRunner, name: str, *, progress: ProgressCallback | None = None,
             cancel: CancelToken | None = None, force: bool = False,
             confirmed: Confirmation | None = None) -> BaselineResult:
    """Record every migration up to `name` as applied, without running it.

    Refused (UsageError, nothing written) when the database lacks objects the files create,
    unless `force`.
    """
    progress = progress or no_progress
    cancel = cancel or CancelToken()
    files = runner.files()
    with runner._connection(cancel) as conn, runner._locked(conn, cancel, progress):
        status = runner._status(conn, files)
        version = runner.resolve_name(name, files, status)
        applied = {m.version for m in status.applied}
        upto = version_key(version)
        todo = [f for f in files if version_key(f.version) <= upto and f.version not in applied]
        from app.core.guards import check_file_rollback
        from app.core.selection import each_file as _each_file

        _each_file(todo, check_file_rollback)  # their rollback SQL is stored: checked first
        if not force:
            from app.core.baseline_check import missing_objects

            missing = missing_objects(conn, todo)
            if missing:
                shown = "; ".join(missing[:20]) + (f"; and {len(missing) - 20} more" if len(missing) > 20 else "")
                raise UsageError(f"baseline {name}: the database lacks what these files create: {shown}. "
                                 "Nothing was recorded: run the migrations instead, or pass --force to "
                                 "record them anyway")
        if todo:
            enforce(confirmed, runner.target, Action.BASELINE, [f.name for f in todo])
        history.ensure_tables(conn)
        batch_id = history.new_batch_id()
        with conn.transaction():
            for f in todo:
                custom = f.directives.custom_rollback
                values = {
                    "name": f.name, "version": f.version, "checksum": f.checksum,
                    "raw_checksum": f.raw_checksum, "execution_time_ms": 0,
                    "rollback_sql": custom,
                    "rollback_kind": (RollbackKind.CUSTOM if custom else RollbackKind.MANUAL).value,
                    "rollback_note": None if custom else "baselined: the state before it cannot be read",
                    "batch_id": batch_id, "title": f.title, "description": f.description or None,
                    "applied_sql": f.text, "baselined": True, **history.audit_values(runner.actor),
                }
                conn.execute(history.insert_sql(conn, history.MIGRATIONS, values))
                conn.execute(history.audit_sql(conn, runner.actor, Event.BASELINED, migration_name=f.name,
                                               version=f.version, batch_id=batch_id, checksum=f.checksum,
                                               execution_time_ms=0))
        return BaselineResult(batch_id, [f.name for f in todo],
                              [f.name for f in files if version_key(f.version) <= upto and f.version in applied])


def repair_candidates(runner: MigrationRunner, name: str | None = None) -> list[RepairCandidate]:
    """Applied migrations whose files changed, each with the diff against the applied text."""
    files = runner.files()
    by_version = {f.version: f for f in files}
    with runner._connection() as conn:
        status = runner._status(conn, files)
        wanted = runner.resolve_name(name, files, status) if name else None
        out = []
        for m in status.migrations:
            if wanted and m.version != wanted:
                continue
            if m.state is not State.MODIFIED and not m.line_endings_only:
                continue
            f = by_version[m.version]
            old = history.read_applied_sql(conn, m.version)
            if old is None:
                diff = "(the applied text was not stored by the tool that applied it)"
            else:
                diff = "".join(difflib.unified_diff(
                    old.splitlines(keepends=True), f.text.splitlines(keepends=True),
                    fromfile=f"{m.name} (applied)", tofile=f"{m.name} (on disk)"))
            custom = f.directives.custom_rollback
            out.append(RepairCandidate(m.version, m.name, diff, m.line_endings_only,
                                       m.applied_checksum or "", f.checksum,
                                       RollbackKind.CUSTOM.value if custom else None))
        if wanted and not out:
            raise UsageError(f"repair {name}: that migration is applied and unchanged; nothing to repair")
        return out


def repair(runner: MigrationRunner, candidates: list[RepairCandidate], reason: str, *,
           cancel: CancelToken | None = None, confirmed: Confirmation | None = None) -> RepairResult:
    """Accept the current checksums of changed applied files, recording who and why."""
    if not reason.strip():
        raise UsageError("repair needs a reason (--reason TEXT): it goes into the audit trail")
    cancel = cancel or CancelToken()
    by_version = {f.version: f for f in runner.files()}
    from app.core.guards import check_file_rollback
    from app.core.selection import each_file as _each_file

    _each_file([by_version[c.version] for c in candidates], check_file_rollback)  # stored: checked first
    with runner._connection(cancel) as conn, runner._locked(conn, cancel, no_progress):
        if candidates:
            enforce(confirmed, runner.target, Action.REPAIR, [c.name for c in candidates])
        history.ensure_tables(conn)
        with conn.transaction():
            for c in candidates:
                f = by_version[c.version]
                custom = f.directives.custom_rollback
                conn.execute(
                    f"UPDATE {history.names(conn).migrations} SET checksum = %s, raw_checksum = %s, applied_sql = %s, "
                    "title = %s, rollback_sql = CASE WHEN %s::text IS NULL THEN rollback_sql ELSE %s END, "
                    "rollback_kind = CASE WHEN %s::text IS NULL THEN rollback_kind ELSE 'custom' END, "
                    "rollback_note = CASE WHEN %s::text IS NULL THEN rollback_note ELSE NULL END "
                    "WHERE version = %s AND checksum = %s",
                    (f.checksum, f.raw_checksum, f.text, f.title, custom, custom, custom, custom,
                     c.version, c.applied_checksum),
                )
                conn.execute(history.audit_sql(
                    conn, runner.actor, Event.REPAIRED, migration_name=f.name, version=f.version,
                    checksum=f.checksum, reason=reason))
    return RepairResult([c.name for c in candidates], reason)
