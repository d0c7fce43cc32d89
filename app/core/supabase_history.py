"""The Supabase CLI's history table, `supabase_migrations.schema_migrations`: read, import, keep writing.

Its layout, as the Supabase CLI makes it: `version text PRIMARY KEY, statements text[], name
text` (version = the file name's digits before the first `_`, name = the rest without `.sql`).
Versions are compared as strings. Importing records each of its versions in our history as
baselined (with the file's checksum), so a team switches without re-running anything;
`--supabase-history` keeps writing it in the same transaction as our own history row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from app.core import history
from app.core.errors import StateError, UsageError
from app.core.files import MigrationFile
from app.core.history import Actor

if TYPE_CHECKING:
    from app.core.connect import Target
    from app.core.imports import ImportResult
    from app.core.protection import Confirmation

TABLE = "supabase_migrations.schema_migrations"

# What the Supabase CLI runs before writing its table (pkg/migration/history.go), so the
# table we make is the one it expects.
CREATE_TABLE = [
    "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
    f"CREATE TABLE IF NOT EXISTS {TABLE} (version text NOT NULL PRIMARY KEY)",
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS statements text[]",
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS name text",
]


@dataclass(frozen=True)
class SupabaseRow:
    """One row of the Supabase CLI's history."""

    version: str
    name: str | None


@dataclass(frozen=True)
class Entry:
    """One migration seen from both histories."""

    version: str
    name: str  # the file name, or the Supabase name when the file is missing
    on_disk: bool
    in_supabase: bool
    in_tidemark: bool


def refuse_schema_target(target: Target) -> None:
    """UsageError for --supabase-history on a schema target: Supabase keeps one
    supabase_migrations.schema_migrations per database, which every tenant schema would overwrite."""
    if target.place.is_public:
        return
    name = target.environment or target.display()
    raise UsageError(f"--supabase-history cannot be used on schema target {name} (schema {target.place.schema}): "
                     "the Supabase CLI keeps one history per database, which every tenant schema would overwrite; "
                     "run it without --supabase-history (each tenant's history is in its own schema), nothing was run")


def supabase_name(f: MigrationFile) -> str:
    """The name the Supabase CLI stores: the file name after the version, without .sql."""
    return f.stem.split("_", 1)[1] if "_" in f.stem else ""


def table_exists(conn: psycopg.Connection) -> bool:
    """True when the database has the Supabase CLI's history table."""
    row = conn.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL").fetchone()
    return bool(row and row[0])


def read_rows(conn: psycopg.Connection) -> list[SupabaseRow]:
    """Its rows, by version (as strings); [] when the table does not exist."""
    if not table_exists(conn):
        return []
    has_name = conn.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = 'supabase_migrations' "
        "AND table_name = 'schema_migrations' AND column_name = 'name'"
    ).fetchone()
    name = "name" if has_name else "NULL::text"
    rows = conn.execute(f"SELECT version::text, {name} FROM {TABLE} ORDER BY version::text").fetchall()
    return [SupabaseRow(r[0], r[1]) for r in rows]


def compare(files: list[MigrationFile], rows: list[SupabaseRow], tidemark_versions: set[str]) -> list[Entry]:
    """Every version on disk, in their history or in ours, by version."""
    by_file = {f.version: f for f in files}
    theirs = {r.version: r for r in rows}
    out = []
    for v in sorted(set(by_file) | set(theirs) | tidemark_versions):
        f = by_file.get(v)
        name = f.name if f else (f"{v}_{theirs[v].name}" if v in theirs and theirs[v].name else v)
        out.append(Entry(v, name, f is not None, v in theirs, v in tidemark_versions))
    return out


def import_history(target: Target, migrations_dir: Path, *, dry_run: bool = False,
                   actor: Actor | None = None, confirmed: Confirmation | None = None) -> ImportResult:
    """Record every version of the Supabase CLI's history in ours, as baselined; run nothing.

    `import-history --from supabase` (app.core.imports); a protected target needs `confirmed`
    (app.core.protection), checked inside the lock.
    """
    from app.core.runner import MigrationRunner

    runner = MigrationRunner(target, migrations_dir)
    if actor is not None:
        runner.actor = actor
    return runner.import_history("supabase", dry_run=dry_run, confirmed=confirmed)


# --- the write hook (apply.py calls these when Options.supabase_history is set) ------------------


def refuse_recorded(conn: psycopg.Connection, pending: list[MigrationFile]) -> None:
    """Pending files the Supabase CLI already applied would run twice: refuse before anything runs."""
    theirs = {r.version for r in read_rows(conn)}
    twice = [f.name for f in pending if f.version in theirs]
    if twice:
        raise StateError(
            f"already applied by the Supabase CLI (in {TABLE}) but not in Tidemark's history: {', '.join(twice)} "
            "(run `tidemark import-history --from supabase` first, so nothing runs twice); nothing ran"
        )


def applied_sql(conn: psycopg.Connection, f: MigrationFile, statements: list[str]) -> list[str]:
    """Statements that record a migration in their table, sent in the same transaction as ours."""
    version = history.literal(conn, f.version)
    guard = (
        "DO $tidemark$ BEGIN IF EXISTS (SELECT 1 FROM " + TABLE + " WHERE version = " + version + ") THEN "
        "RAISE EXCEPTION USING MESSAGE = " + history.literal(
            conn, f"version {f.version} is already in {TABLE} but not in Tidemark's history") +
        ", HINT = 'run `tidemark import-history --from supabase` first, so nothing runs twice'; "
        "END IF; END $tidemark$"
    )
    insert = (
        f"INSERT INTO {TABLE} (version, name, statements) VALUES "
        f"({version}, {history.literal(conn, supabase_name(f))}, {history.literal(conn, statements)}::text[])"
    )
    return [*CREATE_TABLE, guard, insert]


def reverted_sql(conn: psycopg.Connection, version: str) -> list[str]:
    """Statements that remove a rolled-back migration from their table (as `migration repair --status reverted`)."""
    return [*CREATE_TABLE, f"DELETE FROM {TABLE} WHERE version = {history.literal(conn, version)}"]
