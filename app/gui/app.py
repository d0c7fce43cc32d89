"""`tidemark-gui`: the desktop application (being built; see issue 4)."""

from __future__ import annotations

import sys


def run() -> None:
    """Start the desktop application."""
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv)
    label = QLabel("Tidemark")
    label.setWindowTitle("Tidemark")
    label.show()
    sys.exit(app.exec())
