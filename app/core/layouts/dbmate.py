"""The dbmate layout: `<digits>_<desc>.sql` files with up and down sections (see sections.DBMATE)."""

from __future__ import annotations

from app.core.files import MigrationFile
from app.core.layouts import flat, sections
from app.core.layouts.common import Folder


def read(folder: Folder) -> list[MigrationFile]:
    """The folder's migrations, each file's up section forward and its down section as rollback."""
    return flat.read(folder, sections.DBMATE)
