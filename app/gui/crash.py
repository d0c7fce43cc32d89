"""Unexpected exceptions: written to the log file, shown as a readable dialog, never a traceback on stderr."""

from __future__ import annotations

import datetime as _dt
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from app.core.errors import redact


@dataclass(frozen=True)
class BugReport:
    """An exception that is not a TidemarkError: a bug, logged with its traceback."""

    summary: str
    log_path: Path | None

    def __str__(self) -> str:
        where = f" The details are in {self.log_path}." if self.log_path else ""
        return f"internal error: {self.summary}.{where} Please report it."

    @classmethod
    def capture(cls, exc: BaseException) -> BugReport:
        """Log the exception's traceback and describe it in one line."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(redact(f"{type(exc).__name__}: {exc}")[:300], write_log(text))


def write_log(text: str) -> Path | None:
    """Append a timestamped entry to the log file; None if it cannot be written."""
    try:
        from app.core.dirs import log_file

        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().isoformat(timespec="seconds")
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {stamp} tidemark-gui\n{redact(text)}\n")
        return path
    except OSError:
        return None


def install_excepthook() -> None:
    """Route uncaught exceptions on the GUI thread to the log and a dialog (a last resort)."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        report = BugReport.capture(exc.with_traceback(tb))
        show_bug(report)

    sys.excepthook = hook


def show_bug(report: BugReport) -> None:
    """A readable dialog for a bug (or one stderr line when no window can be shown)."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        sys.stderr.write(str(report) + "\n")
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "Tidemark — internal error", str(report))
    box.setInformativeText("Refresh to see the database's current state.")
    box.exec()


# Qt platform chatter that says nothing to a user (the offscreen plugin, used by --self-test).
_QT_NOISE = ("propagateSizeHints",)


def install_message_handler() -> None:
    """Send Qt's warnings to the log file instead of stderr (a smoke test whitelists stderr lines)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, _context: object, message: str) -> None:
        if kind == QtMsgType.QtDebugMsg or any(n in message for n in _QT_NOISE):
            return
        write_log(f"Qt {kind.name}: {message}")

    qInstallMessageHandler(handler)
