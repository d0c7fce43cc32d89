"""Where Tidemark's data files are, installed, frozen or in a source tree."""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(installed_name: str, source_name: str) -> Path:
    # Installed (pip, non-editable) and PyInstaller bundles carry the folder inside the
    # package; a source checkout or an editable install has it at the top of the tree.
    for candidate in (
        _PACKAGE / installed_name,
        Path(getattr(sys, "_MEIPASS", _PACKAGE)) / "app" / installed_name,
        _PACKAGE.parent / source_name,
    ):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / source_name


def resources_dir() -> Path:
    """The folder of templates, schemas, icons and SQL shipped with Tidemark."""
    return _data_dir("resources", "resources")


def example_migrations_dir() -> Path:
    """The seed's example migrations, opened by default in the local sandbox."""
    return _data_dir("example_migrations", "migrations")
