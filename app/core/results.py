"""What the engine returns: plain dataclasses the CLI, the app and reports all read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.jsonable import jsonable

if TYPE_CHECKING:
    from app.core.backup import BackupResult
    from app.core.statement_locks import Lock


@dataclass(frozen=True)
class StatementTiming:
    """One statement that ran, and how long it took (verbose runs)."""

    line: int
    text: str
    ms: float


@dataclass(frozen=True)
class AppliedMigration:
    """A migration that ran and committed with its history row."""

    version: str
    name: str
    title: str
    execution_time_ms: int
    rollback_kind: str
    transactional: bool
    statements: list[StatementTiming] = field(default_factory=list)
    attempts: int = 1


@dataclass(frozen=True)
class PlannedStatement:
    """A statement a dry run shows: where, what, and the locks it takes."""

    line: int
    text: str
    locks: list[Lock]
    non_transactional: str | None = None


@dataclass(frozen=True)
class PlannedMigration:
    """What `migrate` would do with one file."""

    version: str
    name: str
    title: str
    path: Path
    transactional: bool
    non_transactional_reason: str | None
    statements: list[PlannedStatement]
    rollback_kind: str
    rollback_sql: str | None
    rollback_note: str = ""
    own_transaction_removed: bool = False  # the file's BEGIN/COMMIT, replaced by Tidemark's


@dataclass(frozen=True)
class RunResult:
    """The outcome of `migrate` (or its dry run)."""

    batch_id: str | None
    dry_run: bool
    applied: list[AppliedMigration] = field(default_factory=list)
    planned: list[PlannedMigration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    total_ms: float = 0.0
    target: str = ""
    backup: BackupResult | None = None  # taken before the first migration ran (app.core.backup)
    layout: str = ""  # the dry run says which layout the files were read in
    layout_declared_in: str | None = None  # the tidemark.toml that declared it; None: detected

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return jsonable(asdict(self))


@dataclass(frozen=True)
class RolledBackMigration:
    """A migration whose rollback ran and committed with its history changes."""

    version: str
    name: str
    execution_time_ms: int
    sql: str


@dataclass(frozen=True)
class PlannedRollback:
    """What a rollback would run for one migration."""

    version: str
    name: str
    rollback_kind: str
    sql: str | None
    note: str = ""
    transactional: bool = True


@dataclass(frozen=True)
class RollbackResult:
    """The outcome of `rollback` / `rollback-to` (or their dry run)."""

    batch_id: str | None
    dry_run: bool
    rolled_back: list[RolledBackMigration] = field(default_factory=list)
    planned: list[PlannedRollback] = field(default_factory=list)
    total_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return jsonable(asdict(self))


@dataclass(frozen=True)
class BaselineResult:
    """Migrations recorded as applied without running them."""

    batch_id: str
    recorded: list[str]
    already_applied: list[str]


@dataclass(frozen=True)
class RepairCandidate:
    """An applied migration whose file changed: the diff a DBA accepts or not."""

    version: str
    name: str
    diff: str
    line_endings_only: bool
    applied_checksum: str
    new_checksum: str
    new_rollback_kind: str | None = None


@dataclass(frozen=True)
class RepairResult:
    """Checksums accepted by `repair`."""

    repaired: list[str]
    reason: str

