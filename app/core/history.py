"""The history tables: the seed's two, exactly as it defines them, plus an audit table.

In `public` for a plain target; a schema target keeps the same tables in its own schema (place.py).

`public._migrations` and `public._migration_rollbacks` keep the seed's columns unchanged;
Tidemark's extra facts (version, audit columns, applied text, rollback kind) are added
columns, so a table made by the seed's tool is upgraded in place. `public._migration_audit`
is append-only: every apply, rollback, failure, baseline and repair, with who and where.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from app import __version__
from app.core import place
from app.core.history_sql import Raw, Row, _quoter, insert_sql, literal, prepared_insert
from app.core.place import PUBLIC, Place, place_of

# Logical names (the real ones of a plain target): a schema target's are place_of(conn).migrations...
MIGRATIONS, ROLLBACKS, AUDIT = place.MIGRATIONS, place.ROLLBACKS, place.AUDIT

_SEED_TABLES = """
CREATE TABLE IF NOT EXISTS {MIGRATIONS} (
  id SERIAL PRIMARY KEY,
  name VARCHAR(255) UNIQUE NOT NULL,
  executed_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
  checksum TEXT NOT NULL,
  execution_time_ms INTEGER NOT NULL,
  rollback_sql TEXT,
  batch_id VARCHAR(50),
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);
CREATE TABLE IF NOT EXISTS {ROLLBACKS} (
  id SERIAL PRIMARY KEY,
  migration_name VARCHAR(255) NOT NULL,
  rolled_back_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
  rollback_sql TEXT NOT NULL,
  execution_time_ms INTEGER NOT NULL,
  batch_id VARCHAR(50),
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);
"""

_AUDIT_COLUMNS = """
  db_user TEXT DEFAULT current_user,
  os_user TEXT,
  client_host TEXT,
  tool_version TEXT"""

ADDED_COLUMNS: dict[str, list[tuple[str, str]]] = {
    MIGRATIONS: [
        ("version", "VARCHAR(14)"),
        ("title", "TEXT"),
        ("description", "TEXT"),
        ("raw_checksum", "TEXT"),
        ("applied_sql", "TEXT"),
        ("rollback_kind", "TEXT"),
        ("rollback_note", "TEXT"),
        ("transactional", "BOOLEAN NOT NULL DEFAULT true"),
        ("baselined", "BOOLEAN NOT NULL DEFAULT false"),
        ("db_user", "TEXT DEFAULT current_user"),
        ("os_user", "TEXT"),
        ("client_host", "TEXT"),
        ("tool_version", "TEXT"),
    ],
    ROLLBACKS: [
        ("version", "VARCHAR(14)"),
        ("db_user", "TEXT DEFAULT current_user"),
        ("os_user", "TEXT"),
        ("client_host", "TEXT"),
        ("tool_version", "TEXT"),
        ("applied_at", "TIMESTAMP WITH TIME ZONE"),
        ("applied_batch_id", "VARCHAR(50)"),
    ],
}

_AUDIT_TABLE = """
CREATE TABLE IF NOT EXISTS {AUDIT} (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
  event TEXT NOT NULL,
  migration_name VARCHAR(255),
  version VARCHAR(14),
  batch_id VARCHAR(50),
  execution_time_ms INTEGER,
  checksum TEXT,
  reason TEXT,
  error_message TEXT,
  error_sqlstate TEXT,
  error_detail TEXT,
  error_hint TEXT,
  error_file TEXT,
  error_line INTEGER,
  error_column INTEGER,
  error_statement TEXT,{_AUDIT_COLUMNS}
);
CREATE INDEX IF NOT EXISTS _migration_audit_version_idx ON {AUDIT} (version, id);
"""


def seed_tables(where: Place = PUBLIC) -> str:
    """The seed's two tables, in `where`'s schema."""
    return _SEED_TABLES.format(MIGRATIONS=where.migrations, ROLLBACKS=where.rollbacks)


def audit_table(where: Place = PUBLIC) -> str:
    """The audit table and its index, in `where`'s schema."""
    return _AUDIT_TABLE.format(AUDIT=where.audit, _AUDIT_COLUMNS=_AUDIT_COLUMNS)


SEED_TABLES, AUDIT_TABLE = seed_tables(), audit_table()  # a plain target's, as always


def names(conn: psycopg.Connection) -> Place:
    """The history's place for this connection: its tables are `names(conn).migrations`, ..."""
    return place_of(conn)


class Event:
    """Audit event names."""

    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    ROLLBACK_FAILED = "rollback_failed"
    BASELINED = "baselined"
    REPAIRED = "repaired"
    INTERRUPTED = "interrupted"  # Ctrl-C of a run (the app's Cancel writes "cancelled")
    NOTIFY_FAILED = "notify_failed"  # a notification (app.core.notify) not delivered; reason says which


@dataclass(frozen=True)
class Actor:
    """Who runs Tidemark and from where (the database user is the server's current_user)."""

    os_user: str
    client_host: str
    tool_version: str = __version__

    @classmethod
    def current(cls) -> Actor:
        """The OS user and host of this process."""
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
        return cls(user, socket.gethostname())


def new_batch_id() -> str:
    """One id per migrate/rollback invocation: sortable time plus a random part (≤ 50 chars)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class AppliedRow:
    """One row of public._migrations."""

    name: str
    version: str
    executed_at: datetime | None
    checksum: str
    raw_checksum: str | None
    execution_time_ms: int
    rollback_sql: str | None
    rollback_kind: str | None
    rollback_note: str | None
    batch_id: str | None
    transactional: bool
    baselined: bool
    title: str | None
    db_user: str | None
    os_user: str | None
    client_host: str | None


_APPLIED_COLUMNS = (
    "name, version, executed_at, checksum, raw_checksum, execution_time_ms, rollback_sql, rollback_kind, "
    "rollback_note, batch_id, transactional, baselined, title, db_user, os_user, client_host"
)


def tables_exist(conn: psycopg.Connection) -> bool:
    """True when the history tables are there (status never creates them)."""
    row = conn.execute(f"SELECT to_regclass('{place_of(conn).migrations}') IS NOT NULL").fetchone()
    return bool(row and row[0])


def missing_columns(conn: psycopg.Connection) -> dict[str, list[tuple[str, str]]]:
    """Added columns an older layout lacks, per table ({} when up to date)."""
    where = place_of(conn)
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name IN ('_migrations', '_migration_rollbacks')", (where.schema,)
    ).fetchall()
    have = {(f"public.{t}", c) for t, c in rows}  # by logical name
    return {
        where.qualify(table): [col for col in cols if (table, col[0]) not in have]
        for table, cols in ADDED_COLUMNS.items()
        if any((table, c[0]) not in have for c in cols)
    }


def ensure_tables(conn: psycopg.Connection) -> bool:
    """Create the tables, or upgrade an older layout in place, in one transaction.

    Returns True when something was created or upgraded.
    """
    where = place_of(conn)
    audit_exists = conn.execute(f"SELECT to_regclass('{where.audit}') IS NOT NULL").fetchone()
    if tables_exist(conn) and audit_exists and audit_exists[0] and not missing_columns(conn):
        return False
    # One script, one round trip: on a new database this is the first thing a migrate waits for.
    script = [seed_tables(where)]
    for table, cols in missing_columns(conn).items():  # all of them when the tables are new
        script.append(f"ALTER TABLE {table} " + ", ".join(f"ADD COLUMN IF NOT EXISTS {c} {d}" for c, d in cols) + ";")
    script += [
        f"UPDATE {where.migrations} SET version = substring(name from '^[0-9]{{14}}') WHERE version IS NULL;",
        f"UPDATE {where.rollbacks} SET version = substring(migration_name from '^[0-9]{{14}}') WHERE version IS NULL;",
        audit_table(where),
    ]
    with conn.transaction():
        conn.execute("\n".join(script))
    return True


_DEFAULTS_FOR_OLD_LAYOUT = {
    "version": "substring(name from '^[0-9]{14}')",
    "transactional": "true",
    "baselined": "false",
}


def read_applied(conn: psycopg.Connection) -> list[AppliedRow]:
    """Every applied migration, by version (an older layout reads with its added columns empty)."""
    from app.core import history_check

    have = history_check.checked_columns(conn)["_migrations"]  # hand-edited types: a clear error
    names = [x.strip() for x in _APPLIED_COLUMNS.split(",")]
    select = ", ".join(c if c in have else f"{_DEFAULTS_FOR_OLD_LAYOUT.get(c, 'NULL')} AS {c}" for c in names)
    rows = conn.execute(f"SELECT {select} FROM {place_of(conn).migrations} m ORDER BY 2, id").fetchall()
    history_check.check_rows(conn, rows, names)
    return [AppliedRow(*row) for row in rows]


def read_applied_sql(conn: psycopg.Connection, version: str) -> str | None:
    """The SQL text a migration had when it was applied (for `repair`)."""
    row = conn.execute(f"SELECT applied_sql FROM {place_of(conn).migrations} WHERE version = %s",
                       (version,)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class LastEvent:
    """The latest audit event of a migration."""

    version: str
    event: str
    at: datetime
    error_message: str | None
    error_file: str | None
    error_line: int | None
    error_column: int | None
    error_sqlstate: str | None


def read_last_events(conn: psycopg.Connection) -> dict[str, LastEvent]:
    """The newest apply/rollback/failure event of each version."""
    audit = place_of(conn).audit
    if not conn.execute(f"SELECT to_regclass('{audit}') IS NOT NULL").fetchone()[0]:
        return {}
    cur = conn.execute(
        f"SELECT DISTINCT ON (version) version, event, at, error_message, error_file, error_line, "
        f"error_column, error_sqlstate FROM {audit} "
        "WHERE version IS NOT NULL AND event IN ('applied', 'failed', 'rolled_back', 'baselined') "
        "ORDER BY version, id DESC"
    )
    return {row[0]: LastEvent(*row) for row in cur.fetchall()}


def audit_values(actor: Actor) -> dict[str, Any]:
    """The audit columns for a row written by this process."""
    return {"os_user": actor.os_user, "client_host": actor.client_host, "tool_version": actor.tool_version}


def audit_sql(conn: psycopg.Connection, actor: Actor, event: str, **values: Any) -> str:
    """An INSERT of one audit event."""
    return insert_sql(conn, place_of(conn).audit, {"event": event, **values, **audit_values(actor)})


@dataclass(frozen=True)
class HistoryEvent:
    """One line of the audit trail."""

    at: datetime
    event: str
    migration_name: str | None
    version: str | None
    batch_id: str | None
    execution_time_ms: int | None
    db_user: str | None
    os_user: str | None
    client_host: str | None
    tool_version: str | None
    reason: str | None
    error_message: str | None
    error_file: str | None
    error_line: int | None


def read_history(conn: psycopg.Connection, limit: int | None = None) -> list[HistoryEvent]:
    """The audit trail, oldest first (the last `limit` events when given).

    Rows applied by an older tool (no audit table yet) appear from `_migrations` and
    `_migration_rollbacks` themselves.
    """
    if not tables_exist(conn):
        return []
    from app.core import history_check

    where = place_of(conn)
    AUDIT, MIGRATIONS = where.audit, where.migrations
    has_audit = conn.execute(f"SELECT to_regclass('{AUDIT}') IS NOT NULL").fetchone()[0]
    cols = history_check.checked_columns(conn)["_migrations"]  # hand-edited types: a clear error
    parts = []
    if has_audit:
        parts.append(
            f"SELECT at, event, migration_name, version, batch_id, execution_time_ms, db_user, os_user, "
            f"client_host, tool_version, reason, error_message, error_file, error_line FROM {AUDIT}"
        )
    # Applies recorded before the audit table existed (a seed-made table, upgraded).
    who = "db_user, os_user, client_host, tool_version" if "db_user" in cols else "NULL, NULL, NULL, NULL"
    ver = "version" if "version" in cols else "substring(name from '^[0-9]{14}')"
    audit_filter = (
        f"WHERE NOT EXISTS (SELECT 1 FROM {AUDIT} a WHERE a.migration_name = m.name)" if has_audit else ""
    )
    parts.append(
        f"SELECT executed_at, 'applied', name, {ver}, batch_id, execution_time_ms, {who}, "
        f"NULL, NULL, NULL, NULL FROM {MIGRATIONS} m {audit_filter}"
    )
    query = " UNION ALL ".join(parts)
    if limit:
        query = f"SELECT * FROM ({query}) h ORDER BY 1 DESC LIMIT {int(limit)}"
        rows = list(reversed(conn.execute(query).fetchall()))
    else:
        rows = conn.execute(f"SELECT * FROM ({query}) h ORDER BY 1").fetchall()
    return [HistoryEvent(*r) for r in rows]


__all__ = ["AUDIT", "AUDIT_TABLE", "MIGRATIONS", "ROLLBACKS", "SEED_TABLES", "Raw", "Row", "_quoter", "insert_sql",
           "literal", "names", "prepared_insert"]
