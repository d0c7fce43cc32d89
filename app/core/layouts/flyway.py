"""The Flyway layout: `V<version>__<desc>.sql` forward, `U<version>__<desc>.sql` its undo (the rollback).

Versions are dotted or underscored (`1.10` after `1.9`). Flyway reads its locations recursively,
so subfolders are read too. `${placeholders}` are replaced in the text that runs (and in the U
file), never in the text the checksum is taken of (app.core.layouts.placeholders). Repeatable
migrations (`R__<desc>.sql`) come after the versioned ones, kind "repeatable", no version
(app.core.repeatables). Baseline migrations (`B<version>__<desc>.sql`), kind "baseline", start an
empty database from their version (app.core.baselines). A `V1__x.sql.conf` with
`executeInTransaction=false` runs the migration outside a transaction.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from app.core.directives import Directives, forward_sql
from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile, version_key
from app.core.layouts import common, sections
from app.core.layouts.common import Folder
from app.core.layouts.placeholders import Placeholders

NAME = re.compile(r"^(?P<prefix>[VUB])(?P<version>\d+(?:[._]\d+)*)__(?P<slug>.*)\.sql$")
REPEATABLE = re.compile(r"^R__(?P<slug>.+)\.sql$")
LOOKS_LIKE = re.compile(r"^([VUB]\d|R__)")  # a Flyway file, well named or not (detection)
_NO_TX = re.compile(r"^\s*executeInTransaction\s*=\s*false\s*$", re.IGNORECASE | re.MULTILINE)
EXPECTED = ("V<version>__<description>.sql, U<version>__<description>.sql, B<version>__<description>.sql and "
            "R__<description>.sql files (two underscores)")


def read(folder: Folder, placeholders: Placeholders | None = None) -> list[MigrationFile]:
    """Every V file (in subfolders too) with its U file as rollback.

    `placeholders`: the values `${name}` takes in the SQL that runs; None (status, which runs
    nothing) leaves them as written and unchecked.
    """
    forward: dict[tuple, Path] = {}
    undo: dict[tuple, Path] = {}
    baseline: dict[tuple, Path] = {}
    problems: list[FileProblem] = []
    repeatable: dict[str, Path] = {}
    for path in _sql_files(folder.path):
        r = REPEATABLE.match(path.name)
        if r is not None:
            if path.name in repeatable:  # the name is its key in the history: one per project
                problems.append(FileProblem(path, f"is a second repeatable migration named {path.name} "
                                            f"(also {repeatable[path.name]})", hint="give one another description"))
            else:
                repeatable[path.name] = path
            continue
        m = NAME.match(path.name)
        if m is None:
            problems.append(_refused(path))
            continue
        key = version_key(m["version"])
        into = {"V": forward, "U": undo, "B": baseline}[m["prefix"]]
        if key in into:
            problems.append(FileProblem(path, f"duplicate version {m['version']} (also {into[key].name})",
                                        hint="give one of them another version"))
            continue
        into[key] = path
    for key, path in undo.items():
        if key not in forward:
            problems.append(common.unplaceable(path, "flyway", f"a V file of its version beside it ({path.name[1:]})"))

    def one(path: Path, kind: str = "versioned") -> MigrationFile:
        m = NAME.match(path.name) or REPEATABLE.match(path.name)
        assert m is not None
        version = "" if kind == "repeatable" else m["version"]
        down = undo.get(version_key(version)) if kind == "versioned" else None  # U pairs with V only

        def shape(text: str, file: Path, directives: Directives) -> tuple[str | None, Directives]:
            sections.refuse_foreign(text, file, "flyway")
            forward = None
            problems: list[FileProblem] = []
            if down is not None:
                directives = common.down_file(folder, down, directives, "flyway")
            if placeholders is not None:
                try:
                    forward = placeholders.substitute(forward_sql(text), file)
                except MigrationFileError as exc:
                    problems += exc.problems
                if directives.custom_rollback is not None:
                    where = directives.rollback_path or file
                    try:
                        directives = replace(directives, custom_rollback=placeholders.substitute(
                            directives.custom_rollback, where))
                    except MigrationFileError as exc:  # lines counted in the rollback text: name the file's
                        problems += [replace(p, line=directives.rollback_file_line(p.line)) for p in exc.problems]
            if problems:
                raise MigrationFileError(problems)
            if _no_transaction(file):
                directives = replace(directives, no_transaction=True,
                                     no_transaction_by=f"executeInTransaction=false in {file.name}.conf")
            return forward, directives

        return replace(common.load(folder, path, version, path.name, m["slug"], shape), kind=kind)

    files, more = common.collect([lambda p=p: one(p) for p in forward.values()])
    # Repeatables run after the versioned ones, in description order: Flyway compares the descriptions
    # (`_` read as a space) as plain strings, so `b_x` runs before `bx` and `B` before `a`.
    again, more_r = common.collect([lambda p=p: one(p, "repeatable") for _, p in sorted(
        repeatable.items(), key=lambda item: _description(item[0]))])
    starts, more_b = common.collect([lambda p=p: one(p, "baseline") for _, p in sorted(baseline.items())])
    for b in starts:
        if len(b.version) > common.MAX_VERSION:
            more_b.append(FileProblem(b.path, f"version {b.version} is longer than {common.MAX_VERSION} characters, "
                                      "more than the history's version column holds", hint="give it a shorter version"))
    versioned = common.finish(files, problems + more + more_r + more_b)
    return versioned + again + starts


def _description(name: str) -> str:
    m = REPEATABLE.match(name)
    return m["slug"].replace("_", " ") if m else name


def _sql_files(root: Path) -> list[Path]:
    """The .sql files under the folder, subfolders included (hidden ones skipped), in name order."""
    out = []
    for top, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(top) / n for n in sorted(names) if n.lower().endswith(".sql"))
    return out


def _refused(path: Path) -> FileProblem:
    name = path.name
    if name.startswith("R__"):
        return FileProblem(path, "is a Flyway repeatable migration without a description (R__<description>.sql)",
                           hint="rename it R__<description>.sql")
    if re.match(r"^[VUB]\d[\d._]*_[^_]", name):
        return FileProblem(path, "has one underscore after its version; Flyway names need two (V1__init.sql)",
                           hint="rename it with '__' between version and description")
    return common.unplaceable(path, "flyway", EXPECTED)


def _no_transaction(path: Path) -> bool:
    conf = path.with_name(path.name + ".conf")
    try:
        return bool(_NO_TX.search(conf.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationFileError([FileProblem(conf, f"cannot be read: {exc}", hint="fix it, or delete it")]) from None


def new(folder: Path, files: list[MigrationFile], slug: str, description: str, now: datetime) -> dict[Path, str]:
    """The next V file: the highest version's first part plus one (`1.10` -> `2`), or a UTC timestamp
    when the project's versions are timestamps. No U file: undo is Flyway Teams', written by hand."""
    from app.core.layouts import naming

    if not files:
        version = "1"
    else:
        first = re.split(r"[._]", max(files, key=lambda f: version_key(f.version)).version)[0]
        version = (naming.timestamp(now, [f.version for f in files]) if len(first.lstrip("0")) >= 14
                   else str(int(first) + 1))
    return {folder / f"V{version}__{slug}.sql": naming.header(description) + "\n"}
