"""dbmate's history: `schema_migrations (version varchar(128) PRIMARY KEY)`, one row per applied file.

As dbmate's PostgreSQL driver creates it (pkg/driver/postgres: `create table if not exists
schema_migrations (version varchar(128) primary key)`); `dbmate rollback` deletes the row, so a
row is an applied migration. The version is the file name's digits, as written.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from app.core.files import MigrationFile
from app.core.imports.common import NotTheirs, Seen, ident, match, require

TOOL = "dbmate"
TABLE = "schema_migrations"


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """Every version in dbmate's table, matched to our file."""
    have = require(conn, table, TOOL, ["version"])
    if "dirty" in have:
        raise NotTheirs(f"{table} has a dirty column: it is golang-migrate's history, not dbmate's "
                            "(use --from golang-migrate); nothing was imported")
    rows = conn.execute(sql.SQL("SELECT version::text FROM {} ORDER BY 1").format(ident(table))).fetchall()
    return [Seen(f) for f in match(files, [r[0] for r in rows], table, folder)]
