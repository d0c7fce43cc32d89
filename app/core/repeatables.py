"""Flyway's repeatable migrations (`R__desc.sql`): run after the versioned ones, again whenever they change.

They have no version, so they do not go into `public._migrations` (whose `version` is the key
every versioned path reads, VARCHAR(14)): `public._migration_repeatables` keeps one row per
repeatable, the checksum of its last run (of the file as written, placeholders unreplaced);
each run is also an `applied` event of the audit trail, with its checksum. The table is made
by the first run of a repeatable, so projects without them never see it. Rolling one back is
manual, as in Flyway (which has no undo of a repeatable): write the SQL that restores it, or
change the file and migrate again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg

from app.core import history
from app.core.files import MigrationFile
from app.core.place import REPEATABLES, place_of

TABLE = REPEATABLES  # the logical name: a schema target's is place_of(conn).repeatables

_CREATE = """
CREATE TABLE IF NOT EXISTS {TABLE} (
  name VARCHAR(255) PRIMARY KEY,
  checksum TEXT NOT NULL,
  raw_checksum TEXT,
  executed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
  execution_time_ms INTEGER NOT NULL,
  batch_id VARCHAR(50),
  title TEXT,
  applied_sql TEXT,
  transactional BOOLEAN NOT NULL DEFAULT true,
  runs INTEGER NOT NULL DEFAULT 1,
  db_user TEXT DEFAULT current_user,
  os_user TEXT,
  client_host TEXT,
  tool_version TEXT
)
"""
# A second run replaces the row, counting the runs; the audit trail keeps every one.
UPSERT = (" ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, raw_checksum = EXCLUDED.raw_checksum, "
          "executed_at = now(), execution_time_ms = EXCLUDED.execution_time_ms, batch_id = EXCLUDED.batch_id, "
          "title = EXCLUDED.title, applied_sql = EXCLUDED.applied_sql, transactional = EXCLUDED.transactional, "
          "runs = _migration_repeatables.runs + 1, db_user = current_user, os_user = EXCLUDED.os_user, "
          "client_host = EXCLUDED.client_host, tool_version = EXCLUDED.tool_version")


class RepeatableState(StrEnum):
    """Where a repeatable migration stands."""

    APPLIED = "applied"  # ran, and the file is as it was then
    OUTDATED = "outdated"  # ran, but the file changed since: migrate runs it again
    PENDING = "pending"  # never ran
    MISSING = "missing"  # ran, but its file is gone (nothing runs)


@dataclass(frozen=True)
class Recorded:
    """One row of public._migration_repeatables."""

    name: str
    checksum: str
    executed_at: datetime | None
    execution_time_ms: int
    batch_id: str | None
    runs: int
    db_user: str | None


@dataclass(frozen=True)
class RepeatableInfo:
    """One repeatable migration as status shows it."""

    name: str
    state: RepeatableState
    kind: str = "repeatable"
    title: str = ""
    path: Path | None = None
    checksum: str | None = None  # of the file
    applied_checksum: str | None = None
    executed_at: datetime | None = None
    execution_time_ms: int | None = None
    batch_id: str | None = None
    runs: int = 0
    applied_by: str | None = None

    @property
    def due(self) -> bool:
        """True when migrate runs it (never ran, or changed since it ran)."""
        return self.state in (RepeatableState.PENDING, RepeatableState.OUTDATED)


def read_recorded(conn: psycopg.Connection) -> dict[str, Recorded]:
    """The repeatables that ran, by name ({} before the first one)."""
    table = place_of(conn).repeatables
    if not conn.execute(f"SELECT to_regclass('{table}') IS NOT NULL").fetchone()[0]:
        return {}
    rows = conn.execute(f"SELECT name, checksum, executed_at, execution_time_ms, batch_id, runs, db_user "
                        f"FROM {table} ORDER BY name").fetchall()
    return {r[0]: Recorded(*r) for r in rows}


def compute(files: list[MigrationFile], recorded: dict[str, Recorded]) -> list[RepeatableInfo]:
    """Each repeatable's state (files in the order they run), then the recorded ones whose file is gone."""
    out = []
    for f in files:
        row = recorded.get(f.name)
        if row is None:
            out.append(RepeatableInfo(f.name, RepeatableState.PENDING, title=f.title, path=f.path, checksum=f.checksum))
            continue
        state = RepeatableState.APPLIED if row.checksum == f.checksum else RepeatableState.OUTDATED
        out.append(_info(row, state, f))
    names = {f.name for f in files}
    out += [_info(row, RepeatableState.MISSING, None) for name, row in recorded.items() if name not in names]
    return out


def _info(row: Recorded, state: RepeatableState, f: MigrationFile | None) -> RepeatableInfo:
    return RepeatableInfo(row.name, state, title=f.title if f else "", path=f.path if f else None,
                          checksum=f.checksum if f else None, applied_checksum=row.checksum,
                          executed_at=row.executed_at, execution_time_ms=row.execution_time_ms,
                          batch_id=row.batch_id, runs=row.runs, applied_by=row.db_user)


def ensure_table(conn: psycopg.Connection) -> None:
    """Create the table (with the other history tables) before the first repeatable runs."""
    with conn.transaction():
        conn.execute(_CREATE.format(TABLE=place_of(conn).repeatables))


def row(f: MigrationFile, batch_id: str, elapsed: Any, transactional: bool, actor: history.Actor) -> history.Row:
    """The row that commits with a run of a repeatable (inserted, or replacing the last run's)."""
    values = {"name": f.name, "checksum": f.checksum, "raw_checksum": f.raw_checksum, "execution_time_ms": elapsed,
              "batch_id": batch_id, "title": f.title, "applied_sql": f.text, "transactional": transactional,
              **history.audit_values(actor)}
    return history.Row(TABLE, values, "execution_time_ms", conflict=UPSERT)


def assess(infos: list[RepeatableInfo], health: Any, reasons: list[Any]) -> tuple[Any, list[Any]]:
    """The health with the repeatables' warnings added: some to run, or recorded with the file gone."""
    from app.core.status import Health, HealthReason

    more = []
    due = [r for r in infos if r.due]
    if due:
        outdated = sum(r.state is RepeatableState.OUTDATED for r in due)
        text = f"{len(due)} repeatable migration{'s' if len(due) != 1 else ''} to run"
        if outdated:
            text += f" ({outdated} changed since {'it' if outdated == 1 else 'they'} ran)"
        more.append(HealthReason(Health.WARNING, "repeatable_due", text))
    for r in infos:
        if r.state is RepeatableState.MISSING:
            more.append(HealthReason(Health.WARNING, "missing", f"{r.name} ran as a repeatable migration, but "
                                     "its file is gone", r.name))
    if more and health is Health.HEALTHY:
        health = Health.WARNING
    return health, reasons + more
