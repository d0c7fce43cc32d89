"""The Sqitch layout: `sqitch.plan` orders the changes, `deploy/<change>.sql` runs forward,
`revert/<change>.sql` is the rollback and `verify/<change>.sql` checks the deploy (app.core.verify).

Sqitch has no versions: a change's version is its position in the plan (1, 2, ...), so the plan's
order is the run order; Sqitch only appends to a plan. A change's `[requires]` must name changes
earlier in the plan (or another project's, `other:change`, which is not checked). A script's own
BEGIN ... COMMIT is replaced by Tidemark's transaction.

A reworked change (`sqitch rework`) is planned again under the same name after a tag; each plan
entry is its own migration. The newest entry keeps the plain scripts (`deploy/users.sql`) and the
name `users`; an older one is `users@tag`, with the scripts `sqitch rework` copied
(`deploy/users@tag.sql`), the tag being the first after it whose script exists, as Sqitch finds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.directives import Directives
from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile, read_text
from app.core.layouts import common, sections
from app.core.layouts.common import Folder

PLAN = "sqitch.plan"
SCRIPT_FOLDERS = ("deploy", "revert", "verify")
# name [requires] timestamp planner <email> # note ; a tag line starts with @
_CHANGE = re.compile(r"^(?P<name>[^\s@#:\[\]]+)\s*(?:\[(?P<deps>[^\]]*)\])?\s+\d{4}-\d\d-\d\dT"
                     r"[^#]*(?:#\s*(?P<note>.*?))?\s*$")
_TAG = re.compile(r"^@(?P<tag>[^\s@#:]+)\s")


@dataclass(frozen=True)
class Change:
    """One entry of the plan."""

    name: str  # Sqitch's change name (a reworked change has several entries of one name)
    requires: tuple[str, ...]
    line: int
    note: str = ""  # the plan's note: the migration's title
    script: str = ""  # the scripts' name: `users`, or `users@v1.0` for an entry reworked later
    tags_after: tuple[str, ...] = ()  # an entry reworked later: the tags up to its next entry

    @property
    def reworked(self) -> bool:
        """True for an older entry of a change planned again later."""
        return bool(self.tags_after)


def read(folder: Folder, verify: bool = True) -> list[MigrationFile]:
    """Every plan entry, in plan order, with its revert script as rollback and its verify script."""
    plan_path = folder.path / PLAN
    changes = [_with_script(folder.path, c) for c in read_plan(plan_path)]
    problems: list[FileProblem] = []
    planned = {c.script for c in changes}
    for kind in SCRIPT_FOLDERS:
        for script in _scripts(folder.path / kind):
            if script.stem not in planned:
                problems.append(FileProblem(script, f"is not a change of {plan_path}",
                                            hint="add it to the plan with `sqitch add`, or move it out"))
    problems += [common.unplaceable(folder.path / n, "sqitch", "deploy/, revert/ and verify/ scripts")
                 for n in folder.sql]

    def one(position: int, change: Change) -> MigrationFile:
        deploy = folder.path / "deploy" / f"{change.script}.sql"
        if not deploy.is_file():
            raise MigrationFileError([FileProblem(plan_path, f"plans change {change.name}, but {deploy} is missing",
                                                  change.line, hint=_missing_hint(change))])
        revert = folder.path / "revert" / f"{change.script}.sql"

        def shape(text: str, file: Path, directives: Directives) -> tuple[None, Directives]:
            sections.refuse_foreign(text, file, "sqitch")
            return None, common.down_file(folder, revert, directives, "sqitch") if revert.is_file() else directives

        f = common.load(folder, deploy, str(position), change.script, change.note or change.name, shape)
        check = folder.path / "verify" / f"{change.script}.sql"
        if verify and check.is_file():
            text, _, _ = read_text(check, folder.data(check))
            f = replace(f, verify_path=check, verify_text=text)
        return f

    files, more = common.collect([lambda i=i, c=c: one(i, c) for i, c in enumerate(changes, start=1)])
    return common.finish(files, problems + more)


def _missing_hint(change: Change) -> str:
    if change.reworked:
        return (f"it is reworked later in the plan: `sqitch rework` copies its scripts to "
                f"deploy/{change.name}@{change.tags_after[0]}.sql; restore that copy")
    return "add the script, or remove the change"


def _with_script(root: Path, change: Change) -> Change:
    """The change with its scripts' name: an older entry of a reworked change takes the first tag
    after it whose deploy script exists (Sqitch's rule), else the first tag (and is reported missing)."""
    if not change.reworked:
        return replace(change, script=change.name)
    for tag in change.tags_after:
        if (root / "deploy" / f"{change.name}@{tag}.sql").is_file():
            return replace(change, script=f"{change.name}@{tag}")
    return replace(change, script=f"{change.name}@{change.tags_after[0]}")


def sqitch_name(name: str) -> str:
    """The Sqitch change name of a migration's name (`users@v1.0` is an older entry of `users`)."""
    return name.split("@", 1)[0]


def read_plan(path: Path) -> list[Change]:
    """The plan's entries, checked: requires name earlier changes, a change planned again has a tag before it."""
    try:
        lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationFileError([FileProblem(path, f"cannot be read: {getattr(exc, 'strerror', None) or exc}",
                                              hint="give your user read access to it, save it as UTF-8")]) from None
    changes: list[Change] = []
    latest: dict[str, int] = {}  # name -> index in changes of its newest entry so far
    tags: list[tuple[int, str]] = []  # (number of changes before it, tag)
    problems: list[FileProblem] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith(("%", "#")):
            continue
        if text.startswith("@"):
            t = _TAG.match(text + " ")
            if t is not None:
                tags.append((len(changes), t["tag"]))
            continue
        m = _CHANGE.match(text)
        if m is None:
            problems.append(FileProblem(path, f"line not understood as a Sqitch change: {text[:60]}", number,
                                        hint="write `name [requires] YYYY-MM-DDTHH:MM:SSZ planner <email> # note`"))
            continue
        name = m["name"]
        requires = tuple(d for d in (m["deps"] or "").split() if not d.startswith("!"))
        for dep in requires:
            if ":" not in dep and dep.split("@")[0] not in latest:
                problems.append(FileProblem(path, f"change {name} requires {dep}, which is not planned before it",
                                            number, hint="plan the required change first"))
        if name in latest:  # reworked: the older entry's scripts are named after a tag between the two
            before = latest[name]
            between = tuple(tag for at, tag in tags if at > before)
            if not between:
                problems.append(FileProblem(path, f"change {name} is planned again (first on line "
                                            f"{changes[before].line}) with no tag in between", number,
                                            hint="Sqitch reworks a change only after a tag: `sqitch tag`, "
                                            "then `sqitch rework`"))
                continue
            changes[before] = replace(changes[before], tags_after=between)
        latest[name] = len(changes)
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
