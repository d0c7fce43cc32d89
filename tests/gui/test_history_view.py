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
    assert cell(failed, last).startswith("line 2: ") and "no_such_function" in cell(failed, last)
    assert cell(failed, 2) == "20260101000003_c.sql"  # the file, beside it (its path in the tooltip)
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


def test_the_reason_cell_gives_the_failed_line_not_the_path(qtbot) -> None:
    from types import SimpleNamespace

    from app.gui.dialogs import _HISTORY_COLUMNS, HistoryModel

    ev = SimpleNamespace(at=None, event="failed", migration_name="20260101000006_totals.sql", batch_id="b",
                         execution_time_ms=None, db_user="postgres", os_user="root", client_host="vm", reason="",
                         error_message="division by zero", error_file="/srv/app/migrations/20260101000006_totals.sql",
                         error_line=4)
    model = HistoryModel([ev])
    cell = model.index(0, len(_HISTORY_COLUMNS) - 1)
    assert model.data(cell) == "line 4: division by zero"
    assert model.data(cell, Qt.ItemDataRole.ToolTipRole) == (
        "/srv/app/migrations/20260101000006_totals.sql:4: division by zero")


def test_a_long_migration_name_is_cut_with_its_whole_name_in_the_tooltip(qtbot) -> None:
    from types import SimpleNamespace

    from app.gui.dialogs import _HISTORY_COLUMNS

    long_name = "20260101000007_" + "backfill_customer_invoice_totals_for_the_2019_migration_" * 2 + ".sql"
    ev = SimpleNamespace(at=None, event="applied", migration_name=long_name, batch_id="20260101-120000-abcdef",
                         execution_time_ms=12.0, db_user="postgres", os_user="dba", client_host="bastion-eu-1",
                         reason="ticket DBA-12: " + "backfill the totals " * 10, error_message=None,
                         error_file=None, error_line=None)
    dialog = HistoryDialog([ev], "staging")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table, model = dialog.table, dialog.model
    name_col, last = 2, len(_HISTORY_COLUMNS) - 1
    assert table.columnWidth(name_col) < table.sizeHintForColumn(name_col), "cut: it does not push the reason out"
    assert model.data(model.index(0, name_col), Qt.ItemDataRole.ToolTipRole) == long_name
    assert table.textElideMode() == Qt.TextElideMode.ElideRight  # the reason ends in "…"
    reason_room = table.viewport().width() - sum(table.columnWidth(c) for c in range(last))
    assert reason_room >= table.viewport().width() // 4, reason_room  # the error or reason gets a quarter at least
    assert "backfill the totals" in model.data(model.index(0, last), Qt.ItemDataRole.ToolTipRole)
    assert sum(table.columnWidth(c) for c in range(last + 1)) <= table.viewport().width() + 1, "no sideways scroll"


BATCHES = [f"backfill_customer_invoice_totals_batch_{i:02d}_for_the_2019_accounts_migrated_from_legacy"
           for i in range(12)]


def test_names_alike_at_both_ends_stay_distinguishable_at_the_default_size(
        qtbot, database: Database, migrations: MigrationDir) -> None:
    """Seen in the screenshots: a middle cut made every batch read "backf…ated_from_legacy.sql"."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    from app.gui.dialogs import _HISTORY_COLUMNS

    for slug in ["create_accounts", *BATCHES, "add_users_display_name", "create_index_users_display_name"]:
        migrations.add(slug, "SELECT 1;\n")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()
    dialog = HistoryDialog(MigrationRunner(Target(database.dsn, "test"), migrations.path).history(), "staging")
    qtbot.addWidget(dialog)
    assert (dialog.width(), dialog.height()) == (1180, 600)
    dialog.show()
    qtbot.waitExposed(dialog)
    table, model, col = dialog.table, dialog.model, 2
    delegate = table.itemDelegateForColumn(col)
    painted = {}
    for row in range(model.rowCount()):
        index = model.index(row, col)
        option = QStyleOptionViewItem()
        table.initViewItemOption(option)
        option.rect = table.visualRect(index)
        delegate.initStyleOption(option, index)  # the text the cell is painted with
        painted[index.data()] = option.text
        assert table.fontMetrics().horizontalAdvance(option.text) <= table.columnWidth(col), option.text
    batches = {name: text for name, text in painted.items() if "_batch_" in name}
    assert len(batches) == len(BATCHES)
    for name, text in batches.items():
        assert text != name, "long enough to be cut at this size"
        assert text.startswith(name[:15]) and text.endswith(".sql"), text  # its version whole, its end
        assert f"batch_{name.split('_batch_')[1][:2]}" in text, text  # and what tells it from the others
    assert len({t[15:] for t in batches.values()}) == len(batches), "no two read alike without their versions"
    # every other column still readable, the reason keeps its room
    last = len(_HISTORY_COLUMNS) - 1
    for c in range(last):
        if c != col:
            assert table.columnWidth(c) >= table.sizeHintForColumn(c), c
    assert table.viewport().width() - sum(table.columnWidth(c) for c in range(last)) >= 200
    assert sum(table.columnWidth(c) for c in range(last + 1)) <= table.viewport().width() + 1, "no sideways scroll"
