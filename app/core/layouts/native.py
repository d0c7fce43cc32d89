"""Tidemark's own layout (and Supabase's, the same naming): `YYYYMMDDHHMMSS_description.sql`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.core.errors import MigrationFileError
from app.core.files import MigrationFile, discover
from app.core.layouts import flat, sections
from app.core.layouts.common import Folder


def read(folder: Folder, layout: str = "tidemark") -> list[MigrationFile]:
    """The folder's migrations as files.discover reads them; another tool's markers are refused."""
    problems = flat.subfolder_problems(folder, layout)
    try:
        files = discover(folder.path, folder.data)
    except MigrationFileError as exc:
        raise MigrationFileError(problems + exc.problems) from None
    for f in files:
        try:
            sections.refuse_foreign(f.text, f.path, layout)
        except MigrationFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise MigrationFileError(problems)
    return files


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime) -> dict[Path, str]:
    """The next migration: `<UTC timestamp>_<slug>.sql`, the header and an empty rollback block."""
    from app.core.layouts import naming

    version = naming.timestamp(now, [f.version for f in files])
    return {folder / f"{version}_{slug}.sql": naming.header(description) + "\n\n\n-- ROLLBACK BEGIN\n-- ROLLBACK END\n"}
