"""The public API: the seed's "Programmatic Usage", in Python names.

    runner = create_migration_runner(dsn="postgresql://app@db/app", migrations_dir="migrations")
    result = runner.run_migrations(dry_run=False, verbose=True, target="20260111000002")
    status = runner.get_migration_status()
    runner.rollback_migrations(count=2)

Every call opens its own connection, so a runner can be used from any thread (the desktop
app calls it from a worker thread); long calls take a `progress` callback and a `cancel`
token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from app.core import history, preview, repeatables, runner_session, selection
from app.core.connect import Target, resolve_target
from app.core.errors import ConnectionLost, MigrationFailed, UsageError
from app.core.files import MigrationFile, load_file
from app.core.history import Actor, AppliedRow, HistoryEvent
from app.core.interrupt import Watch, rollback_lost
from app.core.options import Options
from app.core.place import place_of
from app.core.progress import CancelToken, Clock, Phase, ProgressCallback, ProgressEvent, no_progress
from app.core.protection import Action, Confirmation, enforce
from app.core.results import (
    AppliedMigration,
    BaselineResult,
    RepairCandidate,
    RepairResult,
    RollbackResult,
    RunResult,
)
from app.core.runner_session import database_errors
from app.core.status import MigrationStatus
from app.core.status_read import read_status
from app.core.target_folders import local_sandbox, migrations_folder, saved_environment

if TYPE_CHECKING:
    from app.core.imports import ImportResult
    from app.core.layouts import Reading
    from app.core.layouts.placeholders import Placeholders
    from app.core.notify import Notification
    from app.core.shared_reading import SharedReadings

# app.core.apply (and with it pglast, the parser) is imported only by the calls that run or
# plan SQL: `status` stays a light process.

class MigrationRunner:
    """Runs, rolls back and reports on the migrations of one folder against one database."""

    def __init__(self, target: Target, migrations_dir: Path, options: Options | None = None, *,
                 readings: SharedReadings | None = None) -> None:
        self.target = target
        self.migrations_dir = migrations_dir
        self.options = options or Options()
        self.actor = Actor.current()
        if self.options.supabase_history:
            from app.core.supabase_history import refuse_schema_target

            refuse_schema_target(target)
        self.readings = readings  # a fleet's: targets sharing this folder read it once

    # --- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _connection(self, cancel: CancelToken | None = None) -> Iterator[psycopg.Connection]:
        with runner_session.connection(self.target, cancel) as conn:
            yield conn

    @contextmanager
    def _locked(self, conn: psycopg.Connection, cancel: CancelToken, progress: ProgressCallback,
                notes: list[Notification] | None = None) -> Iterator[None]:
        with runner_session.locked(conn, self.target, self.options, cancel, progress, notes):
            yield

    def files(self) -> list[MigrationFile]:
        """The migration files, checked (MigrationFileError lists every problem)."""
        return self.reading().files

    def reading(self, *, placeholders: bool = True) -> Reading:
        """The migration files and the layout they were read in (declared in tidemark.toml, or detected).

        `placeholders`: replace Flyway's `${name}` in what runs, refusing one without a value;
        False (status: nothing runs, checksums are of the files as written) leaves them as written.
        """
        from app.core import layouts

        if self.readings is None:
            return layouts.read(self.migrations_dir, placeholders=self.placeholders() if placeholders else None)
        values = self.placeholders() if placeholders else None

        def read() -> tuple[Reading, bool]:
            reading = layouts.read(self.migrations_dir, placeholders=values)
            return reading, values is None or not values.read_server_facts  # ${flyway:user}...: this target's
        key = (str(self.migrations_dir), None if values is None else tuple(sorted(values.values.items())))
        return self.readings.get(key, read)

    def placeholders(self) -> Placeholders:
        """Flyway placeholder values: the profile's, then --placeholder's; the server's built-ins when used."""
        from app.core.layouts.placeholders import Placeholders

        values = dict(getattr(self.target, "placeholders", ()) or ())  # a saved environment's
        values.update(self.options.placeholders)
        return Placeholders(values, self._server_facts)

    def _server_facts(self) -> dict[str, str]:
        """${flyway:user}, ${flyway:database}, ${flyway:defaultSchema} as the server says (one query)."""
        with self._connection() as conn:
            row = conn.execute("SELECT current_user, current_database(), current_schema()").fetchone()
        facts = dict(zip(("flyway:user", "flyway:database", "flyway:defaultSchema"), row or (), strict=False))
        return {k: v for k, v in facts.items() if v is not None}  # no schema on the search_path: no value

    def _status(self, conn: psycopg.Connection, files: list[MigrationFile],
                reading: Reading | None = None, repeatable_files: list[MigrationFile] | None = None,
                baseline_files: list[MigrationFile] | None = None) -> MigrationStatus:
        return read_status(conn, files, self.options, target=self.target.display(),
                           migrations_dir=str(self.migrations_dir), reading=reading,
                           repeatable_files=repeatable_files, baseline_files=baseline_files)

    # --- the seed's API --------------------------------------------------------------------------

    @database_errors
    def get_migration_status(self, *, cancel: CancelToken | None = None) -> MigrationStatus:
        """Every migration with its state, and the health. Only reads; works before the first migrate."""
        reading = self.reading(placeholders=False)
        with self._connection(cancel) as conn:
            return self._status(conn, reading.files, reading)

    @database_errors
    def run_migrations(
        self,
        *,
        dry_run: bool = False,
        verbose: bool = False,
        target: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        confirmed: Confirmation | None = None,
    ) -> RunResult:
        """Run pending migrations in version order, each in its own transaction with its history row.

        `confirmed` (app.core.protection) is what a protected target needs; it names the backup taken first.
        """
        progress = progress or no_progress
        cancel = cancel or CancelToken()
        clock = Clock()
        reading = self.reading()
        files = reading.files
        if dry_run:
            return replace(preview.plan(self, files, target, clock, reading), layout=reading.layout,
                           layout_declared_in=str(reading.declared_in) if reading.declared_in else None)
        from app.core.notify import for_target
        from app.core.notify.events import reporting

        notes = for_target(self.target, self.migrations_dir)  # a wrong table is bad input: before anything runs
        batch_id = history.new_batch_id()
        watch = Watch(progress, batch_id)
        try:
            with reporting(self.target, notes, "migrate", runner_session.say(progress), batch_id) as report:
                return report.done(self._run(files, target, verbose, watch, cancel, clock, confirmed, reading, notes))
        except KeyboardInterrupt:  # Ctrl-C: the run's connection is closed by now; say what is known
            raise watch.interrupted(self.target, self.actor) from None

    def _run(self, files: list[MigrationFile], target: str | None, verbose: bool, watch: Watch,
             cancel: CancelToken, clock: Clock, confirmed: Confirmation | None, reading: Reading,
             notes: list[Notification]) -> RunResult:
        progress: ProgressCallback = watch
        batch_id = watch.batch_id
        with self._connection(cancel) as conn, self._locked(conn, cancel, progress, notes):
            watch.backend_pid = conn.info.backend_pid
            progress(ProgressEvent(Phase.CONNECTED, message=self.target.display()))
            status = self._status(conn, files, reading)
            first, todo, again, warnings = selection.take(conn, status, files, reading, target, self.options,
                                                          self.migrations_dir)  # refusals: before anything runs
            if self.options.supabase_history:
                from app.core import supabase_history

                supabase_history.refuse_recorded(conn, todo)  # before anything runs
            if not todo and not again and not first:
                return RunResult(batch_id=None, dry_run=False, warnings=warnings, total_ms=clock.ms(),
                                 target=self.target.display())
            from app.core.apply import apply  # the parser: only when something runs
            from app.core.batch import apply_all
            from app.core.guards import check
            from app.core.prepared import Context, prepare_many

            checked = selection.each_file(first + todo + again, check)  # every file, before anything runs
            confirmed = enforce(confirmed, self.target, Action.MIGRATE, [f.name for f in first + todo + again])
            from app.core.backup import before_migrate

            taken = before_migrate(confirmed, self.target, runner_session.say(progress))
            history.ensure_tables(conn)
            if again:
                repeatables.ensure_table(conn)
            watch.expect(first + todo + again)
            ctx = Context(conn, self.actor, batch_id, self.options, cancel, progress, verbose, clock)
            applied: list[AppliedMigration] = []
            try:
                total = len(first) + len(todo) + len(again)
                for p in prepare_many(checked[:len(first)]):  # the baseline migration, with its rows, alone
                    applied.append(apply(ctx, p, 1, total))
                apply_all(ctx, checked[len(first):len(first) + len(todo)], applied, after=len(again))
                # Repeatables after every versioned one, one at a time: their row replaces the last run's.
                for i, p in enumerate(prepare_many(checked[len(first) + len(todo):]), start=len(first) + len(todo) + 1):
                    applied.append(apply(ctx, p, i, total))
            except MigrationFailed as exc:
                exc.completed = RunResult(batch_id, False, applied, warnings=warnings, total_ms=clock.ms(),
                                          target=self.target.display(), backup=taken)
                raise
            return RunResult(batch_id, False, applied, warnings=warnings, total_ms=clock.ms(),
                             target=self.target.display(), backup=taken)

    @database_errors
    def rollback_migrations(
        self,
        *,
        count: int | None = None,
        to: str | None = None,
        dry_run: bool = False,
        verbose: bool = False,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        confirmed: Confirmation | None = None,
    ) -> RollbackResult:
        """Roll back the last `count` applied migrations, or all applied after `to` (exclusive).

        A protected target needs `confirmed` (app.core.protection).
        """
        if (count is None) == (to is None):
            raise UsageError("give either a count or a migration to roll back to")
        from app.core import guards

        progress = progress or no_progress
        cancel = cancel or CancelToken()
        clock = Clock()
        files = self.files()
        if dry_run:
            with self._connection(cancel) as conn:
                rows = selection.rollback_selection(conn, files, count, to)
                guards.check_stored_rollbacks([(r.name, r.rollback_sql) for r in rows], place_of(conn))
                return RollbackResult(None, True, planned=selection.planned_rollbacks(rows), total_ms=clock.ms())
        from app.core.notify import for_target
        from app.core.notify.events import reporting

        notes = for_target(self.target, self.migrations_dir)  # a wrong table is bad input: before anything runs
        watch = Watch(progress, history.new_batch_id(), rollback=True)
        try:
            with reporting(self.target, notes, "rollback", runner_session.say(progress), watch.batch_id) as report:
                return report.done(self._roll_back(files, count, to, verbose, watch, cancel, clock, confirmed, notes))
        except KeyboardInterrupt:  # Ctrl-C: the run's connection is closed by now; say what is known
            raise watch.interrupted(self.target, self.actor) from None

    def _roll_back(self, files: list[MigrationFile], count: int | None, to: str | None, verbose: bool,
                   watch: Watch, cancel: CancelToken, clock: Clock, confirmed: Confirmation | None,
                   notes: list[Notification]) -> RollbackResult:
        from app.core import guards
        from app.core.prepared import Context
        from app.core.revert import revert

        progress: ProgressCallback = watch
        with self._connection(cancel) as conn:
            watch.backend_pid = conn.info.backend_pid
            with self._locked(conn, cancel, progress, notes):
                rows = selection.rollback_selection(conn, files, count, to)
                # Checked before any runs:
                guards.check_stored_rollbacks([(r.name, r.rollback_sql) for r in rows], place_of(conn))
                if rows:
                    enforce(confirmed, self.target, Action.ROLLBACK, [r.name for r in rows])
                batch_id = watch.batch_id
                watch.expect(rows)
                ctx = Context(conn, self.actor, batch_id, self.options, cancel, progress, verbose, clock)
                done = []
                for i, row in enumerate(rows, start=1):
                    try:
                        done.append(revert(ctx, row, i, len(rows)))
                    except MigrationFailed as exc:
                        exc.completed = RollbackResult(batch_id, False, done, total_ms=clock.ms())
                        raise
                    except ConnectionLost as exc:
                        raise rollback_lost(row, exc, len(done)) from None
                return RollbackResult(batch_id if done else None, False, done, total_ms=clock.ms())

    # --- baseline, repair, history -----------------------------------------------------------------

    @database_errors
    def baseline(self, name: str, *, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None, force: bool = False,
                 confirmed: Confirmation | None = None) -> BaselineResult:
        """Record every migration up to `name` as applied, without running it.

        Refused (UsageError, nothing written) when the database lacks objects the files create,
        unless `force`.
        """
        from app.core import bookkeeping

        return bookkeeping.baseline(self, name, progress=progress, cancel=cancel, force=force,
                                    confirmed=confirmed)

    @database_errors
    def repair_candidates(self, name: str | None = None) -> list[RepairCandidate]:
        """Applied migrations whose files changed, each with the diff against the applied text."""
        from app.core import bookkeeping

        return bookkeeping.repair_candidates(self, name)

    @database_errors
    def repair(self, candidates: list[RepairCandidate], reason: str, *,
               cancel: CancelToken | None = None, confirmed: Confirmation | None = None) -> RepairResult:
        """Accept the current checksums of changed applied files, recording who and why."""
        from app.core import bookkeeping

        return bookkeeping.repair(self, candidates, reason, cancel=cancel, confirmed=confirmed)

    @database_errors
    def import_history(self, source: str, *, dry_run: bool = False, table: str | None = None,
                       cancel: CancelToken | None = None, confirmed: Confirmation | None = None) -> ImportResult:
        """Record what another tool applied (its own history table, read only) as applied; run nothing.

        `source` names a reader of app.core.imports.SOURCES; `table` the tool's table when it was told
        another (`schema.name`). Inside the migration lock, after the session check, as every change
        here; a protected target needs `confirmed`.
        """
        from app.core import imports

        imports.reader(source)  # an unknown source is refused before anything is read
        cancel = cancel or CancelToken()
        reading = self.reading()
        with self._connection(cancel) as conn, self._locked(conn, cancel, no_progress):
            return imports.import_history(conn, self.target, source, reading.files, self.migrations_dir,
                                          dry_run=dry_run, confirmed=confirmed, actor=self.actor, table=table,
                                          repeatable_files=reading.repeatables)

    @database_errors
    def history(self, limit: int | None = None) -> list[HistoryEvent]:
        """The audit trail: applies, rollbacks, failures, baselines and repairs."""
        with self._connection() as conn:
            return history.read_history(conn, limit)

    # --- names -------------------------------------------------------------------------------------

    def resolve_name(self, name: str, files: list[MigrationFile], status: MigrationStatus | None,
                     applied: list[AppliedRow] | None = None) -> str:
        """The version a NAME means: file name with or without .sql, or the 14-digit version."""
        return selection.resolve_name(name, files, status, applied)


def create_migration_runner(
    dsn: str | None = None,
    environment: str | None = None,
    migrations_dir: str | Path | None = None,
    *,
    options: Options | None = None,
    environments: Callable[[str], Target] | None = None,
    sandbox: Callable[[], Target] | None = None,
) -> MigrationRunner:
    """A runner for a DSN or a named environment (the seed's createMigrationRunner).

    With neither, the precedence goes on as the CLI's: DATABASE_URL, the PG* variables, then
    the local sandbox. A saved environment's own migrations folder is used when none is given.
    """
    target = resolve_target(dsn, environment, environments=environments or saved_environment,
                            sandbox=sandbox or local_sandbox)
    return MigrationRunner(target, migrations_folder(target, migrations_dir), options)


__all__ = [
    "MigrationRunner",
    "Options",
    "create_migration_runner",
    "load_file",
]
