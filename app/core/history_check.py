"""Checks on hand-edited history: column types and row values of the history tables.

The tables are plain tables a DBA can edit. A NULL version, a name with a folder in it, or a
column changed to another type would otherwise surface as a TypeError deep in status or as a
failed INSERT blamed on an innocent migration. Each is a one-line UsageError naming the table,
the row and the column, and what to run; it is raised before anything is changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from app.core.errors import UsageError
from app.core.place import PUBLIC, Place, place_of

_TEXT = frozenset({"text", "character varying", "character"})
_INT = frozenset({"integer", "bigint", "smallint"})
_TIME = frozenset({"timestamp with time zone", "timestamp without time zone"})
_BOOL = frozenset({"boolean"})

# What Tidemark reads and writes in each column (information_schema.columns.data_type).
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "_migrations": {
        "id": _INT, "name": _TEXT, "version": _TEXT, "executed_at": _TIME, "checksum": _TEXT,
        "raw_checksum": _TEXT, "execution_time_ms": _INT, "rollback_sql": _TEXT, "rollback_kind": _TEXT,
        "rollback_note": _TEXT, "batch_id": _TEXT, "transactional": _BOOL, "baselined": _BOOL,
        "title": _TEXT, "description": _TEXT, "applied_sql": _TEXT, "db_user": _TEXT, "os_user": _TEXT,
        "client_host": _TEXT, "tool_version": _TEXT, "created_at": _TIME,
    },
    "_migration_rollbacks": {
        "id": _INT, "migration_name": _TEXT, "version": _TEXT, "rolled_back_at": _TIME, "rollback_sql": _TEXT,
        "execution_time_ms": _INT, "batch_id": _TEXT, "applied_at": _TIME, "applied_batch_id": _TEXT,
    },
}

_TYPE_NAME = {_TEXT: "text", _INT: "integer", _TIME: "timestamp with time zone", _BOOL: "boolean"}
# Ours are 14 digits; other layouts' are digits, and Flyway's dotted or underscored (app/core/layouts).
_VERSION = re.compile(r"\d{14}|\d[\d._]{0,13}")


def checked_columns(conn: psycopg.Connection) -> dict[str, set[str]]:
    """The columns of both history tables, each table's types checked (one catalog query)."""
    where = place_of(conn)
    types = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name IN ('_migrations', '_migration_rollbacks')", (where.schema,)
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table in EXPECTED:
        columns = [(c, t) for tb, c, t in types if tb == table]
        check_column_types(table, columns, where.ident)
        out[table] = {c for c, _ in columns}
    return out


def check_column_types(table: str, columns: Iterable[tuple[str, str]], schema: str = "public") -> None:
    """Raise UsageError for the first column (name, data_type) whose type Tidemark cannot use."""
    expected = EXPECTED[table]
    for column, data_type in columns:
        allowed = expected.get(column)
        if allowed is not None and data_type not in allowed:
            want = _TYPE_NAME[allowed]
            raise UsageError(
                f"{schema}.{table}: column {column} is {data_type}, but Tidemark keeps {want} there "
                f"(hand-edited?): change it back with `ALTER TABLE {schema}.{table} ALTER COLUMN {column} "
                f"TYPE {want} USING {column}::{want}`, then run again; nothing was changed")


def check_rows(conn: psycopg.Connection, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
    """Raise UsageError for the first public._migrations row whose values Tidemark cannot use.

    `rows` are as read (in `columns` order). Costs nothing when all is well; the row's id is
    looked up only to name a bad row.
    """
    at = {c: i for i, c in enumerate(columns)}
    for row in rows:
        name = row[at["name"]]
        problem = _row_problem(row, at)
        if problem is None:
            continue
        column, what, fix = problem
        rid = _row_id(conn, name)
        where = f"public._migrations row id {rid}" if rid is not None else "a public._migrations row"
        label = f" ({name!r})" if column != "name" and isinstance(name, str) else ""
        text = (f"{where}{label}: column {column} {what} (hand-edited?): "
                f"{fix.replace('<ID>', str(rid) if rid is not None else '<id>')}, then run again; nothing was changed")
        raise UsageError(place_of(conn).words(text))


def _row_problem(row: Sequence[Any], at: dict[str, int]) -> tuple[str, str, str] | None:
    name, version = row[at["name"]], row[at["version"]]
    delete = "or delete the row if that migration was never applied"
    if not isinstance(name, str) or not name.strip():
        return ("name", "is empty" if isinstance(name, str) else "is NULL",
                "set it to the migration's file name (UPDATE public._migrations SET name = "
                f"'YYYYMMDDHHMMSS_description.sql' WHERE id = <ID>), {delete}")
    if any(c in name for c in "/\\\x00") or name in (".", "..") or name != name.strip():
        return ("name", f"is {name!r}, not a migration file name (no folder, no spaces around it)",
                f"set it to the file name alone (UPDATE public._migrations SET name = '...' WHERE id = <ID>), {delete}")
    if version is None:
        return ("version", "is NULL",
                "set it to the 14 digits the name starts with (UPDATE public._migrations SET version = "
                "substring(name from '^[0-9]{14}') WHERE id = <ID>)")
    if not _VERSION.fullmatch(version):
        return ("version", f"is {version!r}, not a version (14 digits, or the digits the name starts with)",
                "set it to the 14 digits the name starts with (UPDATE public._migrations SET version = "
                "substring(name from '^[0-9]{14}') WHERE id = <ID>)")
    if row[at["checksum"]] is None:
        return ("checksum", "is NULL",
                "run `tidemark repair` to record the file's checksum, or set it by UPDATE WHERE id = <ID>")
    if row[at["execution_time_ms"]] is None:
        return ("execution_time_ms", "is NULL", "set it to 0 (UPDATE public._migrations SET "
                "execution_time_ms = 0 WHERE id = <ID>)")
    for column in ("transactional", "baselined"):
        if row[at[column]] is None:
            return (column, "is NULL", f"set it to true or false (UPDATE public._migrations SET {column} = "
                    f"{'true' if column == 'transactional' else 'false'} WHERE id = <ID>)")
    return None


_KINDS = ("generated", "custom", "manual")
_NOT_CHANGED = "then run again; nothing was changed"


def check_stored_rollback(name: str, version: str, kind: str | None, rollback_sql: str | None,
                          place: Place = PUBLIC) -> None:
    """Raise UsageError when a public._migrations row's stored rollback cannot be used as it says.

    An unknown kind would stop a rollback with a bug report; a 'custom' or 'generated' kind over
    no SQL would run nothing and report the migration rolled back (its history row deleted, its
    schema left). Checked where a rollback plans with them, before anything runs.
    """
    where = f"public._migrations row with version {version} ({name!r})"
    manual = f"UPDATE public._migrations SET rollback_kind = 'manual' WHERE version = '{version}'"
    if kind is not None and kind not in _KINDS:
        raise UsageError(place.words(
            f"{where}: column rollback_kind is {kind!r}, not generated, custom or manual (hand-edited?): set it "
            f"to what the row's rollback_sql is, or mark it as needing a manual rollback (`{manual}`), {_NOT_CHANGED}"))
    empty = rollback_sql is None or (kind == "custom" and not rollback_sql.strip())
    if kind in ("custom", "generated") and empty:
        what = "is NULL" if rollback_sql is None else "is empty"
        raise UsageError(place.words(
            f"{where}: column rollback_sql {what}, but rollback_kind says {kind} (hand-edited?): store the rollback "
            f"SQL (`UPDATE public._migrations SET rollback_sql = '...' WHERE version = '{version}'`), or mark it as "
            f"needing a manual rollback (`{manual}`), {_NOT_CHANGED}"))


# public._migration_rollbacks: NOT NULL in the seed's table, so NULL here means hand-edited.
_ROLLBACK_ROW_FIXES = {
    "migration_name": "set it to the migration's file name (UPDATE public._migration_rollbacks SET migration_name "
                      "= 'YYYYMMDDHHMMSS_description.sql' WHERE id = <ID>), or delete the row",
    "rollback_sql": "set it to the SQL that ran, or to '' if unknown (UPDATE public._migration_rollbacks SET "
                    "rollback_sql = '' WHERE id = <ID>)",
    "execution_time_ms": "set it to 0 (UPDATE public._migration_rollbacks SET execution_time_ms = 0 WHERE id = <ID>)",
}


def check_rollback_rows(rows: Sequence[Sequence[Any]], columns: Sequence[str], place: Place = PUBLIC) -> None:
    """Raise UsageError for the first public._migration_rollbacks row whose values Tidemark cannot use.

    `rows` are as read, in `columns` order, which holds `id`.
    """
    at = {c: i for i, c in enumerate(columns)}
    for row in rows:
        for column, fix in _ROLLBACK_ROW_FIXES.items():
            value = row[at[column]]
            if value is None or (column == "migration_name" and not str(value).strip()):
                rid = row[at["id"]]
                name = row[at["migration_name"]]
                label = f" ({name!r})" if column != "migration_name" else ""
                raise UsageError(place.words(f"public._migration_rollbacks row id {rid}{label}: column {column} "
                                             f"{'is NULL' if value is None else 'is empty'} (hand-edited?): "
                                             f"{fix.replace('<ID>', str(rid))}, {_NOT_CHANGED}"))


def _row_id(conn: psycopg.Connection, name: Any) -> int | None:
    try:
        found = conn.execute(f"SELECT id FROM {place_of(conn).migrations} WHERE name IS NOT DISTINCT FROM %s "
                             "ORDER BY id LIMIT 1", (name,)).fetchone()
    except psycopg.Error:
        return None
    return found[0] if found else None
