"""Promote's two small dialogs: where to promote to, and why the source cannot be promoted from.

What would run, and the confirmation, are the overview's FleetRunDialog (the same as Run pending).
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from app.gui.fleet_tasks import PromotePlan
from app.gui.theme import current
from app.gui.words import in_app


class PromoteDialog(QDialog):
    """Pick the environment or group to bring up to what `source` has applied."""

    def __init__(self, source: str, destinations: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Promote from {source}")
        lay = QVBoxLayout(self)
        text = QLabel(f"Migrate the environment or group you choose up to the last migration applied on "
                      f"<b>{html.escape(source)}</b>, and no further. Next you see what would run on each target.")
        text.setWordWrap(True)
        lay.addWidget(text)
        label = QLabel("Promote &to:")
        self.combo = QComboBox()
        self.combo.addItems(destinations)  # plain text items: Qt does not read markup in them
        self.combo.setAccessibleName("Promote to")
        label.setBuddy(self.combo)
        lay.addWidget(label)
        lay.addWidget(self.combo)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("&Show what would run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setEnabled(bool(destinations))
        self.ok.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        if not destinations:
            lay.insertWidget(1, QLabel("No other environment to promote to: save one first."))
        self.combo.setFocus()

    def choice(self) -> int:
        """The index of the chosen destination."""
        return self.combo.currentIndex()


def refused_dialog(pp: PromotePlan, parent: QWidget | None = None) -> QDialog:
    """Why promoting from the source is refused (app.core.promote's reasons); nothing was changed."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Cannot promote from {pp.source}")
    dialog.resize(620, 240)
    lay = QVBoxLayout(dialog)
    dialog.reasons = QTextBrowser()  # type: ignore[attr-defined]
    dialog.reasons.setHtml(  # type: ignore[attr-defined]
        f"<p style='color:{current().error}'><b>{html.escape(in_app(pp.refused or 'nothing to promote'))}</b></p>"
        f"<p>Nothing would run on {html.escape(pp.destination)}: promote copies only a clean state.</p>")
    lay.addWidget(dialog.reasons)  # type: ignore[attr-defined]
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    lay.addWidget(buttons)
    return dialog
