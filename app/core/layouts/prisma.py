"""The Prisma layout: `<timestamp>_<name>/migration.sql`; the rollback is generated (Prisma writes none)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from app.core.directives import Directives
from app.core.errors import MigrationFileError
from app.core.files import MigrationFile
from app.core.layouts import common, folders, sections
from app.core.layouts.common import Folder

NAME = re.compile(r"^(?P<version>\d{14})_(?P<slug>.+)$")


def read(folder: Folder) -> list[MigrationFile]:
    """Every migration folder's migration.sql, by its timestamp; history names it by the folder, as Prisma does."""

    def one(path: Path, m: re.Match[str]) -> MigrationFile:
        stray = folders.stray_sql(path, {"migration.sql"}, "prisma")
        if stray:
            raise MigrationFileError(stray)

        def shape(text: str, file: Path, directives: Directives) -> tuple[None, Directives]:
            sections.refuse_foreign(text, file, "prisma")
            return None, directives

        return common.load(folder, path / "migration.sql", m["version"], path.name, m["slug"], shape)

    return folders.read(folder, "prisma", NAME, "migration.sql", "<timestamp>_<name>/migration.sql folders", one)


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime) -> dict[Path, str]:
    """The next folder, `<UTC timestamp>_<slug>/migration.sql`, as `prisma migrate dev --create-only` names it."""
    from app.core.layouts import naming

    version = naming.timestamp(now, [f.version for f in files])
    return {folder / f"{version}_{slug}" / "migration.sql": naming.header(description) + "\n"}
