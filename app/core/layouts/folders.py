"""Layouts of one folder per migration (Prisma, Diesel): the shared walk over the subfolders."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile
from app.core.layouts import common
from app.core.layouts.common import Folder


def read(folder: Folder, layout: str, name: re.Pattern[str], forward: str, expected: str,
         one: Callable[[Path, re.Match[str]], MigrationFile]) -> list[MigrationFile]:
    """Each subfolder named `name` holding its `forward` file, loaded by `one`; the rest is unplaceable."""
    problems: list[FileProblem] = [common.unplaceable(folder.path / n, layout, expected) for n in folder.sql]
    loaders = []
    for sub in folder.subfolders:
        m = name.match(sub)
        path = folder.path / sub
        if m is None:
            problems.append(common.unplaceable(path, layout, expected))
        elif not (path / forward).is_file():
            problems.append(FileProblem(path, f"holds no {forward}, which a {layout} migration folder needs",
                                        hint=f"add {forward} to it, or move the folder out"))
        else:
            loaders.append(lambda path=path, m=m: one(path, m))
    files, more = common.collect(loaders)
    return common.finish(files, problems + more)


def stray_sql(path: Path, allowed: set[str], layout: str) -> list[FileProblem]:
    """The .sql files of a migration folder that the layout does not read (never skipped in silence)."""
    try:
        names = sorted(n for n in path.iterdir() if n.name.lower().endswith(".sql") and n.name not in allowed)
    except OSError as exc:
        raise MigrationFileError([FileProblem(path, f"cannot be read: {exc.strerror or exc}")]) from None
    return [common.unplaceable(n, layout, " and ".join(sorted(allowed)) + " in each migration folder")
            for n in names]
