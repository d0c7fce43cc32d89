"""Repair and baseline from the app: what they record, why, and the typed name on a protected environment.

Neither runs a migration; both change the history, so they go through app.core.protection's
rule as the CLI's `repair` and `baseline` do.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.protection import Confirmation, Requirement, confirm
from app.core.results import RepairCandidate
from app.core.text import counted as count
from app.gui.confirm_widgets import TypedName, default_on_match
from app.gui.emphasis import bold_while_enabled
from app.gui.marks import themed_selection
from app.gui.sql_view import SqlView


def show_diff(view: SqlView, parts: list[tuple[str, bool]]) -> None:
    """Show lines of text, some of them unified diffs (`(text, is_diff)`), with each diff's removed and
    added lines shaded as Compare shades a changed line; the SQL keeps its colours. The ---/+++ file
    lines above a diff's first @@ are not changes. A diff shown as SQL alone gave them no colour."""
    lines: list[str] = []
    marked: list[tuple[int, str]] = []  # (line index, theme role)
    for text, is_diff in parts:
        in_hunk = False
        for line in text.splitlines() or [""]:
            in_hunk = is_diff and (in_hunk or line.startswith("@@"))
            if in_hunk and line[:1] in ("+", "-"):
                marked.append((len(lines), "diff_new_bg" if line[0] == "+" else "diff_old_bg"))
            lines.append(line)
    view.show_sql("\n".join(lines))
    document = view.document()
    view.setExtraSelections([themed_selection(QTextCursor(document.findBlockByNumber(i)), role, full_width=True)
                             for i, role in marked])


class Confirming(QDialog):
    """The buttons and typed name these dialogs share; subclasses say when their own fields are complete."""

    def _finish(self, lay: QVBoxLayout, need: Requirement, verb: str) -> None:
        self.need = need
        self.typed: TypedName | None = None
        if need.protected:
            self.typed = TypedName(need)
            self.typed.matched.connect(self._check)
            lay.addWidget(self.typed)
        buttons = QDialogButtonBox()
        self.ok: QPushButton = buttons.addButton(verb, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("dangerButton")
        bold_while_enabled(self.ok)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self._check()

    def _complete(self) -> bool:
        return True

    @Slot()
    def _check(self, *_: object) -> None:
        default_on_match(self.ok, self.cancel_button, self._complete() and (self.typed is None or self.typed.ok()))

    def accept(self) -> None:
        """Accept only when complete (Enter may reach here)."""
        if self.ok.isEnabled():
            super().accept()


class RepairDialog(Confirming):
    """The diff of each changed applied file, the reason (it goes into the audit trail), and the name typed."""

    def __init__(self, candidates: list[RepairCandidate], need: Requirement, *, target: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.candidates = candidates
        n = len(candidates)
        self.setWindowTitle(f"Accept {count(n, 'changed file')} on {need.name}")
        self.resize(860, 620)
        lay = QVBoxLayout(self)
        head = QLabel(f"<b>{count(n, 'applied migration')} changed on disk</b> since "
                      f"{'it was' if n == 1 else 'they were'} applied on <b>{html.escape(need.name)}</b> "
                      f"({html.escape(target)}). Accepting records the file's new checksum (and its rollback SQL, "
                      "if it gives one), with who accepted it and why. Nothing runs.")
        head.setWordWrap(True)
        lay.addWidget(head)
        self.diff = SqlView(name="What changed")
        parts: list[tuple[str, bool]] = []
        for c in candidates:
            parts.append((f"-- {c.name}" + (" (line endings or BOM only)" if c.line_endings_only else ""), False))
            parts.append((c.diff.rstrip(), True) if c.diff.strip()
                         else ("-- (no difference in the normalised text)", False))
            if c.new_rollback_kind:
                parts.append(("-- the file's custom rollback SQL will be stored as its rollback", False))
            parts.append(("", False))
        show_diff(self.diff, parts)
        lay.addWidget(self.diff, 1)
        label = QLabel("&Reason (goes into the audit trail):")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. comment fixed after review, no schema change")
        label.setBuddy(self.reason)
        lay.addWidget(label)
        lay.addWidget(self.reason)
        self.reason.textChanged.connect(self._check)
        self._finish(lay, need, f"&Accept {n}")
        self.reason.setFocus()

    def _complete(self) -> bool:
        return bool(self.reason.text().strip())

    def confirmation(self) -> Confirmation:
        """For the runner: this target, a repair, these migrations."""
        return confirm(self.need, typed=self.typed.text() if self.typed else None,
                       planned=[c.name for c in self.candidates])


class BaselineDialog(Confirming):
    """What baseline records as applied without running it, the --force choice, and the name typed."""

    def __init__(self, names: list[str], up_to: str, need: Requirement, *, target: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names = names
        n = len(names)
        self.setWindowTitle(f"Baseline {count(n, 'migration')} on {need.name}")
        self.resize(640, 460)
        lay = QVBoxLayout(self)
        head = QLabel(f"<b>Record {count(n, 'migration')} as applied</b> on "
                      f"<b>{html.escape(need.name)}</b> ({html.escape(target)}), up to {html.escape(up_to)}, "
                      "<b>without running them</b>: for a database that already has what they create. "
                      "Their rollback is manual unless the file gives rollback SQL.")
        head.setWordWrap(True)
        lay.addWidget(head)
        listing = QLabel("<br>".join(html.escape(x) for x in names[:30])
                         + (f"<br>… and {n - 30} more" if n > 30 else ""))
        listing.setObjectName("irreversible")
        listing.setWordWrap(True)
        lay.addWidget(listing, 1)
        self.force = QCheckBox("Record them even if the database &lacks objects they create")
        lay.addWidget(self.force)
        self._finish(lay, need, f"&Baseline {n}")

    def confirmation(self) -> Confirmation:
        """For the runner: this target, a baseline, these migrations."""
        return confirm(self.need, typed=self.typed.text() if self.typed else None, planned=self.names)
