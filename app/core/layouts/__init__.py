"""Layouts: other tools' migration projects read as they are, into the engine's MigrationFile list.

Each layout is one small module with `read(folder) -> list[MigrationFile]` and (but Sqitch) `new(...)`,
which names the next migration; READERS and WRITERS below are the one place that names them, so a
new layout plugs in there only. Everything after discovery
(checks, apply, rollback, status, rehearse) stays layout-blind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.core.errors import UsageError
from app.core.files import MigrationFile
from app.core.layouts import dbmate, diesel, flyway, golang_migrate, goose, native, prisma, sqitch, sql_migrate
from app.core.layouts.common import Folder
from app.core.layouts.placeholders import Placeholders

Reader = Callable[[Folder], list[MigrationFile]]
# new(folder, files, slug, description, now) -> {path: text}: the next migration's files (`tidemark new`)
Writer = Callable[[Path, list[MigrationFile], str, str, datetime], dict[Path, str]]

READERS: dict[str, Reader] = {
    "tidemark": native.read,
    "supabase": lambda folder: native.read(folder, "supabase"),  # our naming, under supabase/migrations
    "dbmate": dbmate.read,
    "goose": goose.read,
    "sql-migrate": sql_migrate.read,
    "golang-migrate": golang_migrate.read,
    "prisma": prisma.read,
    "diesel": diesel.read,
    "flyway": flyway.read,
    "sqitch": sqitch.read,
}

# Sqitch has none: its plan is written by `sqitch add`, which `tidemark new` leaves to it.
WRITERS: dict[str, Writer] = {
    "tidemark": native.new,
    "supabase": native.new,
    "dbmate": dbmate.new,
    "goose": goose.new,
    "sql-migrate": sql_migrate.new,
    "golang-migrate": golang_migrate.new,
    "prisma": prisma.new,
    "diesel": diesel.new,
    "flyway": flyway.new,
}


@dataclass(frozen=True)
class Reading:
    """The migrations of a folder, and which layout read them."""

    layout: str
    files: list[MigrationFile] = field(default_factory=list)  # the versioned ones, in version order
    declared_in: Path | None = None  # the tidemark.toml that declared the layout; None: detected
    repeatables: list[MigrationFile] = field(default_factory=list)  # Flyway's R__ files, in the order they run
    baselines: list[MigrationFile] = field(default_factory=list)  # Flyway's B files, by version

    @property
    def description(self) -> str:
        """`dbmate (detected)` or `dbmate (declared in /p/tidemark.toml)`."""
        return describe(self.layout, str(self.declared_in) if self.declared_in else None)


def describe(layout: str, declared_in: str | None) -> str:
    """How status and dry-run name the layout: `dbmate (detected)`, `dbmate (declared in FILE)`."""
    return f"{layout} ({f'declared in {declared_in}' if declared_in else 'detected'})"


def read(directory: Path, layout: str | None = None, placeholders: Placeholders | None = None) -> Reading:
    """The folder's migrations: the layout given, else the one its tidemark.toml declares, else detected.

    `placeholders`: the values of Flyway's `${name}` (only that layout has them; elsewhere `${`
    is SQL text, left alone); None leaves them as written, unchecked (status runs nothing).
    """
    from app.core.layouts import config, detect

    folder = Folder.scan(directory)  # a missing folder or a link loop is named first
    declared_in = None
    project = None
    if layout is None:
        project = config.find(directory)
        if project is not None and project.layout:
            layout, declared_in = project.layout, project.path
        if project is not None and placeholders is not None:
            placeholders = placeholders.over(project.placeholders)
    check_name(layout, declared_in)
    if layout is None:
        layout = detect.detect(folder)
    if layout == "flyway":
        found = flyway.read(folder, placeholders)
        return Reading(layout, [f for f in found if f.kind == "versioned"], declared_in,
                       [f for f in found if f.kind == "repeatable"], [f for f in found if f.kind == "baseline"])
    if layout == "sqitch":
        project = project or config.find(directory)
        return Reading(layout, sqitch.read(folder, verify=project is None or project.verify), declared_in)
    return Reading(layout, READERS[layout](folder), declared_in)


def check_name(layout: str | None, where: Path | None = None) -> None:
    """Refuse a layout name we cannot read, naming where it was given and the ones we can."""
    if layout is not None and layout not in READERS:
        source = f"{where}: " if where else ""
        raise UsageError(f"{source}unknown layout {layout!r} (known: {', '.join(READERS)})")
