"""Which migrations a run or a rollback takes, and what a migration's name means.

The runner asks these before anything changes: pending files up to a target (refusing modified
and out-of-order ones unless allowed), the baseline to start an empty database from, the
repeatables due, and the applied rows a rollback undoes (refusing a range with a manual one).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import psycopg

from app.core import baselines, history
from app.core.errors import ManualRollback, MigrationFileError, StateError, UsageError
from app.core.files import MigrationFile, version_key, version_of
from app.core.history import AppliedRow
from app.core.options import Options
from app.core.place import place_of
from app.core.results import PlannedRollback
from app.core.status import MigrationStatus, RollbackKind, State, rollback_kind_of
from app.core.text import counted

if TYPE_CHECKING:
    from app.core.layouts import Reading

_R = TypeVar("_R")


def resolve_name(name: str, files: list[MigrationFile], status: MigrationStatus | None,
                 applied: list[AppliedRow] | None = None) -> str:
    """The version a NAME means: file name with or without .sql, or the 14-digit version."""
    version = version_of(name)
    known = {f.version: f.name for f in files}
    if status is not None:
        known.update({m.version: m.name for m in status.migrations})
    for row in applied or []:
        known.setdefault(row.version, row.name)
    if version is None or version not in known:
        other = _other_layout_name(name, known)  # golang-migrate's `3`, Diesel's folder name, ...
        if other is not None:
            return other
    if version is None or version not in known:
        raise UsageError(
            f"unknown migration {name!r}: give a file name (with or without .sql) or its 14-digit "
            f"version; `tidemark status` lists them"
        )
    stem = name.strip().removesuffix(".sql")
    if not stem.isdigit() and known[version].removesuffix(".sql") != Path(stem).name:
        raise UsageError(f"unknown migration {name!r}: version {version} is {known[version]}")
    return version


def _other_layout_name(name: str, known: dict[str, str]) -> str | None:
    """The version a name means in a layout whose versions are not 14 digits: a version of the
    same value (`3` is `0003`), or the migration's name with or without `.sql` / `.up.sql`."""
    given = name.strip()
    if given and given.replace(".", "").replace("_", "").isdigit():
        key = version_key(given)
        return next((v for v in known if version_key(v) == key), None)
    bare = Path(given.removesuffix(".sql").removesuffix(".up")).name
    return next((v for v, n in known.items()
                 if bare and bare in (n, n.removesuffix(".sql"), n.removesuffix(".sql").removesuffix(".up"))), None)


def select_pending(status: MigrationStatus, files: list[MigrationFile], target: str | None, options: Options,
                   migrations_dir: Path, baselines: list[MigrationFile] | None = None
                   ) -> tuple[list[MigrationFile], list[str]]:
    """The pending files up to `target` (which may name a baseline migration), and the warnings the run prints."""
    by_version = {f.version: f for f in files}
    warnings: list[str] = []
    stop = None
    if target:
        stop = resolve_name(target, [*(baselines or []), *files], status)  # a versioned file wins a shared version
        if stop not in by_version and stop not in {b.version for b in baselines or []}:
            raise UsageError(f"--target {target}: its file is missing from {migrations_dir}")
    modified = [m for m in status.migrations if m.state is State.MODIFIED]
    if modified and not options.allow_modified:
        names = ", ".join(m.name for m in modified)
        raise StateError(
            f"applied migration{'s' if len(modified) > 1 else ''} changed since applied: {names} "
            "(restore the file, or accept it with `tidemark repair NAME --reason ...`, "
            "or run with --allow-modified)"
        )
    for m in modified:
        warnings.append(f"{m.name} was modified after it was applied (--allow-modified)")
    for m in status.migrations:
        if m.state is State.MISSING:
            warnings.append(f"{m.name} is in the history but its file is missing")
    pending = [m for m in status.pending if stop is None or version_key(m.version) <= version_key(stop)]
    older = [m for m in pending if m.out_of_order]
    if older and not options.allow_out_of_order:
        names = ", ".join(m.name for m in older)
        raise StateError(
            f"pending migration{'s' if len(older) > 1 else ''} older than the newest applied one: {names} "
            "(give it a newer timestamp, or run with --allow-out-of-order)"
        )
    return [by_version[m.version] for m in pending], warnings


def take(conn: psycopg.Connection, status: MigrationStatus, files: list[MigrationFile], reading: Reading,
         target: str | None, options: Options, migrations_dir: Path
         ) -> tuple[list[MigrationFile], list[MigrationFile], list[MigrationFile], list[str]]:
    """What a migrate (or its dry run) takes: the baseline to start from, the pending files, the due
    repeatables, and the warnings; refused first when another tool already applied one of them."""
    from app.core.imports.guard import refuse_twice

    todo, warnings = select_pending(status, files, target, options, migrations_dir, reading.baselines)
    first, todo = baseline_start(status, files, reading, target, todo, warnings)
    again = due_repeatables(status, reading.repeatables, target)
    refuse_twice(conn, first + todo, files, migrations_dir, {m.version for m in status.applied},
                 skip=("supabase",) if options.supabase_history else ())
    return first, todo, again, warnings


def baseline_start(status: MigrationStatus, files: list[MigrationFile], reading: Reading, target: str | None,
                   todo: list[MigrationFile], warnings: list[str]
                   ) -> tuple[list[MigrationFile], list[MigrationFile]]:
    """On an empty database, the baseline migration to start from (a list of 0 or 1) and what runs after it."""
    stop = resolve_name(target, [*reading.baselines, *files], status) if target else None
    first = baselines.start(not status.applied, files, reading.baselines, stop)
    if first is None:
        return [], todo
    warnings.append(baselines.note(first))
    covered = {f.name for f in first.covers}
    return [first], [f for f in todo if f.name not in covered]


def due_repeatables(status: MigrationStatus, files: list[MigrationFile], target: str | None) -> list[MigrationFile]:
    """The repeatables a migrate runs: never ran, or changed since. None with --target, which names a
    versioned point: a repeatable is written against the newest schema, not an older one."""
    if target:
        return []
    due = {r.name for r in status.repeatables if r.due}
    return [f for f in files if f.name in due]


def rollback_selection(conn: psycopg.Connection, files: list[MigrationFile], count: int | None,
                       to: str | None) -> list[AppliedRow]:
    """The applied rows a rollback undoes, newest first; refused whole when one has no rollback SQL."""
    applied = history.read_applied(conn) if history.tables_exist(conn) else []
    newest_first = sorted(applied, key=lambda r: version_key(r.version), reverse=True)
    if count is not None:
        if count < 1:
            raise UsageError(f"rollback count must be 1 or more (got {count})")
        if count > len(newest_first):
            raise UsageError(
                f"cannot roll back {counted(count, 'migration')}: only {len(newest_first)} "
                f"{'is' if len(newest_first) == 1 else 'are'} applied"
            )
        rows = newest_first[:count]
    else:
        assert to is not None
        version = resolve_name(to, files, None, applied)
        if version not in {r.version for r in applied}:
            raise UsageError(f"rollback-to {to}: that migration is not applied")
        rows = [r for r in newest_first if version_key(r.version) > version_key(version)]
    place = place_of(conn)
    manual = [r for r in rows if rollback_kind_of(r, place) is RollbackKind.MANUAL]
    if manual:
        lines = []
        for r in manual:
            why = f" ({r.rollback_note})" if r.rollback_note else ""
            lines.append(f"{r.name}{why}")
        raise ManualRollback(
            "nothing was rolled back: no rollback SQL is known for " + "; ".join(lines)
            + ". Add '-- ROLLBACK: <sql>' lines (or a '-- ROLLBACK BEGIN' ... '-- ROLLBACK END' block) "
            "to the file, then store them with `tidemark repair NAME --reason ...`",
            tuple(r.name for r in manual),
        )
    return rows


def planned_rollbacks(rows: list[AppliedRow]) -> list[PlannedRollback]:
    return [
        PlannedRollback(r.version, r.name, rollback_kind_of(r).value, r.rollback_sql, r.rollback_note or "",
                        r.transactional)
        for r in rows
    ]


def each_file(files: list[MigrationFile], step: Callable[[MigrationFile], _R]) -> list[_R]:
    """A step for every file; MigrationFileError lists the problems of all of them, not the first."""
    problems = []
    out = []
    for f in files:
        try:
            out.append(step(f))
        except MigrationFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise MigrationFileError(problems)
    return out
