"""Writing a report file atomically: a temporary file beside it, then a rename.

A reader (a web server publishing /reports, a cron job's mail) sees the old file or the new
one, never half of one; a failure leaves the old file as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.core.errors import UsageError

FORMATS = {".html": "html", ".htm": "html", ".json": "json", ".pdf": "pdf"}


def format_for(path: Path) -> str:
    """The format a file name asks for, by its extension."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"--output {path}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            "use .html, .json or .pdf, or give --html, --json or --pdf"
        )
    return fmt


def check_writable(path: Path) -> None:
    """Fail early, before any database work, when the report could not be written there."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--output {path}: is a folder; give a file name, e.g. {path / 'report.html'}")
    if not parent.is_dir():
        raise UsageError(f"--output {path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--output {path}: cannot write in the folder {parent} (permission denied)")


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write the whole content to `path`, or leave `path` untouched on any failure."""
    check_writable(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    parent = path.parent if str(path.parent) else Path(".")
    try:
        mode: int | None = path.stat().st_mode & 0o777  # keep an existing report's permissions
    except FileNotFoundError:
        mode = None  # a new report: what the umask gives (mkstemp's 0600 would ignore it)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write there: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"--output {path}: cannot write there: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it and putting it straight back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask
