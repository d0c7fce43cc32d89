"""Migrations ▸ Lint pending: the findings in a window; a double-click shows the line in the SQL."""

from __future__ import annotations

from app.gui.lint_view import LintDialog
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def test_lint_pending_lists_findings_and_goes_to_the_line(qtbot, make_window: WindowFactory, database: Database,
                                                          migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    f = migrations.add("index_email", "-- Migration: index email\n\nCREATE INDEX users_email ON users (email);\n")
    window = make_window()
    assert window.act_lint.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "lint") as done:
        window.act_lint.trigger()
    assert done.args[1] == "ok", window.last_error
    dialog = window.last_dialog
    assert isinstance(dialog, LintDialog) and dialog.table.rowCount() >= 1
    where = dialog.table.item(0, 1).text()
    assert where == f"{f.name}:3", where
    window.list.select_version("")  # nothing selected yet
    with qtbot.waitSignal(window.details.file_shown, timeout=DEADLINE_MS):  # its text, read off the UI thread
        dialog.table.cellDoubleClicked.emit(0, 1)
    assert window.list.current() is not None and window.list.current().name == f.name
    assert window.details.sql.extraSelections(), "the line is marked"
    assert window.details.sql.textCursor().blockNumber() == 2


def _lint_dialog(qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> object:
    """The lint dialog of a migration adding an index without CONCURRENTLY (a finding that wraps)."""
    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    migrations.add("index_email", "CREATE INDEX users_email ON users (email);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "lint"):
        window.act_lint.trigger()
    return window.last_dialog


def test_lint_findings_wrap_within_the_window(qtbot, make_window: WindowFactory, database: Database,
                                             migrations: MigrationDir) -> None:
    dialog = _lint_dialog(qtbot, make_window, database, migrations)
    dialog.resize(900, 400)
    qtbot.waitExposed(dialog)
    table, header = dialog.table, dialog.table.horizontalHeader()
    # the Problem and Safer way columns end inside the view: they were cut at its edge
    assert header.sectionViewportPosition(4) + header.sectionSize(4) <= table.viewport().width() + 1
    lines = table.rowHeight(0) // table.fontMetrics().lineSpacing()
    assert lines >= 2, "the long problem wraps onto more lines"
    qtbot.waitUntil(lambda: table.rowHeight(0) < 8 * table.fontMetrics().lineSpacing())  # not sized when narrow


def test_a_wrapped_finding_has_room_above_and_below_its_lines(qtbot, make_window: WindowFactory, database: Database,
                                                             migrations: MigrationDir) -> None:
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    from app.gui.sizing import ROW_PADDING

    dialog = _lint_dialog(qtbot, make_window, database, migrations)
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert table.verticalHeader().isHidden(), "no row numbers: Where says the file and line"
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)

    def bare(column: int) -> int:  # the cell's lines alone, at its column's width
        option.rect = QRect(0, 0, table.columnWidth(column), 100)
        return QStyledItemDelegate().sizeHint(option, table.model().index(0, column)).height()

    qtbot.waitUntil(lambda: table.rowHeight(0) == table.sizeHintForRow(0), timeout=DEADLINE_MS)  # settled
    assert table.rowHeight(0) >= max(map(bare, range(table.columnCount()))) + ROW_PADDING // 2


def test_the_problem_gets_the_room_where_and_rule_are_bounded(qtbot, make_window: WindowFactory, database: Database,
                                                             migrations: MigrationDir) -> None:
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    migrations.add("index_the_customer_email_addresses_for_the_nightly_billing_lookup",
                   "CREATE INDEX users_email ON users (email);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "lint"):
        window.act_lint.trigger()
    dialog = window.last_dialog
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    qtbot.waitUntil(lambda: table.rowHeight(0) == table.sizeHintForRow(0), timeout=DEADLINE_MS)  # settled
    width = table.viewport().width()
    where, rule, problem = (table.columnWidth(c) for c in (1, 2, 3))
    assert where <= width // 5 and rule <= width // 6, (where, rule, width)
    assert problem >= width * 3 // 10, (problem, width)
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    option.rect = QRect(0, 0, problem, 1000)
    height = QStyledItemDelegate().sizeHint(option, table.model().index(0, 3)).height()
    lines = height // option.fontMetrics.lineSpacing()
    assert lines <= 3, f"the problem reads in {lines} lines"
    cell = table.item(0, 1)
    assert table.fontMetrics().horizontalAdvance(cell.text()) > where, "the long file name is cut"
    assert cell.toolTip().startswith(str(migrations.path)), "its whole path and line in the tooltip"
    assert table.item(0, 2).text() in table.item(0, 2).toolTip()
    assert table.itemDelegateForColumn(1) is not None and table.itemDelegateForColumn(2) is not None
    # cut on one line, not wrapped over several
    assert table.rowHeight(0) <= max(3, lines) * table.fontMetrics().lineSpacing() + 2 * table.fontMetrics().height()
    assert Qt.TextElideMode.ElideMiddle == table.itemDelegateForColumn(1).mode
