"""The Supabase CLI's history: `supabase_migrations.schema_migrations (version text PRIMARY KEY, statements
text[], name text)`, one row per applied file (see app.core.supabase_history, which also writes it)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from app.core.files import MigrationFile
from app.core.imports.common import ImportRefused, Seen, no_file, require
from app.core.supabase_history import TABLE, read_rows

TOOL = "the Supabase CLI"


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """Every version of their table, matched to our file by version (as text, as the Supabase CLI does)."""
    if table != TABLE:  # the Supabase CLI always writes this one
        raise ImportRefused(f"the Supabase CLI's history is always {TABLE}: leave out --table")
    require(conn, TABLE, TOOL, ["version"])
    by_version = {f.version: f for f in files}
    rows = read_rows(conn)
    missing = [r.version + (f"_{r.name}" if r.name else "") for r in rows if r.version not in by_version]
    if missing:
        raise no_file(TABLE, missing, folder)
    return [Seen(by_version[r.version]) for r in rows]
