"""Pieces of the confirmations before a change: the typed environment name, the backup choice.

What they need comes from app.core.protection's Requirement: the dialogs only ask for it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.core.protection import BACKUP_MODES, Requirement

BACKUP_LABELS = {"schema": "the schema and Tidemark's history (small, plain SQL)",
                 "full": "the whole database, data included (pg_dump custom format)"}


class TypedName(QWidget):
    """"NAME is a protected environment. Type its name to confirm:" and the field; `matched` as it is typed.

    A confirmation for several targets gives its own `name` to type and its own `prompt` (rich text):
    the fleet's, which app.core.protection's confirm_all takes for every protected target's."""

    matched = Signal(bool)

    def __init__(self, need: Requirement | None = None, parent: QWidget | None = None, *, name: str | None = None,
                 prompt: str | None = None) -> None:
        super().__init__(parent)
        if need is None and (name is None or prompt is None):
            raise ValueError("TypedName needs a requirement, or a name and a prompt of its own")
        self.name = name if name is not None else need.name  # type: ignore[union-attr]
        if prompt is None:
            assert need is not None
            prompt = (f"<b>{html.escape(need.name)} is a protected environment.</b> "
                      f"Type its name to {html.escape(str(need.action))}:")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        warn = QLabel(prompt)
        warn.setObjectName("protectedWarning")
        warn.setWordWrap(True)
        lay.addWidget(warn)
        self.field = QLineEdit()
        self.field.setPlaceholderText(self.name)
        self.field.setAccessibleName(f"Type {self.name} to confirm")
        warn.setBuddy(self.field)
        self.field.textChanged.connect(lambda _: self.matched.emit(self.ok()))
        lay.addWidget(self.field)

    def ok(self) -> bool:
        """True when what is typed is the name."""
        return self.field.text().strip() == self.name

    def text(self) -> str:
        """What was typed."""
        return self.field.text().strip()


class BackupChoice(QWidget):
    """"Take a backup first" with its kind; on by default where the rule asks for one."""

    def __init__(self, need: Requirement, folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.required = need.backup is not None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.box = QCheckBox("&Back up first:")
        self.box.setChecked(self.required)
        self.kind = QComboBox()
        for mode in BACKUP_MODES:
            self.kind.addItem(BACKUP_LABELS[mode], mode)
        if need.backup in BACKUP_MODES:
            self.kind.setCurrentIndex(BACKUP_MODES.index(need.backup))
        row.addWidget(self.box)
        row.addWidget(self.kind, 1)
        lay.addLayout(row)
        self.where = QLabel(f"pg_dump, into {html.escape(folder)}, after the lock is taken and before the first "
                            "migration runs; if it fails, nothing runs.")
        self.where.setWordWrap(True)
        self.where.setObjectName("hint")
        lay.addWidget(self.where)
        self.warning = QLabel("<b>No backup:</b> if a migration goes wrong there is no copy of the schema from "
                              "just before it to compare with or restore from.")
        self.warning.setObjectName("protectedWarning")
        self.warning.setWordWrap(True)
        lay.addWidget(self.warning)
        self.box.toggled.connect(self._toggled)
        self._toggled(self.box.isChecked())

    @Slot(bool)
    def _toggled(self, on: bool) -> None:
        self.kind.setEnabled(on)
        self.warning.setVisible(self.required and not on)

    def mode(self) -> str | None:
        """The backup to take, or None."""
        return str(self.kind.currentData()) if self.box.isChecked() else None

    def waived(self) -> bool:
        """True when the rule asked for a backup and it was unticked."""
        return self.required and not self.box.isChecked()


def default_on_match(ok: QPushButton, cancel: QPushButton, matched: bool) -> None:
    """Enter presses Cancel until the name matches, then the action: the keyboard path is type, Enter."""
    ok.setEnabled(matched)
    ok.setDefault(matched)
    cancel.setDefault(not matched)
