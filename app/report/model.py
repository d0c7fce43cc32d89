"""The report's data: frozen dataclasses built from a status and the rollback history.

`build_report` is a pure function (the benchmark feeds it synthetic status), and
`read_rollbacks` is the one query the engine does not already offer.
"""

from __future__ import annotations

import heapq
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from app import __version__
from app.core.place import place_of
from app.core.status import Health, MigrationInfo, MigrationStatus, State
from app.core.text import counted

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = "1"
SLOWEST_N = 10


@dataclass(frozen=True)
class ServerInfo:
    """Which server and database the report describes (never a password)."""

    version: str
    database: str
    target: str


@dataclass(frozen=True)
class Reason:
    """Why health is what it is."""

    level: str
    code: str
    message: str
    migration: str | None = None


@dataclass(frozen=True)
class RollbackEvent:
    """One row of public._migration_rollbacks."""

    migration: str
    version: str | None
    rolled_back_at: datetime | None
    execution_time_ms: int | None
    batch_id: str | None
    rolled_back_by: str | None
    os_user: str | None
    client_host: str | None
    rollback_sql: str


@dataclass(frozen=True)
class Batch:
    """Migrations applied by one `migrate` invocation."""

    batch_id: str
    started_at: datetime | None
    finished_at: datetime | None
    count: int
    total_ms: int
    migrations: tuple[str, ...]


@dataclass(frozen=True)
class Timed:
    """A name and how long it took."""

    name: str
    execution_time_ms: int


@dataclass(frozen=True)
class DayCount:
    """How many migrations were applied on one day."""

    day: date
    count: int


@dataclass(frozen=True)
class Performance:
    """Execution times of the applied migrations (baselined ones did not run and are left out)."""

    total_ms: int
    average_ms: float
    median_ms: float
    measured: int
    slowest: tuple[Timed, ...]
    per_batch: tuple[Timed, ...]
    slow_threshold_ms: int


@dataclass(frozen=True)
class ReportWarning:
    """Something a DBA should look at: one line per kind, with the migrations concerned."""

    level: str
    code: str
    message: str
    migrations: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftDifference:
    """One object the files and the database disagree on (`report --drift`)."""

    key: str
    words: str  # app/schema_words.py's sentence: `production lacks index public.x; the files create it`
    files: str | None  # what replaying the applied migrations produces; None: they do not create it
    target: str | None  # what the database has; None: it does not have it


@dataclass(frozen=True)
class DriftSection:
    """The drift check against the files, as the report shows it (app/report/drift.py builds it)."""

    ok: bool  # every migration replayed and every object alike: the only case that reads "agrees"
    verdict: str
    replayed: int
    objects: int
    ignored: int
    sandbox_version: str
    replay_error: str | None
    notes: tuple[str, ...]
    differences: tuple[DriftDifference, ...]
    total_ms: int


@dataclass(frozen=True)
class Report:
    """Everything a migration report shows, whatever the format."""

    environment: str | None
    server: ServerInfo
    generated_at: datetime
    migrations_dir: str
    history_exists: bool
    health: str
    reasons: tuple[Reason, ...]
    counts: dict[str, int]
    migrations: tuple[MigrationInfo, ...]  # the engine's own rows, shared, not copied
    rollbacks: tuple[RollbackEvent, ...]
    batches: tuple[Batch, ...]
    performance: Performance
    timeline: tuple[DayCount, ...]
    warnings: tuple[ReportWarning, ...]
    tool_version: str = __version__
    schema_version: str = SCHEMA_VERSION
    drift: DriftSection | None = None  # only with `report --drift` (the check replays on a throwaway server)

    @property
    def title(self) -> str:
        """`Migration report: production (user@host:5432/db)`."""
        where = self.environment or self.server.database or self.server.target
        return f"Migration report: {where}"


def build_report(
    status: MigrationStatus,
    rollbacks: list[RollbackEvent] | tuple[RollbackEvent, ...] = (),
    *,
    environment: str | None = None,
    generated_at: datetime | None = None,
    slowest_n: int = SLOWEST_N,
) -> Report:
    """The report of one status and its rollback history (pure: no database)."""
    rows = tuple(status.migrations)
    applied = [m for m in status.migrations if m.is_applied]
    batches = _batches(applied)
    counts = dict(status.counts) | {"total": len(status.migrations)}
    return Report(
        environment=environment,
        server=ServerInfo(status.server_version, status.database, status.target),
        generated_at=generated_at or datetime.now(UTC),
        migrations_dir=status.migrations_dir,
        history_exists=status.history_exists,
        health=status.health.value,
        reasons=tuple(Reason(r.level.value, r.code, r.message, r.migration) for r in status.reasons),
        counts=counts,
        migrations=rows,
        rollbacks=tuple(rollbacks),
        batches=batches,
        performance=_performance(applied, batches, slowest_n, status.slow_threshold_ms),
        timeline=_timeline(applied),
        warnings=_warnings(status),
    )


def _batches(applied: list[MigrationInfo]) -> tuple[Batch, ...]:
    groups: dict[str, list[MigrationInfo]] = defaultdict(list)
    for m in applied:
        groups[m.batch_id or "(no batch)"].append(m)
    out = []
    for batch_id, ms in groups.items():
        times = [m.executed_at for m in ms if m.executed_at is not None]
        out.append(
            Batch(
                batch_id=batch_id,
                started_at=min(times) if times else None,
                finished_at=max(times) if times else None,
                count=len(ms),
                total_ms=sum(m.execution_time_ms or 0 for m in ms),
                migrations=tuple(m.name for m in ms),
            )
        )
    # Oldest batch first; batches without times (seed-made rows) go first, by id.
    out.sort(key=lambda b: (b.started_at is not None, b.started_at or datetime.min.replace(tzinfo=UTC),
                            b.batch_id))
    return tuple(out)


def _performance(applied: list[MigrationInfo], batches: tuple[Batch, ...], slowest_n: int,
                 slow_threshold_ms: int) -> Performance:
    timed = [m for m in applied if m.execution_time_ms is not None and not m.baselined]
    times = [m.execution_time_ms or 0 for m in timed]
    # nlargest is stable on ties (older version first) and O(n), unlike a full sort of 10,000 rows.
    slowest = heapq.nlargest(slowest_n, timed, key=lambda m: m.execution_time_ms or 0)
    return Performance(
        total_ms=sum(times),
        average_ms=round(sum(times) / len(times), 1) if times else 0.0,
        median_ms=float(statistics.median(times)) if times else 0.0,
        measured=len(times),
        slowest=tuple(Timed(m.name, m.execution_time_ms or 0) for m in slowest),
        per_batch=tuple(Timed(b.batch_id, b.total_ms) for b in batches),
        slow_threshold_ms=slow_threshold_ms,
    )


def _timeline(applied: list[MigrationInfo]) -> tuple[DayCount, ...]:
    days = Counter(m.executed_at.date() for m in applied if m.executed_at is not None)
    return tuple(DayCount(d, n) for d, n in sorted(days.items()))


def _warnings(status: MigrationStatus) -> tuple[ReportWarning, ...]:
    """One warning per kind of problem, most serious first."""
    E, W = Health.ERROR.value, Health.WARNING.value
    by_state: dict[State, list[str]] = defaultdict(list)
    for m in status.migrations:
        by_state[m.state].append(m.name)
    out: list[ReportWarning] = []
    if not status.history_exists:
        out.append(ReportWarning(W, "no_history", "the history tables do not exist yet: nothing was applied by "
                                 "Tidemark or the seed's tool"))
    if by_state[State.FAILED]:
        names = by_state[State.FAILED]
        out.append(ReportWarning(E, "failed", f"{counted(len(names), 'migration')} failed on the last attempt",
                                 tuple(names)))
    if by_state[State.MODIFIED]:
        names = by_state[State.MODIFIED]
        out.append(ReportWarning(E, "modified", f"{counted(len(names), 'applied migration')} changed on disk "
                                 "since applied (checksum mismatch)", tuple(names)))
    invalid = [r for r in status.reasons if r.code == "invalid_index"]
    for r in invalid:
        out.append(ReportWarning(E, "invalid_index", r.message, (r.migration,) if r.migration else ()))
    if by_state[State.PENDING]:
        names = by_state[State.PENDING]
        older = [m.name for m in status.migrations if m.state is State.PENDING and m.out_of_order]
        text = f"{counted(len(names), 'pending migration')}"
        if older:
            text += f" ({len(older)} older than the newest applied: out of order)"
        out.append(ReportWarning(W, "pending", text, tuple(names)))
    if by_state[State.MISSING]:
        names = by_state[State.MISSING]
        out.append(ReportWarning(W, "missing", f"{counted(len(names), 'applied migration')} in the history "
                                 "without a file", tuple(names)))
    slow = [m for m in status.migrations
            if m.execution_time_ms is not None and m.execution_time_ms > status.slow_threshold_ms]
    if slow:
        out.append(ReportWarning(W, "slow", f"{counted(len(slow), 'migration')} took longer than "
                                 f"{status.slow_threshold_ms / 1000:g} s", tuple(m.name for m in slow)))
    manual = [m.name for m in status.migrations if m.is_applied and m.rollback_kind == "manual"]
    if manual:
        out.append(ReportWarning(W, "manual_rollback", f"{counted(len(manual), 'applied migration')} cannot be "
                                 "rolled back automatically (rollback: manual)", tuple(manual)))
    line_endings = [m.name for m in status.migrations if m.line_endings_only]
    if line_endings:
        out.append(ReportWarning(W, "line_endings", f"{counted(len(line_endings), 'migration')} differ from the "
                                 "applied file only in line endings or BOM", tuple(line_endings)))
    return tuple(out)


# --- the one query the runner does not offer -------------------------------------------------------

_ROLLBACK_COLUMNS = ("migration_name", "version", "rolled_back_at", "execution_time_ms", "batch_id", "db_user",
                     "os_user", "client_host", "rollback_sql")


def read_rollbacks(conn: psycopg.Connection) -> list[RollbackEvent]:
    """Every row of public._migration_rollbacks, oldest first ([] before the first migrate).

    A table made by the seed's tool lacks Tidemark's added columns: those read as NULL.
    """
    from app.core import history

    if not conn.execute(f"SELECT to_regclass('{history.names(conn).rollbacks}') IS NOT NULL").fetchone()[0]:
        return []
    from app.core import history_check

    have = history_check.checked_columns(conn)["_migration_rollbacks"]  # hand-edited types: a clear error
    names = ("id", *_ROLLBACK_COLUMNS)
    cols = ", ".join(c if c in have else f"NULL AS {c}" for c in names)
    rows = conn.execute(f"SELECT {cols} FROM {history.names(conn).rollbacks} ORDER BY rolled_back_at, id").fetchall()
    history_check.check_rollback_rows(rows, names, place_of(conn))  # hand-edited values: a clear error
    return [RollbackEvent(*row[1:]) for row in rows]
