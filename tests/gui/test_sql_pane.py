"""The SQL pane: line numbers in theme colours, Ctrl+F find in the SQL and the log (F3, Shift+F3,
Escape), Edit ▸ Find on the focused pane and the migration filter elsewhere, a wider default split."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from app.gui import theme
from app.gui.find_bar import findable_of
from app.gui.sql_view import SqlView
from tests.conftest import MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory

SQL = "CREATE TABLE users (id int);\n" + "".join(f"-- filler line {i}\n" for i in range(1, 120)) + \
      "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\n"


def test_gutter_numbers_every_line_in_theme_colours(qtbot) -> None:
    view = SqlView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show_sql("\n".join(f"SELECT {i};" for i in range(1, 1201)))
    view.show()
    qtbot.waitExposed(view)
    # Four digits fit: the gutter widened with the line count and the text starts right of it.
    assert view.gutter.width() >= view.fontMetrics().horizontalAdvance("1200")
    assert view.viewportMargins().left() == view.gutter.width()
    image = view.gutter.grab().toImage()
    t = theme.current()
    assert image.pixelColor(1, 1) == QColor(t.code_bg)
    colours = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(min(image.height(), 40))}
    assert len(colours) > 2, "numbers are painted on the background"
    assert theme.contrast(t.muted, t.code_bg) >= 4.5


def test_find_in_sql_pane_next_previous_and_escape(qtbot, make_window: WindowFactory,
                                                   migrations: MigrationDir) -> None:
    migrations.add("users", SQL)
    window = make_window()
    assert window.list.select_version("20260101000001")
    sql = window.details.sql
    qtbot.waitUntil(lambda: "ALTER TABLE" in sql.toPlainText(), timeout=DEADLINE_MS)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    sql.setFocus()
    qtbot.waitUntil(sql.hasFocus, timeout=DEADLINE_MS)
    qtbot.keyClick(sql, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    bar = findable_of(sql).bar
    qtbot.waitUntil(lambda: bar.isVisible() and bar.field.hasFocus(), timeout=DEADLINE_MS)
    qtbot.keyClicks(bar.field, "users")
    # 4 matches: the table, ALTER TABLE users, users_email and ON users.
    assert bar.matches == "1 of 4"
    assert sql.textCursor().blockNumber() == 0
    qtbot.keyClick(bar.field, Qt.Key.Key_F3)
    assert bar.matches == "2 of 4" and sql.textCursor().blockNumber() == 120
    qtbot.keyClick(bar.field, Qt.Key.Key_Return)
    assert bar.matches == "3 of 4" and sql.textCursor().blockNumber() == 121
    qtbot.keyClick(bar.field, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert bar.matches == "2 of 4"
    for _ in range(3):
        qtbot.keyClick(bar.field, Qt.Key.Key_F3)
    assert bar.matches == "1 of 4", "wraps around after the last match"
    assert sql.textCursor().selectedText() == "users"
    marks = [s for s in sql.extraSelections() if s.format.hasProperty(0x100100)]
    assert len(marks) == 4
    sql.setFocus()
    qtbot.keyClick(sql, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "users", "Ctrl+C copies the selection"
    bar.field.setFocus()
    qtbot.keyClicks(bar.field, "_nothing")
    assert bar.matches == "no match"
    bar.field.setText("users")
    assert bar.matches == "1 of 4"
    # Another migration's SQL under the open bar: counted and marked again.
    migrations.add("other", "SELECT 1 FROM users;\n")
    window.refresh()
    qtbot.waitUntil(lambda: window.list.select_version("20260101000002"), timeout=DEADLINE_MS)
    qtbot.waitUntil(lambda: "FROM users" in sql.toPlainText(), timeout=DEADLINE_MS)
    assert bar.matches == "1 match"
    assert len([s for s in sql.extraSelections() if s.format.hasProperty(0x100100)]) == 1
    bar.field.setFocus()
    qtbot.keyClick(bar.field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not bar.isVisible() and sql.hasFocus(), timeout=DEADLINE_MS)
    assert not [s for s in sql.extraSelections() if s.format.hasProperty(0x100100)], "marks go with the bar"


def test_find_in_the_log_and_filter_elsewhere(qtbot, make_window: WindowFactory) -> None:
    window = make_window()
    window.log.add("first needle")
    window.log.add("second needle")
    window.log.flush()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    window.log.setFocus()
    qtbot.waitUntil(window.log.hasFocus, timeout=DEADLINE_MS)
    window.act_find.trigger()
    bar = findable_of(window.log).bar
    qtbot.waitUntil(bar.field.hasFocus, timeout=DEADLINE_MS)
    qtbot.keyClicks(bar.field, "needle")
    assert bar.matches == "1 of 2"
    window.act_find_next.trigger()
    assert bar.matches == "2 of 2" and "second" in window.log.textCursor().block().text()
    # Focus outside the panes: Find is the migration filter, as before.
    window.list.table.setFocus()
    qtbot.waitUntil(lambda: findable_of(window.focusWidget()) is None, timeout=DEADLINE_MS)
    window.act_find.trigger()
    qtbot.waitUntil(window.list.search.hasFocus, timeout=DEADLINE_MS)


def test_sql_side_holds_a_line_of_sql_by_default(qtbot, make_window: WindowFactory) -> None:
    # The list's columns take the larger share (see test_migration_list_fit); the SQL keeps ~64 characters.
    window = make_window()
    view = window.details.sql
    qtbot.waitUntil(lambda: view.viewport().width() > 0, timeout=DEADLINE_MS)
    assert view.viewport().width() >= 64 * view.fontMetrics().horizontalAdvance("M"), window.top_splitter.sizes()


def _numbered_rows(view: SqlView) -> int:
    """How many line-height rows of the gutter have a number painted in them."""
    image = view.gutter.grab().toImage()
    background = QColor(theme.current().code_bg)
    step = view.fontMetrics().height()
    rows = 0
    for top in range(0, image.height() - step + 1, step):
        if any(image.pixelColor(x, y) != background for x in range(image.width()) for y in range(top, top + step)):
            rows += 1
    return rows


def test_no_line_number_beside_the_hint_or_after_the_final_newline(qtbot) -> None:
    view = SqlView(placeholder="Select a migration to see its SQL.")
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    view.show_sql(None)
    assert view.line_count() == 0
    assert _numbered_rows(view) == 0, "the hint is not line 1"
    view.show_sql("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n")
    assert view.document().blockCount() == 3 and view.line_count() == 2
    assert _numbered_rows(view) == 2, "no number for the empty line after the final newline"
    view.show_sql("SELECT 1;\n\nSELECT 2;")
    assert view.line_count() == 3 and _numbered_rows(view) == 3  # a blank line inside the file is numbered
