"""Reading a database's migration status: its history, the files, the invalid indexes they left."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from app.core import baselines, history, repeatables
from app.core.files import MigrationFile
from app.core.imports import guard
from app.core.imports.guard import other_histories
from app.core.status import InvalidIndex, MigrationStatus, compute

if TYPE_CHECKING:
    from app.core.layouts import Reading
    from app.core.options import Options

_INVALID_INDEXES = """
SELECT n.nspname, c.relname, t.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
"""


def read_status(conn: psycopg.Connection, files: list[MigrationFile], options: Options, *, target: str,
                migrations_dir: str, reading: Reading | None = None,
                repeatable_files: list[MigrationFile] | None = None,
                baseline_files: list[MigrationFile] | None = None) -> MigrationStatus:
    """Every migration with its state and the health, from one connection; only reads."""
    exists = history.tables_exist(conn)
    applied = history.read_applied(conn) if exists else []
    events = history.read_last_events(conn) if exists else {}
    if baseline_files is None:
        baseline_files = reading.baselines if reading else []
    if baseline_files:  # an applied baseline migration with a row of its own is listed
        files = baselines.shown(files, baseline_files, {r.name for r in applied})
    invalid = invalid_indexes(conn, files)
    infos, health, reasons = compute(
        files, applied, events, invalid_indexes=invalid, slow_threshold_ms=options.slow_threshold_ms
    )
    if repeatable_files is None:
        repeatable_files = reading.repeatables if reading else []
    again = repeatables.compute(repeatable_files, repeatables.read_recorded(conn)) if exists else \
        repeatables.compute(repeatable_files, {})
    health, reasons = repeatables.assess(again, health, reasons)
    others = other_histories(conn, files, Path(migrations_dir), {r.version for r in applied},
                             skip=("supabase",) if options.supabase_history else ())
    health, reasons = guard.assess(others, health, reasons)
    return MigrationStatus(
        migrations=infos,
        health=health,
        reasons=reasons,
        history_exists=exists,
        server_version=server_version(conn),
        database=conn.info.dbname,
        target=target,
        migrations_dir=migrations_dir,
        layout=reading.layout if reading else "",
        layout_declared_in=str(reading.declared_in) if reading and reading.declared_in else None,
        invalid_indexes=invalid,
        slow_threshold_ms=options.slow_threshold_ms,
        repeatables=again,
        other_histories=others,
    )


def invalid_indexes(conn: psycopg.Connection, files: list[MigrationFile]) -> list[InvalidIndex]:
    """Invalid indexes (a failed CREATE INDEX CONCURRENTLY) that one of these files creates."""
    rows = conn.execute(_INVALID_INDEXES).fetchall()
    out = []
    for schema, name, table in rows:
        owner = _file_creating_index(files, name)
        if owner is not None:
            out.append(InvalidIndex(schema, name, table, owner.name))
    return out


def server_version(conn: psycopg.Connection) -> str:
    v = conn.info.server_version
    return f"{v // 10000}.{v % 10000}"


def _file_creating_index(files: list[MigrationFile], index_name: str) -> MigrationFile | None:
    """The migration whose SQL creates an index of this name (parsed, not guessed)."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    needle = index_name.lower()
    for f in reversed(files):
        if needle not in f.text.lower():
            continue
        try:
            stmts = parse_sql(f.text)
        except ParseError:  # a file that does not parse cannot be the creator
            continue
        if any(isinstance(s.stmt, ast.IndexStmt) and (s.stmt.idxname or "").lower() == needle for s in stmts):
            return f
    return None
