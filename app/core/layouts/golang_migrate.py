"""The golang-migrate layout: `<digits>_<desc>.up.sql` runs forward, its `.down.sql` is the rollback.

A migration without a down file is allowed (as golang-migrate allows it): its rollback is
generated where the SQL can be inverted, else it is manual.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from app.core.directives import Directives
from app.core.errors import FileProblem
from app.core.files import MigrationFile
from app.core.layouts import common, sections
from app.core.layouts.common import Folder

NAME = re.compile(r"^(?P<version>\d+)_(?P<slug>[^/\\]*)\.(?P<dir>up|down)\.sql$")
EXPECTED = "<digits>_<description>.up.sql and .down.sql files"


def read(folder: Folder) -> list[MigrationFile]:
    """Each up file with its down file (same version and description)."""
    ups: dict[str, str] = {}
    downs: dict[str, str] = {}
    problems: list[FileProblem] = []
    for name in folder.sql:
        m = NAME.match(name)
        if not m or common.kind_of(folder.path / name):
            problems.append(common.unplaceable(folder.path / name, "golang-migrate", EXPECTED))
            continue
        (ups if m["dir"] == "up" else downs)[name[: -len(".up.sql")] if m["dir"] == "up"
                                             else name[: -len(".down.sql")]] = name
    for stem, name in downs.items():
        if stem not in ups:
            problems.append(common.unplaceable(folder.path / name, "golang-migrate",
                                               f"an up file beside it, {stem}.up.sql"))

    def one(stem: str, name: str) -> MigrationFile:
        m = NAME.match(name)
        assert m is not None
        down = folder.path / downs[stem] if stem in downs else None

        def shape(text: str, path: Path, directives: Directives) -> tuple[None, Directives]:
            sections.refuse_foreign(text, path, "golang-migrate")
            return None, directives if down is None else common.down_file(folder, down, directives, "golang-migrate")

        return common.load(folder, folder.path / name, m["version"], name, m["slug"], shape)

    files, more = common.collect([lambda s=s, n=n: one(s, n) for s, n in ups.items()])
    problems += more + _subfolders(folder)
    return common.finish(files, problems)


def _subfolders(folder: Folder) -> list[FileProblem]:
    from app.core.layouts.flat import subfolder_problems

    return subfolder_problems(folder, "golang-migrate")


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime) -> dict[Path, str]:
    """The next up and down files (`migrate create -seq`: the next number, 6 digits in a new project;
    a UTC timestamp when the project uses timestamps). The down file is empty, as golang-migrate writes it."""
    from app.core.layouts import naming

    version = (naming.timestamp(now, [f.version for f in files]) if naming.uses_timestamps(files)
               else naming.next_number(files, 6))
    return {folder / f"{version}_{slug}.up.sql": naming.header(description) + "\n",
            folder / f"{version}_{slug}.down.sql": ""}
