"""Flyway's repeatable migrations (`R__*.sql`) as their own group below the versioned list.

They have no version, so they are not rows of the versioned table (sorted, filtered and keyed by
version): a short table of their own, in the order migrate runs them, each one due (never ran),
changed (ran, but the file changed since: migrate runs it again), up to date, or missing. Hidden
for a project without any.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.repeatables import RepeatableInfo, RepeatableState
from app.core.text import visible
from app.gui.migration_model import format_ms
from app.gui.theme import state_colour

HEADERS = ("Repeatable", "Migration", "Runs", "Executed at", "Time")
# What the state means to the user, and the colour of the versioned state it reads like.
STATE_TEXT = {
    RepeatableState.PENDING: ("due", "pending"),
    RepeatableState.OUTDATED: ("changed", "modified"),
    RepeatableState.APPLIED: ("up to date", "applied"),
    RepeatableState.MISSING: ("missing", "missing"),
}


class RepeatableList(QWidget):
    """The repeatables of the status, or nothing (hidden) when the project has none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel()
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setAccessibleName("Repeatable migrations")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 100)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addWidget(self.heading)
        lay.addWidget(self.table)
        self.rows: list[RepeatableInfo] = []
        self.setVisible(False)

    def set_rows(self, rows: list[RepeatableInfo]) -> None:
        """Show these repeatables (in run order); hide the group when there are none."""
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            text, colour_of = STATE_TEXT.get(r.state, (r.state.value, "muted"))
            state = QTableWidgetItem(text)
            state.setForeground(QColor(state_colour(colour_of)))
            name = QTableWidgetItem(visible(r.title or r.name))  # the file's text: controls shown
            name.setToolTip(visible(str(r.path or r.name)))
            when = r.executed_at.strftime("%Y-%m-%d %H:%M:%S") if r.executed_at else ""
            for col, item in enumerate((state, name, QTableWidgetItem(str(r.runs) if r.runs else ""),
                                        QTableWidgetItem(when), QTableWidgetItem(format_ms(r.execution_time_ms)))):
                self.table.setItem(i, col, item)
        due = sum(1 for r in self.rows if r.due)
        self.heading.setText(f"Repeatable migrations (run after the versioned ones): "
                             f"{due} due" if due else "Repeatable migrations (run after the versioned ones): "
                             "up to date")
        height = self.table.horizontalHeader().height() + self.table.verticalHeader().defaultSectionSize() * min(
            max(len(self.rows), 1), 6) + 4
        self.table.setFixedHeight(height)  # a short group: the versioned list keeps the room
        self.setVisible(bool(self.rows))

    def state_of(self, name: str) -> str | None:
        """The shown state text of a repeatable (for tests and the accessible tree)."""
        for i, r in enumerate(self.rows):
            if r.name == name:
                item = self.table.item(i, 0)
                return item.text() if item is not None else None
        return None
