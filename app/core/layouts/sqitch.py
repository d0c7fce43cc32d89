"""The Sqitch layout: `sqitch.plan` orders the changes, `deploy/<change>.sql` runs forward and
`revert/<change>.sql` is the rollback.

Sqitch has no versions: a change's version is its position in the plan (1, 2, ...), so the plan's
order is the run order; Sqitch only appends to a plan. A change's `[requires]` must name changes
earlier in the plan (or another project's, `other:change`, which is not checked). Not read yet,
and refused rather than run wrongly: reworked changes (a name planned twice). `verify/` scripts
are not run yet. A script's own BEGIN ... COMMIT is replaced by Tidemark's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import FileProblem, MigrationFileError
from app.core.files import Directives, MigrationFile
from app.core.layouts import common, sections
from app.core.layouts.common import Folder

PLAN = "sqitch.plan"
SCRIPT_FOLDERS = ("deploy", "revert", "verify")
# name [requires] timestamp planner <email> # note ; a tag line starts with @
_CHANGE = re.compile(r"^(?P<name>[^\s@#:\[\]]+)\s*(?:\[(?P<deps>[^\]]*)\])?\s+\d{4}-\d\d-\d\dT"
                     r"[^#]*(?:#\s*(?P<note>.*?))?\s*$")


@dataclass(frozen=True)
class Change:
    """One change of the plan."""

    name: str
    requires: tuple[str, ...]
    line: int
    note: str = ""  # the plan's note: the migration's title


def read(folder: Folder) -> list[MigrationFile]:
    """Every planned change, in plan order, with its revert script as rollback."""
    plan_path = folder.path / PLAN
    changes = read_plan(plan_path)
    problems: list[FileProblem] = []
    planned = {c.name for c in changes}
    for kind in ("deploy", "revert"):
        for script in _scripts(folder.path / kind):
            if script.stem not in planned:
                problems.append(FileProblem(script, f"is not a change of {plan_path}",
                                            hint="add it to the plan with `sqitch add`, or move it out"))
    problems += [common.unplaceable(folder.path / n, "sqitch", "deploy/, revert/ and verify/ scripts")
                 for n in folder.sql]

    def one(position: int, change: Change) -> MigrationFile:
        deploy = folder.path / "deploy" / f"{change.name}.sql"
        if not deploy.is_file():
            raise MigrationFileError([FileProblem(plan_path, f"plans change {change.name}, but {deploy} is missing",
                                                  change.line, hint="add the script, or remove the change")])
        revert = folder.path / "revert" / f"{change.name}.sql"

        def shape(text: str, file: Path, directives: Directives) -> tuple[None, Directives]:
            sections.refuse_foreign(text, file, "sqitch")
            return None, common.down_file(folder, revert, directives, "sqitch") if revert.is_file() else directives

        return common.load(folder, deploy, str(position), change.name, change.note or change.name, shape)

    files, more = common.collect([lambda i=i, c=c: one(i, c) for i, c in enumerate(changes, start=1)])
    return common.finish(files, problems + more)


def read_plan(path: Path) -> list[Change]:
    """The changes of a plan, checked: names planned once, requires naming earlier changes."""
    try:
        lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationFileError([FileProblem(path, f"cannot be read: {getattr(exc, 'strerror', None) or exc}",
                                              hint="give your user read access to it, save it as UTF-8")]) from None
    changes: list[Change] = []
    seen: dict[str, int] = {}
    problems: list[FileProblem] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith(("%", "#", "@")):
            continue
        m = _CHANGE.match(text)
        if m is None:
            problems.append(FileProblem(path, f"line not understood as a Sqitch change: {text[:60]}", number,
                                        hint="write `name [requires] YYYY-MM-DDTHH:MM:SSZ planner <email> # note`"))
            continue
        name = m["name"]
        if name in seen:
            problems.append(FileProblem(path, f"change {name} is planned again (reworked; first on line {seen[name]}), "
                                        "which Tidemark does not read yet", number,
                                        hint="keep running reworked changes with Sqitch"))
            continue
        requires = tuple(d for d in (m["deps"] or "").split() if not d.startswith("!"))
        for dep in requires:
            if ":" not in dep and dep.split("@")[0] not in seen:
                problems.append(FileProblem(path, f"change {name} requires {dep}, which is not planned before it",
                                            number, hint="plan the required change first"))
        seen[name] = number
        changes.append(Change(name, requires, number, (m["note"] or "").strip()))
    if problems:
        raise MigrationFileError(problems)
    return changes


def _scripts(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.name.lower().endswith(".sql"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MigrationFileError([FileProblem(folder, f"cannot be read: {exc.strerror or exc}")]) from None
