"""Right-click menus on the migration list and the SQL pane; default export names; plurals."""

from __future__ import annotations

import csv
import datetime as dt
import io

from PySide6.QtGui import QGuiApplication

from app.gui.context_menus import as_csv, as_markdown, list_menu, sql_menu
from app.gui.window_actions import export_file_name
from tests.conftest import Database, MigrationDir, run_cli
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def _action(menu, text: str):
    for a in menu.actions():
        if a.text().replace("&", "").startswith(text):
            return a
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def test_list_menu_copies_name_markdown_and_csv(qtbot, make_window: WindowFactory, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    migrations.add("pipe_name", "SELECT 1;\n")
    window = make_window()
    assert window.list.select_version("20260101000001")
    menu = list_menu(window, window.list.current())
    clipboard = QGuiApplication.clipboard()
    _action(menu, "Copy name").trigger()
    assert clipboard.text() == "20260101000001_users.sql"
    markdown = _action(menu, "Copy list as Markdown (2 rows)")
    markdown.trigger()
    lines = clipboard.text().splitlines()
    assert lines[0].startswith("| ") and "|---|" in lines[1] and len(lines) == 4
    assert lines[3].startswith("| pending | 20260101000002 | pipe name |"), "the columns as shown"
    _action(menu, "Copy list as CSV").trigger()
    rows = list(csv.reader(io.StringIO(clipboard.text())))
    assert len(rows) == 3 and rows[1][1:3] == ["20260101000001", "users"]
    assert _action(menu, "Open the file").isEnabled()
    # The filter narrows what is copied, and the count says so.
    window.list.search.setText("users")
    assert _action(list_menu(window, window.list.current()), "Copy list as Markdown (1 row)")


def test_show_in_history_selects_the_migrations_newest_event(qtbot, make_window: WindowFactory, database: Database,
                                                             migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);\n")
    args = ["--dsn", database.dsn, "--migrations-dir", str(migrations.path)]
    assert run_cli("migrate", *args).code == 0
    window = make_window()
    assert window.list.select_version("20260101000001")
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "history"):
        _action(list_menu(window, window.list.current()), "Show in history").trigger()
    dialog = window.last_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=DEADLINE_MS)
    rows = dialog.table.selectionModel().selectedRows()
    assert len(rows) == 1 and dialog.model.event_at(rows[0].row()).migration_name == "20260101000001_a.sql"
    assert rows[0].row() == 1, "b's apply is newer, above it"


def test_sql_menu_copies_all(qtbot, make_window: WindowFactory, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    window = make_window()
    with qtbot.waitSignal(window.details.file_shown, timeout=DEADLINE_MS):  # read off the UI thread
        assert window.list.select_version("20260101000001")
    sql = window.details.sql
    menu = sql_menu(sql)
    assert _action(menu, "Copy") and _action(menu, "Select All")
    _action(menu, "Copy all").trigger()
    assert QGuiApplication.clipboard().text() == "CREATE TABLE users (id int);\n"
    _action(menu, "Find").trigger()
    assert sql.findable.bar.isVisibleTo(window)


def test_export_names_are_safe_and_stamped() -> None:
    at = dt.datetime(2026, 12, 3, 15, 4, tzinfo=dt.UTC)
    assert export_file_name("staging", "pdf", at) == "tidemark-staging-20261203-1504.pdf"
    assert export_file_name("postgres@db.example:5432/app prod", "html", at) == \
        "tidemark-postgres-db.example-5432-app-prod-20261203-1504.html"
    assert export_file_name("../../etc/passwd", "json", at) == "tidemark-etc-passwd-20261203-1504.json"
    assert export_file_name("..", "pdf", at) == "tidemark-database-20261203-1504.pdf"
    assert export_file_name("продакшн", "pdf", at) == "tidemark-database-20261203-1504.pdf"
    local = dt.datetime(2026, 12, 3, 17, 4, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert export_file_name("x", "pdf", local) == "tidemark-x-20261203-1504.pdf", "the stamp is UTC"


def test_markdown_and_csv_escape_what_would_break_them() -> None:
    md = as_markdown(["name"], [["a|b\nc"]])
    assert md.splitlines()[2] == "| a\\|b c |"
    text = as_csv(["name", "note"], [["=HYPERLINK(\"x\")", "ok, fine"]])
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=HYPERLINK(\"x\")", "ok, fine"]


def test_counts_are_in_the_singular_for_one(make_window: WindowFactory, migrations: MigrationDir) -> None:
    from app.core.text import counted as count

    migrations.add("only", "SELECT 1;\n")
    window = make_window()
    assert window.statusBar().currentMessage().startswith("1 migration · ")
    assert [count(1, "environment"), count(2, "environment"), count(3, "batch", "batches")] == \
        ["1 environment", "2 environments", "3 batches"]
