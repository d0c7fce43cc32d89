"""Before Run pending: what will run, in order; on a protected environment the typed name and the backup.

The dialog asks; app.core.protection decides what must be asked (its Requirement) and issues
the Confirmation the runner checks inside the lock.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app.core.protection import Confirmation, Requirement, confirm
from app.core.results import RunResult
from app.core.text import counted as count
from app.gui.confirm_widgets import BackupChoice, TypedName, default_on_match
from app.gui.dialogs import dry_run_html
from app.gui.emphasis import bold_while_enabled


class RunDialog(QDialog):
    """The run's summary (OK/Cancel), or on a protected environment its typed confirmation and backup."""

    def __init__(self, plan: RunResult, need: Requirement, *, target: str, backup_folder: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.need = need
        self.names = [m.name for m in plan.planned]
        n = len(self.names)
        runs = count(n, "migration")
        self.setWindowTitle(f"Run {runs} on {need.name}")
        self.resize(900, 680)
        lay = QVBoxLayout(self)
        outside = sum(1 for m in plan.planned if not m.transactional)
        manual = sum(1 for m in plan.planned if m.rollback_kind == "manual")
        notes = []
        if outside:
            notes.append(f"{outside} run{'s' if outside == 1 else ''} outside a transaction")
        if manual:
            notes.append(f"{manual} cannot be rolled back automatically (manual rollback)")
        head = QLabel(f"<b>Run {runs}</b> on <b>{html.escape(need.name)}</b> ({html.escape(target)}), in this "
                      "order"
                      + (f" — {html.escape('; '.join(notes))}" if notes else "") + ".")
        head.setWordWrap(True)
        lay.addWidget(head)
        self.view = QTextBrowser()
        self.view.setAccessibleName("What will run")
        self.view.setHtml(dry_run_html(plan))
        lay.addWidget(self.view, 1)
        self.backup = BackupChoice(need, backup_folder)
        lay.addWidget(self.backup)
        self.typed: TypedName | None = None
        if need.protected:
            self.typed = TypedName(need)
            lay.addWidget(self.typed)
        buttons = QDialogButtonBox()
        self.ok: QPushButton = buttons.addButton(f"&Run {n}", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("dangerButton" if need.protected else "primaryButton")
        if need.protected:
            bold_while_enabled(self.ok)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        if self.typed is not None:
            self.typed.matched.connect(self._matched)
            self._matched(False)
            self.typed.field.setFocus()
        else:
            self.ok.setDefault(True)
            self.ok.setFocus()

    @Slot(bool)
    def _matched(self, ok: bool) -> None:
        default_on_match(self.ok, self.cancel_button, ok)

    def accept(self) -> None:
        """Accept only when confirmed (Enter may reach here)."""
        if self.ok.isEnabled():
            super().accept()

    def confirmation(self) -> Confirmation:
        """What the user confirmed, for the runner (bound to this target, this action, these migrations)."""
        mode = self.backup.mode()
        return confirm(self.need, typed=self.typed.text() if self.typed else None, backup=mode,
                       no_backup=self.backup.waived(), planned=self.names)
