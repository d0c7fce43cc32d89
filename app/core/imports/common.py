"""What every history reader shares: finding the other tool's table, matching its rows to our files.

A reader reads the other tool's table as that tool writes it and says, for each migration it
recorded as applied, which of our files it is and whether that file still is what the tool ran
(where the tool stored a checksum). It never writes to that table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from app.core.errors import UsageError
from app.core.files import MigrationFile, version_key


class ImportRefused(UsageError):
    """Their history cannot be imported as it stands (exit 2): nothing was recorded."""


class NotTheirs(ImportRefused):
    """The table exists but lacks the columns the tool writes: another tool's table of the same name."""


@dataclass(frozen=True)
class Seen:
    """One migration the other tool recorded as applied, matched to our file."""

    file: MigrationFile
    # The checksum the tool stored (its own kind, e.g. `crc32:-12345`), None when it stores none.
    their_checksum: str | None = None
    changed: bool = False  # the file differs from what the tool applied (by that checksum)


def exists(conn: psycopg.Connection, table: str) -> bool:
    """True when the table (schema-qualified or on the search path) exists."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def columns(conn: psycopg.Connection, table: str) -> set[str]:
    """The column names of an existing table."""
    rows = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                        "AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()
    return {r[0] for r in rows}


def require(conn: psycopg.Connection, table: str, tool: str, needed: Iterable[str]) -> set[str]:
    """The table's columns; refused when it is missing or lacks what `tool` writes."""
    if not exists(conn, table):
        raise ImportRefused(f"this database has no {table}: nothing to import from {tool} "
                            "(check --from and the connection); nothing was imported")
    have = columns(conn, table)
    lacking = [c for c in needed if c not in have]
    if lacking:
        raise NotTheirs(f"{table} has no column {', '.join(lacking)}, so it is not {tool}'s history "
                            "(check --from); nothing was imported")
    return have


def by_version(files: list[MigrationFile]) -> dict[tuple, MigrationFile]:
    """Our files by version value (their `1`, `0001` and `1.0` are one version, as each tool reads it)."""
    return {version_key(f.version): f for f in files}


def match(files: list[MigrationFile], versions: Iterable[str], table: str, folder: Path) -> list[MigrationFile]:
    """Our file for each version they recorded; a version with no file is refused, naming every one."""
    index = by_version(files)
    found, missing = [], []
    for v in versions:
        f = index.get(version_key(v))
        (found if f else missing).append(f or v)
    if missing:
        raise no_file(table, [str(v) for v in missing], folder)
    return found  # type: ignore[return-value]


def no_file(table: str, labels: list[str], folder: Path) -> ImportRefused:
    """The error for migrations they applied that have no file here."""
    s = "s" if len(labels) > 1 else ""
    shown = ", ".join(labels[:10]) + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")
    return ImportRefused(f"{table} records migration{s} with no file in {folder}: {shown} "
                         "(restore the files, or give the right --migrations-dir); nothing was imported")


def half_done(table: str, what: str, todo: str) -> ImportRefused:
    """The error for a migration the other tool left half-finished."""
    return ImportRefused(f"{table}: {what}; {todo}, then import again. Nothing was imported")


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def check_table(table: str) -> str:
    """A table name given with --table: `name` or `schema.name`, plain identifiers (UsageError else)."""
    if not _NAME.match(table):
        raise ImportRefused(f"--table {table!r}: give a table as name or schema.name (letters, digits, _)")
    return table


def ident(table: str) -> sql.Composable:
    """A table name (`schema.table` or `table`) quoted for SQL."""
    return sql.Identifier(*table.split(".", 1))
