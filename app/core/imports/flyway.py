"""Flyway's history: `flyway_schema_history`, one row per run, in `installed_rank` order.

Its columns, as Flyway creates the table on PostgreSQL (resources/org/flywaydb/core/internal/
database/postgresql/createMetaDataTable.sql): installed_rank integer PRIMARY KEY, version
varchar(50), description varchar(200), type varchar(20), script varchar(1000), checksum integer,
installed_by varchar(100), installed_on timestamp, execution_time integer, success boolean.

`type` says what a row is: SQL/JDBC a versioned migration (version NULL: a repeatable one),
BASELINE (`flyway baseline`: every version up to it counts as applied) and SQL_BASELINE (a B
file that started an empty database: the same), SCHEMA (the schemas
Flyway created), UNDO_SQL (the version was undone), DELETE (`repair` marked it deleted).
`success = false` is a migration that failed and was not rolled back with it: refused.
A repeatable's rows (version NULL, type SQL) are one per run: the newest says which checksum
ran last (read_repeatables); it is recorded in Tidemark's repeatables table, so a file changed
since reads as outdated and runs again, as Flyway would run it.

The checksum is Flyway's CRC32 of the file's lines (LoadableResource.calculateChecksum): each
line's UTF-8 bytes without its line break, the BOM dropped, as a signed 32-bit integer.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import psycopg
from psycopg import sql

from app.core.files import MigrationFile, version_key
from app.core.imports.common import Seen, half_done, ident, match, require

TOOL = "Flyway"
TABLE = "flyway_schema_history"
_APPLIED = {"SQL", "JDBC", "SPRING_JDBC", "SCRIPT"}
# `flyway baseline`, and a baseline migration (B file) that started an empty database: every
# version up to it counts as applied (Flyway ran the B file instead of them).
_BASELINES = {"BASELINE", "SQL_BASELINE", "JDBC_BASELINE"}


def crc32(text: str) -> int:
    """Flyway's checksum of a file's text (line breaks, so CRLF or LF, do not count)."""
    data = text.removeprefix("\ufeff").replace("\r", "").replace("\n", "").encode("utf-8")
    value = zlib.crc32(data)
    return value - (1 << 32) if value >= 1 << 31 else value


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """The versions Flyway's history leaves applied, each with Flyway's checksum compared to our file."""
    require(conn, table, TOOL, ["installed_rank", "version", "type", "script", "checksum", "success"])
    rows = conn.execute(sql.SQL("SELECT version, type, script, checksum, success FROM {} "
                                "ORDER BY installed_rank").format(ident(table))).fetchall()
    applied: dict[tuple, tuple[str, int | None]] = {}  # version value -> (version, checksum)
    baseline: str | None = None
    for version, kind, script, checksum, success in rows:
        if not success:
            raise half_done(table, f"version {version or script} ({script}) failed (success = false) and was "
                            "not rolled back", "undo what it did by hand and run `flyway repair`, "
                            "which removes the failed row")
        if version is None or kind == "SCHEMA":
            continue  # a repeatable migration, or the schemas Flyway created
        key = version_key(version)
        if kind in _BASELINES:
            baseline = version if baseline is None or key > version_key(baseline) else baseline
        elif kind in ("UNDO_SQL", "DELETE"):
            applied.pop(key, None)
        elif kind in _APPLIED:
            applied[key] = (version, checksum)
    out = []
    if baseline is not None:  # below the baseline, the files that are here (Flyway never ran them)
        upto = version_key(baseline)
        out += [Seen(f) for f in files if version_key(f.version) <= upto and version_key(f.version) not in applied]
    found = match(files, [v for v, _ in applied.values()], table, folder)
    for f, (_, checksum) in zip(found, applied.values(), strict=True):
        theirs = None if checksum is None else f"flyway-crc32:{checksum}"
        out.append(Seen(f, theirs, checksum is not None and crc32(f.text) != checksum))
    return sorted(out, key=lambda s: version_key(s.file.version))


def read_repeatables(conn: psycopg.Connection, files: list[MigrationFile], table: str = TABLE) -> list[Seen]:
    """The repeatables Flyway ran, by their newest row: matched to our R__ files by name (others skipped:
    Flyway keeps rows of deleted repeatables too, and there is nothing here to record them against)."""
    rows = conn.execute(sql.SQL("SELECT script, checksum FROM {} WHERE version IS NULL AND success "
                                "AND type = ANY(%s) ORDER BY installed_rank").format(ident(table)),
                        (sorted(_APPLIED),)).fetchall()
    last: dict[str, int | None] = {}
    for script, checksum in rows:
        last[Path(script).name] = checksum  # stored relative to the location: the name is the key
    out = []
    for f in files:
        if f.name in last:
            checksum = last[f.name]
            theirs = None if checksum is None else f"flyway-crc32:{checksum}"
            out.append(Seen(f, theirs, checksum is not None and crc32(f.text) != checksum))
    return out
