"""Each migration's state and the health the seed defines, computed from files and history."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.files import MigrationFile, title_from_name, version_key
from app.core.history import AppliedRow, LastEvent
from app.core.jsonable import jsonable
from app.core.place import PUBLIC, Place
from app.core.repeatables import RepeatableInfo

if TYPE_CHECKING:
    from app.core.imports.guard import OtherHistory


class State(StrEnum):
    """Where a migration stands."""

    APPLIED = "applied"
    PENDING = "pending"
    MODIFIED = "modified"  # applied, but the file's checksum changed since
    MISSING = "missing"  # in history, file gone
    FAILED = "failed"  # the last attempt failed and it is not applied


class RollbackKind(StrEnum):
    """How an applied migration can be undone."""

    GENERATED = "generated"
    CUSTOM = "custom"
    MANUAL = "manual"


def rollback_kind_of(row: AppliedRow, place: Place = PUBLIC) -> RollbackKind:
    """The rollback kind of an applied row (rows of older tools have none stored).

    UsageError when the stored kind and SQL do not fit together (hand-edited).
    """
    from app.core.history_check import check_stored_rollback

    check_stored_rollback(row.name, row.version, row.rollback_kind, row.rollback_sql, place)
    if row.rollback_kind:
        return RollbackKind(row.rollback_kind)
    return RollbackKind.GENERATED if row.rollback_sql else RollbackKind.MANUAL


class Health(StrEnum):
    """The seed's health levels."""

    HEALTHY = "healthy"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Failure:
    """The last failed attempt of a migration."""

    at: datetime
    message: str
    file: str | None
    line: int | None
    column: int | None
    sqlstate: str | None


@dataclass(frozen=True)
class MigrationInfo:
    """One migration as status shows it."""

    version: str
    name: str
    state: State
    title: str = ""
    description: str = ""
    path: Path | None = None
    batch_id: str | None = None
    executed_at: datetime | None = None
    execution_time_ms: int | None = None
    rollback_kind: str | None = None  # generated / custom / manual (None: not applied)
    rollback_note: str | None = None
    checksum: str | None = None  # of the file
    applied_checksum: str | None = None
    line_endings_only: bool = False  # applied text equal but for CRLF/BOM
    baselined: bool = False
    transactional: bool | None = None
    out_of_order: bool = False  # pending, yet older than the newest applied
    failure: Failure | None = None
    applied_by: str | None = None  # database user
    os_user: str | None = None
    client_host: str | None = None

    @property
    def is_applied(self) -> bool:
        """Applied in the database (whatever the file says now)."""
        return self.state in (State.APPLIED, State.MODIFIED, State.MISSING)


@dataclass(frozen=True)
class InvalidIndex:
    """An index left INVALID (a failed concurrent build), and the migration that made it."""

    schema: str
    name: str
    table: str
    migration: str | None

    @property
    def qualified(self) -> str:
        """`schema.name`."""
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class HealthReason:
    """Why health is not healthy: level, a code for scripts, and the sentence for people."""

    level: Health
    code: str
    message: str
    migration: str | None = None


@dataclass(frozen=True)
class MigrationStatus:
    """Status of every migration, and the health."""

    migrations: list[MigrationInfo]
    health: Health
    reasons: list[HealthReason]
    history_exists: bool
    server_version: str = ""
    database: str = ""
    target: str = ""
    migrations_dir: str = ""
    layout: str = ""  # which layout the files were read in (app/core/layouts)
    layout_declared_in: str | None = None  # the tidemark.toml that declared it; None: detected
    invalid_indexes: list[InvalidIndex] = field(default_factory=list)
    slow_threshold_ms: int = 60_000
    # Flyway's repeatable migrations, their own kind (applied / outdated / pending / missing), in run order.
    repeatables: list[RepeatableInfo] = field(default_factory=list)
    # Other tools' histories in the database (app.core.imports.guard) that record what ours lacks.
    other_histories: list[OtherHistory] = field(default_factory=list)

    def count(self, state: State) -> int:
        """How many migrations are in a state."""
        return sum(1 for m in self.migrations if m.state is state)

    @property
    def counts(self) -> dict[str, int]:
        """Migrations per state, every state present."""
        return {s.value: self.count(s) for s in State}

    @property
    def pending(self) -> list[MigrationInfo]:
        """Migrations that `migrate` would run (pending or failed), by version."""
        return [m for m in self.migrations if m.state in (State.PENDING, State.FAILED)]

    @property
    def has_work(self) -> bool:
        """True when `migrate` would run something: a pending versioned migration, or a due repeatable."""
        return bool(self.pending) or any(r.due for r in self.repeatables)

    @property
    def applied(self) -> list[MigrationInfo]:
        """Migrations applied in the database, by version."""
        return [m for m in self.migrations if m.is_applied]

    def find(self, version: str) -> MigrationInfo | None:
        """The migration of a version."""
        return next((m for m in self.migrations if m.version == version), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stable keys)."""
        return jsonable(asdict(self)) | {"counts": self.counts}


def compute(
    files: list[MigrationFile],
    applied: list[AppliedRow],
    last_events: dict[str, LastEvent],
    *,
    invalid_indexes: list[InvalidIndex] | None = None,
    slow_threshold_ms: int = 60_000,
) -> tuple[list[MigrationInfo], Health, list[HealthReason]]:
    """States and health from the files on disk and the history rows (a pure function)."""
    by_version = {row.version: row for row in applied}
    newest_applied = version_key(max(by_version, key=version_key)) if by_version else None
    infos: list[MigrationInfo] = []
    for f in files:
        row = by_version.get(f.version)
        if row is not None:
            line_only = row.checksum == f.checksum and bool(row.raw_checksum) and row.raw_checksum != f.raw_checksum
            state = State.APPLIED if row.checksum == f.checksum else State.MODIFIED
            infos.append(_from_row(row, state, f, line_endings_only=line_only))
            continue
        event = last_events.get(f.version)
        failure = None
        if event is not None and event.event == "failed":
            failure = Failure(
                event.at, event.error_message or "", event.error_file, event.error_line, event.error_column,
                event.error_sqlstate,
            )
        infos.append(
            MigrationInfo(
                version=f.version,
                name=f.name,
                state=State.FAILED if failure else State.PENDING,
                title=f.title,
                description=f.description,
                path=f.path,
                checksum=f.checksum,
                out_of_order=newest_applied is not None and version_key(f.version) < newest_applied,
                failure=failure,
            )
        )
    on_disk = {f.version for f in files}
    infos.extend(_from_row(row, State.MISSING, None) for row in applied if row.version not in on_disk)
    infos.sort(key=lambda m: version_key(m.version))
    health, reasons = assess(infos, invalid_indexes or [], slow_threshold_ms)
    return infos, health, reasons


def _from_row(row: AppliedRow, state: State, f: MigrationFile | None, *, line_endings_only: bool = False
              ) -> MigrationInfo:
    return MigrationInfo(
        version=row.version,
        name=f.name if f else row.name,
        state=state,
        title=f.title if f else (row.title or title_from_name(row.name)),
        description=f.description if f else "",
        path=f.path if f else None,
        batch_id=row.batch_id,
        executed_at=row.executed_at,
        execution_time_ms=row.execution_time_ms,
        rollback_kind=row.rollback_kind or ("generated" if row.rollback_sql else "manual"),
        rollback_note=row.rollback_note,
        checksum=f.checksum if f else None,
        applied_checksum=row.checksum,
        line_endings_only=line_endings_only,
        baselined=row.baselined,
        transactional=row.transactional,
        applied_by=row.db_user,
        os_user=row.os_user,
        client_host=row.client_host,
    )


def assess(
    infos: list[MigrationInfo], invalid: list[InvalidIndex], slow_threshold_ms: int
) -> tuple[Health, list[HealthReason]]:
    """The seed's health: error, warning or healthy, with every reason."""
    E, W = Health.ERROR, Health.WARNING
    reasons: list[HealthReason] = []
    for m in infos:
        if m.state is State.FAILED and m.failure:
            where = f" at {m.failure.file}:{m.failure.line}" if m.failure.file and m.failure.line else ""
            reasons.append(HealthReason(E, "failed", f"{m.name} failed{where}: {m.failure.message}", m.name))
        elif m.state is State.MODIFIED:
            reasons.append(
                HealthReason(E, "modified", f"{m.name} was changed after it was applied (checksum mismatch)",
                             m.name)
            )
    for ix in invalid:
        by = f" (left by {ix.migration})" if ix.migration else ""
        owner = next((m for m in infos if m.name == ix.migration), None)
        if owner is not None and owner.is_applied:
            # migrate never runs a recorded file again: "run it again" would leave no index at all
            advice = (f"drop it with DROP INDEX CONCURRENTLY {ix.qualified} and build it again by hand, as "
                      f"{ix.migration} does: that migration is recorded as applied, so migrate does not run it again")
        else:
            advice = f"drop it with DROP INDEX CONCURRENTLY {ix.qualified}, then run `tidemark migrate` again"
        reasons.append(HealthReason(E, "invalid_index", f"index {ix.qualified} on {ix.table} is INVALID{by}: {advice}",
                                    ix.migration))
    pending = [m for m in infos if m.state is State.PENDING]
    if pending:
        older = [m for m in pending if m.out_of_order]
        text = f"{len(pending)} pending migration{'s' if len(pending) != 1 else ''}"
        if older:
            text += f" ({len(older)} older than the newest applied: out of order)"
        reasons.append(HealthReason(W, "pending", text))
    for m in infos:
        if m.state is State.MISSING:
            reasons.append(HealthReason(W, "missing", f"{m.name} is in the history but its file is gone", m.name))
        if m.line_endings_only:
            reasons.append(
                HealthReason(W, "line_endings", f"{m.name} differs from the applied file only in line endings "
                             "or BOM (not counted as modified)", m.name)
            )
        if m.execution_time_ms is not None and m.execution_time_ms > slow_threshold_ms:
            reasons.append(
                HealthReason(W, "slow", f"{m.name} took {m.execution_time_ms / 1000:.1f} s "
                             f"(over {slow_threshold_ms / 1000:g} s)", m.name)
            )
    if any(r.level is E for r in reasons):
        return E, reasons
    if reasons:
        return W, reasons
    return Health.HEALTHY, reasons
