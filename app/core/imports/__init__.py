"""Other tools' histories imported into ours: what they applied is recorded as applied, nothing runs.

Each tool is one small reader module with `TOOL`, `TABLE` and `read(conn, files, folder, table) ->
list[Seen]`; SOURCES below is the one place that names them. A reader only reads the other
tool's table; `record` writes our history, inside the migration lock the caller holds
(MigrationRunner.import_history), after protection.enforce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import psycopg

from app.core import history
from app.core.connect import Target
from app.core.files import MigrationFile
from app.core.history import Actor, Event
from app.core.imports import dbmate, diesel, flyway, golang_migrate, goose, prisma, sqitch, supabase
from app.core.imports.common import ImportRefused, Seen, check_table
from app.core.protection import Action, Confirmation, enforce
from app.core.status import RollbackKind

SOURCES: dict[str, ModuleType] = {
    "flyway": flyway,
    "dbmate": dbmate,
    "goose": goose,
    "golang-migrate": golang_migrate,
    "sqitch": sqitch,
    "prisma": prisma,
    "diesel": diesel,
    "supabase": supabase,
}


@dataclass(frozen=True)
class ImportResult:
    """What `import-history` did (or, with dry_run, would do)."""

    imported: list[str]
    already: list[str]
    dry_run: bool
    batch_id: str | None
    source: str = "supabase"
    table: str = supabase.TABLE
    changed: list[str] = field(default_factory=list)  # imported, but the file changed since that tool ran it


def table_of(source: str) -> str:
    """The table a source's history is read from."""
    return reader(source).TABLE


def reader(source: str) -> ModuleType:
    """The reader of a source, or UsageError naming the ones we read."""
    if source not in SOURCES:
        raise ImportRefused(f"unknown history {source!r} (known: {', '.join(SOURCES)})")
    return SOURCES[source]


def import_history(conn: psycopg.Connection, target: Target, source: str, files: list[MigrationFile],
                   folder: Path, *, dry_run: bool, confirmed: Confirmation | None, actor: Actor,
                   table: str | None = None, repeatable_files: list[MigrationFile] | None = None) -> ImportResult:
    """Read `source`'s history (its table, or `table` where the tool was told another) and record what
    it applied in ours, as baselined; Flyway's repeatables too (`repeatable_files`). Call inside the lock."""
    from app.core import repeatables

    mod = reader(source)
    table = check_table(table) if table else mod.TABLE
    seen: list[Seen] = mod.read(conn, files, folder, table)
    ran_again: list[Seen] = []
    if repeatable_files and hasattr(mod, "read_repeatables"):
        ran_again = mod.read_repeatables(conn, repeatable_files, table)
    ours = {r.version for r in history.read_applied(conn)} if history.tables_exist(conn) else set()
    recorded = repeatables.read_recorded(conn)
    todo = [s for s in seen if s.file.version not in ours]
    todo_again = [s for s in ran_again if s.file.name not in recorded]
    already = [s.file.name for s in seen if s.file.version in ours] + [
        s.file.name for s in ran_again if s.file.name in recorded]
    result = ImportResult([s.file.name for s in todo + todo_again], already, dry_run, None, source, table,
                          [s.file.name for s in todo + todo_again if s.changed])
    if dry_run or not result.imported:
        return result
    enforce(confirmed, target, Action.IMPORT, result.imported)
    history.ensure_tables(conn)
    if todo_again:
        repeatables.ensure_table(conn)
    batch_id = history.new_batch_id()
    with conn.transaction():
        for s in todo_again:  # the checksum Flyway ran last: a file changed since is outdated, and runs again
            row = repeatables.row(s.file, batch_id, 0, True, actor)
            values = {**row.values, "checksum": s.their_checksum if s.changed else s.file.checksum,
                      "raw_checksum": None if s.changed else s.file.raw_checksum,
                      "applied_sql": None if s.changed else s.file.text}
            conn.execute(history.insert_sql(conn, repeatables.TABLE, values))
            conn.execute(history.audit_sql(
                conn, actor, Event.BASELINED, migration_name=s.file.name, version=None, batch_id=batch_id,
                checksum=values["checksum"], execution_time_ms=0, reason=f"imported from {table} (repeatable)"))
        for s in todo:
            reason = f"imported from {table}"
            if s.changed:
                reason += f"; the file changed since {mod.TOOL} applied it ({s.their_checksum})"
            conn.execute(_row(conn, s, batch_id, actor, table))
            conn.execute(history.audit_sql(
                conn, actor, Event.BASELINED, migration_name=s.file.name, version=s.file.version,
                batch_id=batch_id, checksum=s.file.checksum, execution_time_ms=0, reason=reason))
    return ImportResult(result.imported, already, False, batch_id, source, table, result.changed)


def _row(conn: psycopg.Connection, s: Seen, batch_id: str, actor: Actor, table: str) -> str:
    """Our history row of an imported migration.

    A file that changed since the other tool applied it is recorded as `status` records a
    modified one: with the checksum that tool stored (not the file's), so `status` shows it
    MODIFIED, `migrate` stops at it and `tidemark repair` accepts it; the applied text is
    unknown, so none is stored.
    """
    f = s.file
    custom = f.directives.custom_rollback
    return history.insert_sql(conn, history.MIGRATIONS, {
        "name": f.name, "version": f.version,
        "checksum": s.their_checksum if s.changed else f.checksum,
        "raw_checksum": None if s.changed else f.raw_checksum,
        "execution_time_ms": 0, "rollback_sql": custom,
        "rollback_kind": (RollbackKind.CUSTOM if custom else RollbackKind.MANUAL).value,
        "rollback_note": None if custom else f"imported from {table}: the state before it cannot be read",
        "batch_id": batch_id, "title": f.title, "description": f.description or None,
        "applied_sql": None if s.changed else f.text, "baselined": True, **history.audit_values(actor),
    })


__all__ = ["SOURCES", "ImportRefused", "ImportResult", "Seen", "import_history", "reader", "table_of"]
