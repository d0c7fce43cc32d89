"""Prisma's history: `_prisma_migrations`, one row per attempt, named by the migration's folder.

Its columns, as Prisma Migrate creates the table (schema-engine's postgres flavour): id varchar(36)
PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255)
NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
applied_steps_count integer NOT NULL DEFAULT 0.

A migration is applied when a row of it finished and was not rolled back. A row neither
finished nor rolled back is one that failed (or is running): refused, with `prisma migrate
resolve`. A row marked rolled back (`migrate resolve --rolled-back`) is, for Prisma, not
applied: it stays pending here too. The checksum is the SHA-256 of migration.sql; Prisma
accepts it with either line ending (checksum.rs `script_matches_checksum`), so do we.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
from psycopg import sql

from app.core.files import MigrationFile
from app.core.imports.common import Seen, half_done, ident, no_file, require

TOOL = "Prisma"
TABLE = "_prisma_migrations"


def matches(text: str, checksum: str) -> bool:
    """True when the SHA-256 of the text, with LF or CRLF line endings, is Prisma's checksum."""
    lf = text.replace("\r\n", "\n")
    return checksum.lower() in {hashlib.sha256(t.encode("utf-8")).hexdigest()
                                for t in (text, lf, lf.replace("\n", "\r\n"))}


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """Every migration with a finished row, its checksum compared to our migration.sql."""
    require(conn, table, TOOL, ["migration_name", "checksum", "finished_at", "rolled_back_at"])
    rows = conn.execute(sql.SQL("SELECT migration_name, checksum, finished_at IS NOT NULL, "
                                "rolled_back_at IS NOT NULL FROM {} ORDER BY started_at, id"
                                ).format(ident(table))).fetchall()
    applied: dict[str, str] = {}
    for name, checksum, finished, rolled_back in rows:
        if not finished and not rolled_back:
            raise half_done(table, f"migration {name} failed or is still running (finished_at is empty)",
                            f"after reverting it by hand run `prisma migrate resolve --rolled-back {name}`, "
                            f"or after finishing it `prisma migrate resolve --applied {name}`")
        if finished and not rolled_back:
            applied[name] = checksum
    by_name = {f.name: f for f in files}
    missing = [n for n in applied if n not in by_name]
    if missing:
        raise no_file(table, missing, folder)
    out = []
    for name, checksum in applied.items():
        f = by_name[name]
        text = (f.path.read_bytes()).decode("utf-8", errors="replace")
        out.append(Seen(f, f"prisma-sha256:{checksum}", not matches(text, checksum)))
    return out
