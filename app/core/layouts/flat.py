"""Flat folders of `<digits>_<desc>.sql` files with sections (dbmate, goose, sql-migrate)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile
from app.core.layouts import common, sections
from app.core.layouts.common import Folder

NAME = re.compile(r"^(?P<version>\d+)_(?P<slug>[^/\\]*)\.sql$")


def read(folder: Folder, markers: sections.Markers) -> list[MigrationFile]:
    """Every `<digits>_<desc>.sql` of the folder, split at the tool's markers."""
    layout = markers.layout

    def one(name: str) -> MigrationFile:
        path = folder.path / name
        m = NAME.match(name)
        if not m or common.kind_of(path):
            raise MigrationFileError([common.unplaceable(path, layout, "<digits>_<description>.sql files")])
        # History keeps the digits as written; order and duplicates go by their value (version_key).
        return common.load(folder, path, m["version"], name, m["slug"],
                           lambda text, p, d: sections.split(text, p, markers, d))

    files, problems = common.collect([lambda n=n: one(n) for n in folder.sql])
    problems += subfolder_problems(folder, layout)
    return common.finish(files, problems)


def subfolder_problems(folder: Folder, layout: str) -> list[FileProblem]:
    """Subfolders shaped as one migration each (Prisma's migration.sql, Diesel's up.sql): a flat layout
    cannot place them. Other subfolders (seeds, an archive) are not migrations and stay unread, as before."""
    out: list[FileProblem] = []
    for sub in folder.subfolders:
        inside = folder.sql_files_in(sub)
        if any(n in ("migration.sql", "up.sql", "down.sql") for n in inside):
            out.append(common.unplaceable(Path(folder.path / sub), layout, "files, not folders"))
    return out


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime,
        markers: sections.Markers, *, numbered: bool) -> dict[Path, str]:
    """The next file, with the tool's up and down markers and empty sections.

    `numbered`: the tool also numbers its files (goose -s, sql-migrate): the next number when the
    project is numbered, else a UTC timestamp (dbmate always uses timestamps).
    """
    from app.core.layouts import naming

    if numbered and files and not naming.uses_timestamps(files):
        version = naming.next_number(files, 5)
    else:
        version = naming.timestamp(now, [f.version for f in files])
    up, down = markers.example, markers.down_example
    return {folder / f"{version}_{slug}.sql": f"{naming.header(description)}\n{up}\n\n\n{down}\n\n"}
