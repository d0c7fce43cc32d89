"""The migration list at the default window size: every column readable, no sideways scroll."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.gui.migration_model import Column
from app.gui.table_fit import ElideMiddle, wanted_width
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory

LONG = "backfill_customer_invoice_totals_for_the_2019_migration_of_the_billing_system"


def test_every_column_is_readable_at_the_default_size(qtbot, make_window: WindowFactory, database: Database,
                                                       migrations: MigrationDir) -> None:
    migrations.add("create_users", "CREATE TABLE users (id int);\n")
    long_file = migrations.add(LONG, "CREATE TABLE totals (id int);\n")
    migrations.add("add_index", "CREATE INDEX ON users (id);\n")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations(target="20260101000002")
    window = make_window()  # the default size and split: nothing remembered
    table = window.list.table
    qtbot.waitUntil(lambda: window.list.proxy.rowCount() == 3 and table.viewport().width() > 0, timeout=DEADLINE_MS)
    assert table.horizontalScrollBar().maximum() == 0, [table.columnWidth(c) for c in Column]
    for col in Column:
        if col is Column.BATCH:  # a long id: bounded, its start shown, the whole id in the tooltip
            assert table.columnWidth(col) >= table.horizontalHeader().sectionSizeHint(col)
        elif col is not Column.NAME:
            assert table.columnWidth(col) >= wanted_width(table, col), col.name
    shown = sum(table.columnWidth(c) for c in Column)
    assert shown <= table.viewport().width() + 1, "no sideways scroll"
    name = table.columnWidth(Column.NAME)
    assert name >= 18 * table.fontMetrics().averageCharWidth(), name  # a name's start and end are read
    assert isinstance(table.itemDelegateForColumn(Column.NAME), ElideMiddle)
    title = LONG.replace("_", " ")
    row = next(r for r in range(3) if window.list.proxy.index(r, Column.NAME).data() == title)
    cell = window.list.proxy.index(row, Column.NAME)
    assert table.fontMetrics().horizontalAdvance(cell.data()) > name, "long enough to be cut"
    assert cell.data(Qt.ItemDataRole.ToolTipRole) == f"{title}\n{long_file.name}", "whole, with its file"


def test_titles_alike_at_both_ends_keep_what_tells_them_apart(qtbot, make_window: WindowFactory,
                                                               migrations: MigrationDir) -> None:
    """A middle cut made a run of batches all read "backfill …om legacy" in the default split."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    for i in range(6):
        migrations.add(f"backfill_customer_invoice_totals_batch_{i:02d}_for_the_2019_accounts_migrated_from_legacy",
                       "SELECT 1;\n")
    window = make_window()
    table, proxy = window.list.table, window.list.proxy
    qtbot.waitUntil(lambda: proxy.rowCount() == 6 and table.viewport().width() > 0, timeout=DEADLINE_MS)
    delegate = table.itemDelegateForColumn(Column.NAME)
    painted = []
    for row in range(6):
        index = proxy.index(row, Column.NAME)
        option = QStyleOptionViewItem()
        table.initViewItemOption(option)
        option.rect = table.visualRect(index)
        delegate.initStyleOption(option, index)  # the text the cell is painted with
        assert option.text != index.data(), "cut at the default size"
        assert table.fontMetrics().horizontalAdvance(option.text) <= table.columnWidth(Column.NAME)
        painted.append(option.text)
    assert all(f"batch {i:02d}" in t for i, t in enumerate(painted)), painted  # rows in version order
