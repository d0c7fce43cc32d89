"""Diesel's history: `__diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, run_on TIMESTAMP)`.

As diesel_migrations creates it (`CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version
VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`).
`revert` deletes the row. The version is the folder name before its first `_`; a dashed
timestamp (`2021-01-01-000000`) is matched by its digits, as our layout reads it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from app.core.files import MigrationFile
from app.core.imports.common import Seen, ident, match, require

TOOL = "Diesel"
TABLE = "__diesel_schema_migrations"


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """Every version in Diesel's table, matched to our folder."""
    require(conn, table, TOOL, ["version"])
    rows = conn.execute(sql.SQL("SELECT version::text FROM {} ORDER BY 1").format(ident(table))).fetchall()
    return [Seen(f) for f in match(files, [r[0].replace("-", "") for r in rows], table, folder)]
