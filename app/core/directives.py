"""What a migration file's comments say about it: `-- Migration:` and `-- Description:` in its
header, its rollback (`-- ROLLBACK:` lines or a `-- ROLLBACK BEGIN` ... `END` block) and
`-- tidemark:no-transaction`; and the SQL that runs forward, with the rollback block blanked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import FileProblem, MigrationFileError

_HEADER = re.compile(r"^\s*--\s*(?P<key>Migration|Description)\s*:\s*(?P<value>.*?)\s*$", re.IGNORECASE)
_ROLLBACK_LINE = re.compile(r"^\s*--\s*ROLLBACK\s*:\s?(?P<sql>.*)$", re.IGNORECASE)
_ROLLBACK_BEGIN = re.compile(r"^\s*--\s*ROLLBACK\s+BEGIN\s*$", re.IGNORECASE)
_ROLLBACK_END = re.compile(r"^\s*--\s*ROLLBACK\s+END\s*$", re.IGNORECASE)
_NO_TRANSACTION = re.compile(r"^\s*--\s*tidemark\s*:\s*no-transaction\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Directives:
    """What the file's comments say about it."""

    title: str = ""
    description: str = ""
    custom_rollback: str | None = None
    no_transaction: bool = False
    # The file's line of each line of custom_rollback, so a problem in it names the file's line.
    rollback_lines: tuple[int, ...] = ()
    rollback_path: Path | None = None  # where custom_rollback was written, when not in the file (a down file)
    no_transaction_by: str = "-- tidemark:no-transaction"  # what declared no_transaction, for messages

    def rollback_file_line(self, line: int | None) -> int | None:
        """The file's line of a 1-based line of custom_rollback (None when unknown)."""
        if line is None or not self.rollback_lines:
            return None
        return self.rollback_lines[min(max(line, 1), len(self.rollback_lines)) - 1]


def read_directives(text: str, path: Path | None = None) -> Directives:
    """Read `-- Migration:`, `-- Description:`, `-- ROLLBACK...` and `-- tidemark:` comments."""
    title = description = ""
    rollback_lines: list[str] = []
    rollback_at: list[int] = []  # the file's line of each of rollback_lines
    in_block = False
    block_start = 0
    no_transaction = False
    header_done = False
    lowered = text.lower()
    # Most files have no directive past the header: stop reading there (status reads 1000s of files).
    whole_file = "rollback" in lowered or "tidemark" in lowered
    for number, line in enumerate(text.split("\n"), start=1):
        if header_done and not whole_file:
            break
        if in_block:
            if _ROLLBACK_END.match(line):
                in_block = False
                continue
            stripped = line.lstrip()
            # Inside the block, lines may be commented out (so the migration ignores them) or not.
            rollback_lines.append(stripped[2:].lstrip(" ") if stripped.startswith("--") else line)
            rollback_at.append(number)
            continue
        if _ROLLBACK_BEGIN.match(line):
            in_block = True
            block_start = number
            continue
        if _ROLLBACK_END.match(line):
            raise MigrationFileError(
                [FileProblem(path or Path("?"), "'-- ROLLBACK END' without '-- ROLLBACK BEGIN'", number)]
            )
        m = _ROLLBACK_LINE.match(line)
        if m:
            rollback_lines.append(m["sql"])
            rollback_at.append(number)
            continue
        if _NO_TRANSACTION.match(line):
            no_transaction = True
            continue
        if not header_done:
            h = _HEADER.match(line)
            if h:
                if h["key"].lower() == "migration":
                    title = title or h["value"]
                else:
                    description = description or h["value"]
                continue
            if line.strip() and not line.lstrip().startswith("--"):
                header_done = True
    if in_block:
        raise MigrationFileError(
            [
                FileProblem(
                    path or Path("?"),
                    "'-- ROLLBACK BEGIN' is never closed",
                    block_start,
                    hint="end the block with a '-- ROLLBACK END' line",
                )
            ]
        )
    joined = "\n".join(rollback_lines)
    custom = joined.strip()
    skipped = joined[: len(joined) - len(joined.lstrip())].count("\n")  # blank lines strip() removed
    return Directives(title, description, custom or None, no_transaction, tuple(rollback_at[skipped:]))


def forward_sql(text: str) -> str:
    """The SQL that runs forward: a `-- ROLLBACK BEGIN` ... `-- ROLLBACK END` block blanked out.

    Users of dbmate-style files write the down part uncommented inside the block; it must never
    run on migrate. Lines become spaces of the same length, so offsets, lines and columns of
    the rest stay those of the file.
    """
    out: list[str] = []
    in_block = False
    for line in text.split("\n"):
        if not in_block and _ROLLBACK_BEGIN.match(line):
            in_block = True
        if in_block:
            out.append(" " * len(line))
            if _ROLLBACK_END.match(line):
                in_block = False
        else:
            out.append(line)
    return "\n".join(out)
