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

import psycopg

from app.core import history, lock
from app.core.connect import Target, connect
from app.core.errors import StateError
from app.core.files import MigrationFile, discover
from app.core.history import Actor, Event
from app.core.protection import Action, Confirmation, enforce
from app.core.rollback import RollbackKind

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


@dataclass(frozen=True)
class ImportResult:
    """What `import-history --from supabase` did (or would do)."""

    imported: list[str]
    already: list[str]
    dry_run: bool
    batch_id: str | None


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


def missing_files(files: list[MigrationFile], rows: list[SupabaseRow], migrations_dir: Path) -> None:
    """A version in their history with no file on disk is an error (nothing is imported)."""
    on_disk = {f.version for f in files}
    missing = [r for r in rows if r.version not in on_disk]
    if missing:
        names = ", ".join(r.version + (f"_{r.name}" if r.name else "") for r in missing)
        raise StateError(
            f"{TABLE} has version{'s' if len(missing) > 1 else ''} with no file in {migrations_dir}: {names} "
            "(restore the files, e.g. `supabase migration fetch`, or give the right --migrations-dir); "
            "nothing was imported"
        )


def import_history(target: Target, migrations_dir: Path, *, dry_run: bool = False,
                   actor: Actor | None = None, confirmed: Confirmation | None = None) -> ImportResult:
    """Record every version of the Supabase CLI's history in ours, as baselined; run nothing.

    A protected target needs `confirmed` (app.core.protection), checked inside the lock.
    """
    actor = actor or Actor.current()
    files = discover(migrations_dir)
    by_version = {f.version: f for f in files}
    with connect(target) as conn:
        if not table_exists(conn):
            raise StateError(f"this database has no {TABLE}: nothing to import from the Supabase CLI")
        if not lock.try_acquire(conn):
            lock.acquire(conn, 0)  # raises LockHeld naming the holder
        try:
            rows = read_rows(conn)
            missing_files(files, rows, migrations_dir)
            ours = {r.version for r in history.read_applied(conn)} if history.tables_exist(conn) else set()
            todo = [by_version[r.version] for r in rows if r.version not in ours]
            already = [by_version[r.version].name for r in rows if r.version in ours]
            if dry_run or not todo:
                return ImportResult([f.name for f in todo], already, dry_run, None)
            enforce(confirmed, target, Action.IMPORT, [f.name for f in todo])
            history.ensure_tables(conn)
            batch_id = history.new_batch_id()
            with conn.transaction():
                for f in todo:
                    conn.execute(_baseline_row(conn, f, batch_id, actor))
                    conn.execute(history.audit_sql(
                        conn, actor, Event.BASELINED, migration_name=f.name, version=f.version, batch_id=batch_id,
                        checksum=f.checksum, execution_time_ms=0, reason=f"imported from {TABLE}"))
            return ImportResult([f.name for f in todo], already, False, batch_id)
        finally:
            if not conn.closed:
                lock.release(conn)


def _baseline_row(conn: psycopg.Connection, f: MigrationFile, batch_id: str, actor: Actor) -> str:
    custom = f.directives.custom_rollback
    return history.insert_sql(conn, history.MIGRATIONS, {
        "name": f.name, "version": f.version, "checksum": f.checksum, "raw_checksum": f.raw_checksum,
        "execution_time_ms": 0, "rollback_sql": custom,
        "rollback_kind": (RollbackKind.CUSTOM if custom else RollbackKind.MANUAL).value,
        "rollback_note": None if custom else f"imported from {TABLE}: the state before it cannot be read",
        "batch_id": batch_id, "title": f.title, "description": f.description or None,
        "applied_sql": f.text, "baselined": True, **history.audit_values(actor),
    })


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
