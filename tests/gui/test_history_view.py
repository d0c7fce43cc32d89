"""The app's History: events in words, newest first, the reason or error in the row's last column."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.gui.dialogs import HistoryDialog
from tests.conftest import Database, MigrationDir
from tests.test_history_words import EXPECTED, trail  # noqa: F401 - the fixture


def test_history_dialog_in_words_newest_first_with_reasons(qtbot, trail: tuple[Database, MigrationDir]) -> None:  # noqa: F811
    db, m = trail
    events = MigrationRunner(Target(db.dsn, "test"), m.path).history()
    dialog = HistoryDialog(events, "staging")
    qtbot.addWidget(dialog)
    model = dialog.model
    cell = lambda r, c: model.data(model.index(r, c))  # noqa: E731
    assert [(cell(r, 1), cell(r, 2)) for r in range(model.rowCount())] == EXPECTED
    last = model.columnCount() - 1
    repaired = next(r for r in range(model.rowCount()) if cell(r, 1) == "repaired")
    assert cell(repaired, last) == "typo fixed in a comment, ticket DBA-7"
    failed = next(r for r in range(model.rowCount()) if cell(r, 1) == "failed")
    assert "no_such_function" in cell(failed, last) and "20260101000003_c.sql:2" in cell(failed, last)
    tip = model.data(model.index(failed, last), Qt.ItemDataRole.ToolTipRole)
    assert "no_such_function" in tip


def test_every_history_column_is_readable_at_the_default_size(qtbot, trail: tuple[Database, MigrationDir]) -> None:  # noqa: F811
    db, m = trail
    dialog = HistoryDialog(MigrationRunner(Target(db.dsn, "test"), m.path).history(), "staging")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(dialog.isVisible)
    table = dialog.table
    last = dialog.model.columnCount() - 1
    for c in range(last):  # each column as wide as its widest cell; the reason column takes the rest
        assert table.columnWidth(c) >= table.sizeHintForColumn(c), dialog.model.headerData(c, Qt.Orientation.Horizontal)
    shown = sum(table.columnWidth(c) for c in range(last))
    assert shown + 120 <= table.viewport().width(), "room is left for the reason"
