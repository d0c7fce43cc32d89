"""The Diesel layout: `<version>_<name>/up.sql` + `down.sql`, `metadata.toml` `run_in_transaction = false`.

Diesel's versions are dashed timestamps (`2021-01-01-000000`) or plain digits; the version is their
digits, so both sort together as Diesel sorts them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from app.core.directives import Directives
from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile
from app.core.layouts import common, folders, sections
from app.core.layouts.common import Folder

NAME = re.compile(r"^(?P<version>\d[\d-]*)_(?P<slug>.+)$")


def read(folder: Folder) -> list[MigrationFile]:
    """Every migration folder's up.sql forward, down.sql as its rollback."""

    def one(path: Path, m: re.Match[str]) -> MigrationFile:
        stray = folders.stray_sql(path, {"up.sql", "down.sql"}, "diesel")
        if stray:
            raise MigrationFileError(stray)
        down = path / "down.sql"
        no_tx = _no_transaction(path / "metadata.toml")

        def shape(text: str, file: Path, directives: Directives) -> tuple[None, Directives]:
            sections.refuse_foreign(text, file, "diesel")
            if down.exists():
                directives = common.down_file(folder, down, directives, "diesel")
            if no_tx:
                directives = replace(directives, no_transaction=True,
                                     no_transaction_by="run_in_transaction = false in metadata.toml")
            return None, directives

        return common.load(folder, path / "up.sql", m["version"].replace("-", ""), path.name, m["slug"], shape)

    return folders.read(folder, "diesel", NAME, "up.sql", "<version>_<name>/up.sql folders", one)


def _no_transaction(path: Path) -> bool:
    """True when the migration's metadata.toml says `run_in_transaction = false`."""
    if not path.exists():
        return False
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MigrationFileError([FileProblem(path, f"cannot be read as TOML: {exc}",
                                              hint="fix it, or delete it")]) from None
    value = meta.get("run_in_transaction", True)
    if not isinstance(value, bool):
        raise MigrationFileError([FileProblem(path, "run_in_transaction must be true or false",
                                              hint="write run_in_transaction = false")])
    return not value


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime) -> dict[Path, str]:
    """The next folder, `YYYY-MM-DD-HHMMSS_<slug>/` with up.sql and down.sql, as `diesel migration generate`
    writes it (its own comments in them)."""
    from app.core.layouts import naming

    v = naming.timestamp(now, [f.version for f in files])
    path = folder / f"{v[:4]}-{v[4:6]}-{v[6:8]}-{v[8:]}_{slug}"
    return {path / "up.sql": naming.header(description) + "-- Your SQL goes here\n",
            path / "down.sql": "-- This file should undo anything in `up.sql`\n"}
