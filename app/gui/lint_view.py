"""Lint pending from the app: the findings in a table; double-click one to see its line in the SQL."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.text import counted as count
from app.core.text import visible
from app.gui.item_colours import paint_table_cell
from app.gui.sizing import roomy_rows
from app.gui.table_fit import Elided, ElideMiddle, fit_columns
from app.gui.theme import current
from app.gui.words import in_app

COLUMNS = ("Severity", "Where", "Rule", "Problem", "Safer way")
_SHARES = {1: 0.18, 2: 0.14}  # the most of the width Where and Rule take: Problem and Safer way get the rest


class LintDialog(QDialog):
    """The findings of `tidemark lint` on the pending migrations; `go_to(path, line)` on double-click."""

    def __init__(self, result: Any, environment: str, go_to: Callable[[Any, int], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result = result
        n = len(result.files)
        self.setWindowTitle(f"Lint: {count(n, 'pending migration')} on {environment}")
        self.resize(980, 480)
        lay = QVBoxLayout(self)
        errors, warnings = len(result.errors), len(result.warnings)
        via = f" (squawk {result.squawk_version} and Tidemark's rules)" if result.squawk_version else ""
        colour = current().error if errors else current().warn if warnings else current().ok
        head = QLabel(f"<b style='color:{colour}'>{count(errors, 'error')}, {count(warnings, 'warning')}</b> "
                      f"in {count(n, 'file')}{html.escape(via)}."
                      + ("" if result.findings else " Nothing to change before running them.")
                      + "".join(f"<br>note: {html.escape(in_app(x))}" for x in result.notes))
        head.setWordWrap(True)
        lay.addWidget(head)
        self.table = QTableWidget(len(result.findings), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAccessibleName("Lint findings")
        self.table.verticalHeader().hide()  # a row number says nothing: Where says the file and line
        roomy_rows(self.table)
        for row, f in enumerate(result.findings):
            cells = (f.severity, f"{f.path.name}:{f.line}", f.rule, f.message, f.fix)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(visible(in_app(str(text))))  # a fix in the app's words
                # Where and Rule are cut when long: their tooltips say them whole (the rule above the place).
                where = f"{f.location}\n{f.statement}"
                item.setToolTip(visible(f"{f.rule}\n{where}" if col == 2 else where))
                if col == 0:  # repainted at a theme switch (item_colours)
                    paint_table_cell(item, current().error if f.severity == "error" else current().warn)
                self.table.setItem(row, col, item)
        # Problem and Safer way share the width and wrap (one of them was wider than the window, the other
        # past its edge); the rows grow to their lines whenever the columns change width. Where and Rule
        # take at most their share, on one line, cut (a long file name had Problem wrap to five lines).
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        for col in (3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegateForColumn(1, ElideMiddle(self.table))  # the file's start and its line stay
        self.table.setItemDelegateForColumn(2, Elided(self.table))
        self.table.setWordWrap(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        self.table.resizeRowsToContents()
        self.table.cellDoubleClicked.connect(lambda row, _col: self._go(row, go_to))
        lay.addWidget(self.table, 1)
        hint = QLabel("Double-click a finding (or press Enter on it) to show its line in the migration's SQL.")
        hint.setObjectName("hint")
        lay.addWidget(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.table.activated.connect(lambda index: self._go(index.row(), go_to))

    def showEvent(self, event: Any) -> None:  # Qt's name
        super().showEvent(event)
        QTimer.singleShot(0, self._fit)  # the table has its shown width now

    def resizeEvent(self, event: Any) -> None:  # Qt's name
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit)

    def _fit(self) -> None:
        fit_columns(self.table, (1, 2), self.table.viewport().width(), _SHARES)
        self.table.resizeRowsToContents()

    def _go(self, row: int, go_to: Callable[[Any, int], None]) -> None:
        if 0 <= row < len(self.result.findings):
            f = self.result.findings[row]
            go_to(f.path, f.line)

