"""golang-migrate's history: `schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`.

As its postgres driver creates it (database/postgres/postgres.go `ensureVersionTable`). It holds
one row, the current version: every migration up to it is applied. `dirty = true` means it
stopped inside that migration (its SQL failed or was interrupted), a state only a person can
settle: refused, with `migrate force`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from app.core.files import MigrationFile, version_key
from app.core.imports.common import NotTheirs, Seen, half_done, ident, match, require

TOOL = "golang-migrate"
TABLE = "schema_migrations"


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """Our files up to golang-migrate's current version."""
    have = require(conn, table, TOOL, ["version"])
    if "dirty" not in have:
        raise NotTheirs(f"{table} has no dirty column: it is not golang-migrate's history "
                            "(dbmate's has only version: use --from dbmate); nothing was imported")
    rows = conn.execute(sql.SQL("SELECT version, dirty FROM {} ORDER BY version").format(ident(table))).fetchall()
    if not rows or rows[-1][0] < 0:  # an empty table (or -1, "nil version"): nothing applied
        return []
    version, dirty = rows[-1]
    if dirty:
        raise half_done(table, f"version {version} is dirty (golang-migrate stopped in the middle of it)",
                        f"make the database match a whole version by hand and record it with "
                        f"`migrate force {version}` (applied) or `migrate force <the version before>`")
    (current,) = match(files, [str(version)], table, folder)  # the current version's own file must be here
    upto = version_key(current.version)
    return [Seen(f) for f in files if version_key(f.version) <= upto]
