"""Asking for a password the server wants and no source gave (or refused): typed once, kept in memory,
stored in the OS keyring only if asked (and only for a saved environment)."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget


class PasswordDialog(QDialog):
    """"NAME asks for a password" with the server's reason when one was refused."""

    def __init__(self, name: str, reason: str, *, rejected: bool, can_save: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Password for {name}")
        lay = QVBoxLayout(self)
        head = QLabel(("<b>The password was refused.</b> " if rejected else "<b>The server asks for a password.</b> ")
                      + html.escape(reason))
        head.setWordWrap(True)
        lay.addWidget(head)
        label = QLabel("&Password:")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(f"Password for {name}")
        label.setBuddy(self.password)
        lay.addWidget(label)
        lay.addWidget(self.password)
        self.save = QCheckBox("&Save in the OS keyring")
        self.save.setChecked(can_save)
        self.save.setEnabled(can_save)
        lay.addWidget(self.save)
        note = QLabel("Otherwise it is kept in memory only, until Tidemark quits."
                      if can_save else "Kept in memory only, until Tidemark quits (only a saved environment's "
                      "password can be stored in the keyring).")
        note.setWordWrap(True)
        note.setObjectName("hint")
        lay.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.password.setFocus()
