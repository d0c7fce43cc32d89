"""The goose layout: `<digits>_<desc>.sql` files with up and down sections (see sections.GOOSE)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.core.files import MigrationFile
from app.core.layouts import flat, sections
from app.core.layouts.common import Folder


def read(folder: Folder) -> list[MigrationFile]:
    """The folder's migrations, each file's up section forward and its down section as rollback."""
    return flat.read(folder, sections.GOOSE)


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime) -> dict[Path, str]:
    """The next file with both sections, empty."""
    return flat.new(folder, files, slug, description, now, sections.GOOSE, numbered=True)
