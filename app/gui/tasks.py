"""The jobs the worker runs: plain functions over the engine's public API (no Qt here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.progress import CancelToken, ProgressCallback
from app.core.protection import Confirmation
from app.core.runner import MigrationRunner
from app.core.status import MigrationStatus


@dataclass(frozen=True)
class StoredSql:
    """What the history keeps of an applied migration: its rollback SQL and the applied text."""

    rollback_sql: str | None
    rollback_note: str | None


@dataclass(frozen=True)
class Snapshot:
    """A status refresh: every migration with its state and health, and the stored rollback SQL."""

    status: MigrationStatus
    stored: dict[str, StoredSql] = field(default_factory=dict)
    target: str = ""


def load_snapshot(runner: MigrationRunner, cancel: CancelToken) -> Snapshot:
    """Status plus the rollback SQL the history stores for each applied migration."""
    from app.core import history
    from app.core.connect import connect

    status = runner.get_migration_status(cancel=cancel)
    # Load the parser now, during the first refresh, rather than when Run is pressed: a big
    # import holds the GIL for tenths of a second and would freeze the window mid-run.
    import app.core.apply  # noqa: F401
    stored: dict[str, StoredSql] = {}
    if status.history_exists and status.applied:
        conn = connect(runner.target)
        try:
            for row in history.read_applied(conn):
                stored[row.version] = StoredSql(row.rollback_sql, row.rollback_note)
        finally:
            conn.close()
    return Snapshot(status, stored, runner.target.display())


@dataclass(frozen=True)
class Review:
    """A change planned for the user to confirm: the dry run, and the runner (its target resolved) that runs it."""

    runner: MigrationRunner
    plan: Any  # RunResult or RollbackResult (dry run)
    until: str | None = None  # Run up to this migration
    count: int | None = None  # the rollback's
    to: str | None = None


def review_run(runner: MigrationRunner, until: str | None) -> Review:
    """What Run pending would run, to be confirmed before it does."""
    return Review(runner, runner.run_migrations(dry_run=True, target=until), until=until)


def run_pending(runner: MigrationRunner, target: str | None, progress: ProgressCallback, cancel: CancelToken,
                confirmed: Confirmation | None = None) -> Any:
    """Run pending migrations (up to `target` if given), statement by statement in the log."""
    return runner.run_migrations(target=target, verbose=True, progress=progress, cancel=cancel, confirmed=confirmed)


def rehearse(runner: MigrationRunner, progress: ProgressCallback) -> Any:
    """Copy the schema to a throwaway server, run the pending migrations, roll each back."""
    from app.core.progress import Phase, ProgressEvent
    from app.core.rehearse import rehearse as run_rehearsal

    def say(text: str) -> None:
        progress(ProgressEvent(Phase.MESSAGE, message=text))

    return run_rehearsal(runner.target, runner.migrations_dir, runner.options, say=say)


def dry_run(runner: MigrationRunner, target: str | None) -> Any:
    """What a run would do: statements, locks, rollback SQL."""
    return runner.run_migrations(dry_run=True, target=target)


def plan_rollback(runner: MigrationRunner, count: int | None, to: str | None) -> Review:
    """The PlannedRollback list a rollback would run; when one in range is manual, the plan to write the
    newest manual one's rollback block into its file (app.core.custom_rollback.BlockPlan) instead."""
    from app.core.custom_rollback import plan_block
    from app.core.errors import ManualRollback, UsageError

    try:
        return Review(runner, runner.rollback_migrations(count=count, to=to, dry_run=True), count=count, to=to)
    except ManualRollback as exc:
        if not exc.manual:
            raise
        try:
            return Review(runner, plan_block(runner, exc.manual[0]), count=count, to=to)
        except UsageError:
            raise exc from None  # no block can be offered (a modified file...): the refusal as it was


def plan_rollback_block(runner: MigrationRunner, name: str) -> Review:
    """The manual migration `name`, its file read, for the rollback block dialog."""
    from app.core.custom_rollback import plan_block

    return Review(runner, plan_block(runner, name))


def write_rollback_block(runner: MigrationRunner, plan: Any, sql: str, reason: str, cancel: CancelToken,
                         confirmed: Confirmation | None) -> Any:
    """Write the manual migration's rollback block into its file and record it (repair), or change nothing."""
    from app.core.custom_rollback import write_and_record

    return write_and_record(runner, plan, sql, reason, cancel=cancel, confirmed=confirmed)


def rollback(runner: MigrationRunner, count: int | None, to: str | None, progress: ProgressCallback,
             cancel: CancelToken, confirmed: Confirmation | None = None) -> Any:
    """Roll back the last `count` migrations, or all after `to`."""
    return runner.rollback_migrations(count=count, to=to, verbose=True, progress=progress, cancel=cancel,
                                      confirmed=confirmed)


def review_repair(runner: MigrationRunner, name: str | None) -> Review:
    """The changed applied files (with their diffs) a repair would accept."""
    return Review(runner, runner.repair_candidates(name))


def repair(runner: MigrationRunner, candidates: list[Any], reason: str, cancel: CancelToken,
           confirmed: Confirmation | None) -> Any:
    """Accept the changed files' checksums, recording who and why."""
    return runner.repair(candidates, reason, cancel=cancel, confirmed=confirmed)


def review_baseline(runner: MigrationRunner, version: str) -> Review:
    """The migrations up to `version` a baseline would record as applied (those not applied yet)."""
    status = runner.get_migration_status()
    applied = {m.version for m in status.applied}
    names = [m.name for m in status.migrations if m.version <= version and m.version not in applied]
    return Review(runner, names, until=version)


def baseline(runner: MigrationRunner, version: str, force: bool, progress: ProgressCallback, cancel: CancelToken,
             confirmed: Confirmation | None) -> Any:
    """Record the migrations up to `version` as applied, running none."""
    return runner.baseline(version, force=force, progress=progress, cancel=cancel, confirmed=confirmed)


def audit_trail(runner: MigrationRunner, limit: int = 5000) -> Any:
    """The audit trail, newest first."""
    return runner.history(limit)


@dataclass(frozen=True)
class CompareOutcome:
    """app.report's comparison, and the environments that could not even be resolved."""

    comparison: Any
    skipped: list[str] = field(default_factory=list)
    runners: tuple[tuple[str, Callable[[], MigrationRunner]], ...] = ()  # the Compare window's drift check


def compare(runners: list[tuple[str, Callable[[], MigrationRunner]]], cancel: CancelToken) -> CompareOutcome:
    """Compare several environments concurrently (app.report.compare)."""
    from app.core.errors import TidemarkError
    from app.report.compare import compare_environments

    pairs = []
    skipped = []
    for name, make in runners:
        cancel.check()
        try:
            pairs.append((name, make()))
        except TidemarkError as exc:
            skipped.append(f"{name}: {str(exc).splitlines()[0]}")
    return CompareOutcome(compare_environments(pairs), skipped, tuple(runners))


@dataclass(frozen=True)
class ExportResult:
    """A report written to disk."""

    path: Path
    fmt: str


def export_report(runner: MigrationRunner, environment: str, fmt: str, path: Path) -> ExportResult:
    """Write an HTML, JSON or PDF report through app.report, atomically."""
    from app.core.errors import UsageError

    try:
        from app.report import MigrationReporter
        from app.report.write import check_writable, write_atomic
    except ImportError:
        raise UsageError("reports are not available in this build (app.report is missing)") from None
    check_writable(path)
    reporter = MigrationReporter(runner, environment)
    render = {"html": reporter.generate_html_report, "json": reporter.generate_json_report,
              "pdf": reporter.generate_pdf_report}[fmt]
    write_atomic(path, render())
    return ExportResult(path, fmt)


@dataclass(frozen=True)
class DriftOutcome:
    """The drift check of each chosen environment: its DriftResult, or why it could not be made."""

    results: tuple[tuple[str, Any], ...]  # (environment, app.core.drift.DriftResult)
    errors: tuple[tuple[str, str], ...] = ()  # (environment, one line)


def check_drift(runners: list[tuple[str, Callable[[], MigrationRunner]]], progress: ProgressCallback,
                cancel: CancelToken) -> DriftOutcome:
    """Replay each environment's applied migrations on a throwaway server and compare (app.core.drift).

    The check has no cancel token of its own: each step it reports (server started, replaying...)
    is where Cancel takes effect, and leaving the throwaway server's block stops and removes it.
    """
    from app.core.drift import cancelled
    from app.core.drift import check_drift as run_check
    from app.core.errors import Cancelled, TidemarkError
    from app.core.progress import Phase, ProgressEvent

    results: list[tuple[str, Any]] = []
    errors: list[tuple[str, str]] = []
    for i, (name, make) in enumerate(runners, 1):
        def say(text: str, name: str = name, i: int = i) -> None:
            if cancel.cancelled:
                raise cancelled()
            progress(ProgressEvent(Phase.MESSAGE, index=i, total=len(runners), message=f"{name}: {text}"))

        say("reading its history and schema")
        try:
            runner = make()
            results.append((name, run_check(runner.target, runner.migrations_dir, say=say, cancel=cancel)))
        except Cancelled:
            raise
        except TidemarkError as exc:  # one environment's failure is told, the others are still checked
            errors.append((name, " ".join(str(exc).split())))
    return DriftOutcome(tuple(results), tuple(errors))


def export_comparison(comparison: Any, fmt: str, path: Path) -> ExportResult:
    """Write a comparison as HTML or JSON (the renderers `tidemark compare` uses), atomically."""
    from app.report.compare import comparison_json
    from app.report.html import render_comparison
    from app.report.write import check_writable, write_atomic

    check_writable(path)
    render = {"html": render_comparison, "json": comparison_json}[fmt]
    write_atomic(path, render(comparison))
    return ExportResult(path, fmt)
