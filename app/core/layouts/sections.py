"""Files with up and down sections marked in comments (dbmate, goose, sql-migrate).

A marked file is never run whole: the up section runs forward (every other line blanked to
spaces, so lines and offsets stay the file's), the down section is its custom rollback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.directives import Directives, forward_sql
from app.core.errors import FileProblem, MigrationFileError


@dataclass(frozen=True)
class Markers:
    """One tool's section markers."""

    layout: str
    up: re.Pattern[str]  # group "opts": the rest of the line
    down: re.Pattern[str]
    no_transaction: re.Pattern[str]  # matched on the up marker's options, or a line of its own
    ignored: re.Pattern[str] | None  # other lines of the tool's that are only comments to us
    example: str  # the up marker, as the message shows it
    down_example: str = ""  # the down marker, as `tidemark new` writes it


DBMATE = Markers(
    "dbmate",
    re.compile(r"^\s*--\s*migrate:up\b(?P<opts>.*)$"),
    re.compile(r"^\s*--\s*migrate:down\b(?P<opts>.*)$"),
    re.compile(r"\btransaction\s*:\s*false\b", re.IGNORECASE),
    None,
    "-- migrate:up",
    "-- migrate:down",
)
GOOSE = Markers(
    "goose",
    re.compile(r"^\s*--\s*\+goose\s+up\b(?P<opts>.*)$", re.IGNORECASE),
    re.compile(r"^\s*--\s*\+goose\s+down\b(?P<opts>.*)$", re.IGNORECASE),
    re.compile(r"^\s*--\s*\+goose\s+no\s+transaction\s*$", re.IGNORECASE),
    re.compile(r"^\s*--\s*\+goose\s+statement(begin|end)\s*$", re.IGNORECASE),
    "-- +goose Up",
    "-- +goose Down",
)
SQL_MIGRATE = Markers(
    "sql-migrate",
    re.compile(r"^\s*--\s*\+migrate\s+up\b(?P<opts>.*)$", re.IGNORECASE),
    re.compile(r"^\s*--\s*\+migrate\s+down\b(?P<opts>.*)$", re.IGNORECASE),
    re.compile(r"\bnotransaction\b", re.IGNORECASE),
    re.compile(r"^\s*--\s*\+migrate\s+statement(begin|end)\s*$", re.IGNORECASE),
    "-- +migrate Up",
    "-- +migrate Down",
)
ALL = (DBMATE, GOOSE, SQL_MIGRATE)
# Any line of a tool's own syntax, known or not (`-- +goose ENVSUB ON` must not pass as a comment).
_TOOL_LINE = {
    "dbmate": re.compile(r"^\s*--\s*migrate:(up|down)\b", re.IGNORECASE),
    "goose": re.compile(r"^\s*--\s*\+goose\b", re.IGNORECASE),
    "sql-migrate": re.compile(r"^\s*--\s*\+migrate\b", re.IGNORECASE),
}
_NEEDLES = ("migrate:", "+goose", "+migrate")
NEEDLES = tuple(n.encode() for n in _NEEDLES)


def first_marker(text: str) -> tuple[str, int] | None:
    """The layout and line of the first tool marker in a text, or None."""
    lowered = text.lower()
    if not any(n in lowered for n in _NEEDLES):  # the common case: no marker, no line loop
        return None
    for number, line in enumerate(text.split("\n"), start=1):
        for layout, pattern in _TOOL_LINE.items():
            if pattern.match(line):
                return layout, number
    return None


def refuse_foreign(text: str, path: Path, layout: str, own: str | None = None) -> None:
    """Refuse a file with another tool's markers in a layout that does not define them (exit 2)."""
    lowered = text.lower()
    if not any(n in lowered for n in _NEEDLES):
        return
    for number, line in enumerate(text.split("\n"), start=1):
        for tool, pattern in _TOOL_LINE.items():
            if tool != own and pattern.match(line):
                raise MigrationFileError([FileProblem(
                    path, f"has a {tool} section marker, which the {layout} layout does not define "
                    "(the whole file would run forward, down section included)", number,
                    hint=f'declare layout = "{tool}" in tidemark.toml at the project root')])


def split(text: str, path: Path, markers: Markers, directives: Directives) -> tuple[str, Directives]:
    """The forward text (the up section, all else blanked) and directives with the down section as rollback."""
    from app.core.layouts.common import with_rollback

    refuse_foreign(text, path, markers.layout, own=markers.layout)
    lines = text.split("\n")
    if not any(markers.up.match(line) for line in lines):
        raise _problem(path, None, f"has no '{markers.example}' marker, which the {markers.layout} layout needs",
                       f"add a '{markers.example}' line before its SQL")
    section: str | None = None
    up_at = down_at = 0
    no_tx = False
    forward: list[str] = []
    down: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        m_up, m_down = markers.up.match(line), markers.down.match(line)
        if m_up or m_down:
            kind = "up" if m_up else "down"
            if (up_at if m_up else down_at):
                raise _problem(path, number, f"has a second {kind} marker (the first is on line "
                               f"{up_at if m_up else down_at})", "keep one up and one down section")
            if m_up:
                up_at, section = number, "up"
                no_tx = no_tx or bool(markers.no_transaction.search(m_up["opts"]))
            else:
                down_at, section = number, "down"
            forward.append(" " * len(line))
            continue
        if markers.no_transaction.match(line) and markers.layout == "goose":
            no_tx = True
            forward.append(" " * len(line))
            continue
        if markers.ignored is not None and markers.ignored.match(line):
            forward.append(line if section == "up" else " " * len(line))
            continue
        if _TOOL_LINE[markers.layout].match(line):
            raise _problem(path, number, f"has a {markers.layout} annotation Tidemark does not support: "
                           f"{line.strip()[:60]}", "remove it, or run this migration with the tool itself")
        if section is None and line.strip() and not line.lstrip().startswith("--"):
            raise _problem(path, number, f"has SQL before its '{markers.example}' marker",
                           "move it into the up or down section")
        forward.append(line if section == "up" else " " * len(line))
        if section == "down":
            down.append((number, line))
    directives = with_rollback(directives, down)
    if no_tx:
        directives = replace(directives, no_transaction=True,
                             no_transaction_by=f"{markers.layout}'s no-transaction option")
    return forward_sql("\n".join(forward)), directives


def _problem(path: Path, line: int | None, reason: str, hint: str) -> MigrationFileError:
    return MigrationFileError([FileProblem(path, reason, line, hint=hint)])
