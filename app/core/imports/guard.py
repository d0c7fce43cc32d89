"""Another tool's history in the database: nothing it applied may run twice.

A team switching to Tidemark points it at a database Flyway, dbmate, Sqitch... have run for
years. Until their history is imported, every file they applied reads as pending here, and a
`migrate` would run them again: a seed file inserts its rows twice, a `CREATE ... IF NOT EXISTS`
file goes through and the next one fails halfway down the project. So, before anything runs,
`migrate` reads each tool's table that exists (with the reader `import-history` uses, never
writing to it) and refuses pending files that tool recorded as applied; `status` says what is
not imported yet. A table that exists but is not that tool's (dbmate and golang-migrate both
use `schema_migrations`) is left to the reader that matches its columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from app.core.errors import StateError
from app.core.files import MigrationFile, version_key
from app.core.imports.common import ImportRefused, NotTheirs


@dataclass(frozen=True)
class OtherHistory:
    """One tool's history found in the database, against our files and our history."""

    source: str  # import-history's --from
    tool: str
    table: str
    not_imported: list[str] = field(default_factory=list)  # our files it applied that ours lacks
    problem: str | None = None  # why it cannot be read as it stands (half-finished, rows without files)

    @property
    def command(self) -> str:
        return f"tidemark import-history --from {self.source}"


def other_histories(conn: psycopg.Connection, files: list[MigrationFile], folder: Path,
                    ours: set[str], *, skip: tuple[str, ...] = ()) -> list[OtherHistory]:
    """Every other tool's history present in the database that records what ours does not (one
    round trip when there is none). `ours`: the versions in Tidemark's history."""
    from app.core.imports import SOURCES

    readers = {name: mod for name, mod in SOURCES.items() if name not in skip}
    tables = sorted({mod.TABLE for mod in readers.values()})
    rows = conn.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL",
                        (tables,)).fetchall()
    present = {r[0] for r in rows}
    found: list[OtherHistory] = []
    ours_keys = {version_key(v) for v in ours}
    for name, mod in readers.items():
        if mod.TABLE not in present:
            continue
        try:
            seen = mod.read(conn, files, folder, mod.TABLE)
        except NotTheirs:
            continue  # the same table name, another tool's columns
        except ImportRefused as exc:
            found.append(OtherHistory(name, mod.TOOL, mod.TABLE, problem=str(exc)))
            continue
        missing = [s.file.name for s in seen if version_key(s.file.version) not in ours_keys]
        if missing:
            found.append(OtherHistory(name, mod.TOOL, mod.TABLE, not_imported=missing))
    return found


def refuse_twice(conn: psycopg.Connection, todo: list[MigrationFile], files: list[MigrationFile],
                 folder: Path, ours: set[str], *, skip: tuple[str, ...] = ()) -> None:
    """Refuse (StateError, before anything runs) pending files another tool recorded as applied, and
    a first run over another tool's history that cannot be read as it stands."""
    if not todo:
        return
    todo_names = {f.name for f in todo}
    for other in other_histories(conn, files, folder, ours, skip=skip):
        twice = [n for n in other.not_imported if n in todo_names]
        if twice:
            shown = ", ".join(twice[:5]) + (f" and {len(twice) - 5} more" if len(twice) > 5 else "")
            raise StateError(
                f"{other.tool} already applied {shown} (in {other.table}) but Tidemark's history does not have "
                f"{'them' if len(twice) > 1 else 'it'}: run `{other.command}` first, so nothing runs twice; "
                "nothing ran")
        if other.problem and not ours:
            raise StateError(
                f"this database has {other.tool}'s history ({other.table}) and no Tidemark history, and it cannot "
                f"be matched to these files: {other.problem.rstrip('.')}. Import it first (`{other.command}`), "
                f"or, if {other.tool} no longer manages this database, rename that table; nothing ran")


def assess(others: list[OtherHistory], health: object, reasons: list) -> tuple[object, list]:
    """The health with a warning for every other tool's history not imported yet."""
    from app.core.status import Health, HealthReason

    more = []
    for o in others:
        if o.not_imported:
            n = len(o.not_imported)
            more.append(HealthReason(
                Health.WARNING, "other_history",
                f"{o.tool}'s history ({o.table}) records {n} applied migration{'s' if n != 1 else ''} that "
                f"Tidemark's history lacks (they show as pending): import it before migrating (`{o.command}`; "
                "in the app, Migrations ▸ Import history…)"))
        elif o.problem:
            more.append(HealthReason(Health.WARNING, "other_history",
                                     f"{o.tool}'s history ({o.table}) cannot be imported as it stands: {o.problem}"))
    if more and health is Health.HEALTHY:
        health = Health.WARNING
    return health, reasons + more
