"""Naming the next migration of a project (`tidemark new`): the version each tool would give it.

Timestamps are UTC, one second later while the name is taken, and never before the newest
version (a new migration must not sort before one already there); numbers are the highest
plus one, padded as the project pads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from app.core.files import MigrationFile, version_key

STAMP = "%Y%m%d%H%M%S"


def header(description: str) -> str:
    """The skeleton's header: Tidemark reads the title from it (other tools see comments)."""
    return f"-- Migration: {description}\n-- Description:\n"


def timestamp(now: datetime, versions: Iterable[str]) -> str:
    """`YYYYMMDDHHMMSS` of `now` (UTC), later while taken or not after the newest 14-digit version."""
    versions = list(versions)
    taken = {version_key(v) for v in versions}
    t = now.astimezone(UTC).replace(microsecond=0)
    newest = max(filter(None, (_stamp(v) for v in versions)), default=None)
    if newest is not None and newest >= t:
        t = newest + timedelta(seconds=1)
    while version_key(t.strftime(STAMP)) in taken:
        t += timedelta(seconds=1)
    return t.strftime(STAMP)


def _stamp(version: str) -> datetime | None:
    if not (version.isdigit() and len(version) == 14):
        return None
    try:
        return datetime.strptime(version, STAMP).replace(tzinfo=UTC)
    except ValueError:  # 14 digits that are no date (00000000000000, Diesel's setup)
        return None


def uses_timestamps(files: list[MigrationFile]) -> bool:
    """True when the project's newest version is a 14-digit timestamp (not a sequence number)."""
    digits = [f.version for f in files if f.version.isdigit()]
    return bool(digits) and len(max(digits, key=int).lstrip("0") or "0") >= 14


def next_number(files: list[MigrationFile], width: int) -> str:
    """The highest version plus one, zero-padded as the project pads (`width` for a new project)."""
    digits = [f.version for f in files if f.version.isdigit()]
    if not digits:
        return str(1).zfill(width)
    padded = [v for v in digits if v.startswith("0") and len(v) > 1]
    pad = max((len(v) for v in padded), default=0)
    return str(max(int(v) for v in digits) + 1).zfill(pad)


_UNSAFE = re.compile(r"[^a-z0-9]+")


def slug(description: str) -> str:
    """The file-name part of a description: lower-case letters, digits and `_` (empty: none usable)."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode("ascii")
    out = _UNSAFE.sub("_", ascii_text.lower()).strip("_")
    if len(out) > 60:  # names stay readable; the header keeps the whole description
        out = out[:60].rsplit("_", 1)[0] if "_" in out[:60] else out[:60]
    return out
