"""What a migrate would run, read and planned without changing anything (`dry-run`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core import selection
from app.core.files import MigrationFile
from app.core.progress import Clock
from app.core.results import PlannedMigration, PlannedStatement, RunResult

if TYPE_CHECKING:
    from app.core.layouts import Reading
    from app.core.runner import MigrationRunner


def plan(runner: MigrationRunner, files: list[MigrationFile], target: str | None, clock: Clock,
         reading: Reading) -> RunResult:
    """Each pending file's statements, the locks they take (from the server's catalog) and its rollback."""
    from app.core.prepared import prepare
    from app.core.statement_locks import annotate_locks, catalog_locks

    with runner._connection() as conn:
        status = runner._status(conn, files, reading)
        first, todo, again, warnings = selection.take(conn, status, files, reading, target, runner.options,
                                                      runner.migrations_dir)  # refused as migrate would be
        prepared = selection.each_file(first + todo + again, prepare)
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        for p in prepared:
            annotate_locks(p.statements, schema)
            catalog_locks(conn, p.statements)
    planned = []
    for p in prepared:
        rollback = p.static_rollback()
        planned.append(
            PlannedMigration(
                version=p.file.version,
                name=p.file.name,
                title=p.file.title,
                path=p.file.path,
                transactional=p.transactional,
                non_transactional_reason=p.non_transactional_reason,
                statements=[PlannedStatement(st.line, st.text, st.locks, st.non_transactional)
                            for st in p.statements],
                rollback_kind=rollback.kind.value,
                rollback_sql=rollback.sql,
                rollback_note=rollback.reason,
                own_transaction_removed=p.wrapper_removed,
            )
        )
    if not status.history_exists:
        warnings.append("the history tables do not exist yet: the first migrate creates them")
    return RunResult(None, True, planned=planned, warnings=warnings, total_ms=clock.ms(),
                     target=runner.target.display())
