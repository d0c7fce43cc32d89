"""The views' promises: the list's columns, sort and filter and the splitters remembered; one status
line; the window never resizes itself; "Open after saving" that cannot open says so; plurals;
`--theme dark` and `--env NAME` at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel

from app.core.text import counted as count
from app.gui.migration_model import Column
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, confirm_run, is_kind


def test_columns_sort_filter_and_splitters_are_remembered(qtbot, make_window: WindowFactory,
                                                          migrations: MigrationDir, settings: QSettings) -> None:
    migrations.add("alpha", "SELECT 1;\n")
    migrations.add("beta", "SELECT 1;\n")
    migrations.add("gamma", "SELECT 1;\n")
    window = make_window()
    window.list.table.sortByColumn(Column.NAME, Qt.SortOrder.DescendingOrder)
    window.list.table.setColumnWidth(Column.STATE, 160)
    window.list.search.setText("a")  # all three have an a
    window.list.state_filter.setCurrentIndex(window.list.state_filter.findText("Pending"))
    window.resize(760, 700)  # within the offscreen screen: restoreGeometry keeps a window on its screen
    QApplication.processEvents()
    window.top_splitter.setSizes([420, 320])
    window.splitter.setSizes([300, 200])
    sizes = window.top_splitter.sizes(), window.splitter.sizes()
    window.close()

    again = make_window()
    table = again.list.table
    header = table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (Column.NAME, Qt.SortOrder.DescendingOrder)
    assert table.columnWidth(Column.STATE) == 160
    assert again.list.search.text() == "a" and again.list.state_filter.currentText() == "Pending"
    names = [again.list.proxy.index(r, Column.NAME).data() for r in range(again.list.proxy.rowCount())]
    assert names == sorted(names, reverse=True) and len(names) == 3, "the remembered order, after the refresh"
    QApplication.processEvents()
    assert again.size() == window.size()
    for splitter, before in ((again.top_splitter, sizes[0]), (again.splitter, sizes[1])):
        first, second = splitter.sizes()  # the same share of what the window gives it
        assert abs(first / (first + second) - before[0] / sum(before)) < 0.02, (splitter.sizes(), before)


def test_the_state_filter_lists_each_choice_once(make_window: WindowFactory) -> None:
    combo = make_window().list.state_filter
    items = [combo.itemText(i) for i in range(combo.count())]
    assert len(items) == len(set(items)), items


def test_one_status_line_and_the_window_never_resizes_itself(qtbot, make_window: WindowFactory,
                                                             migrations: MigrationDir) -> None:
    migrations.add("first", "CREATE TABLE first_t (id int);\n")
    window = make_window()
    window.resize(900, 600)
    QApplication.processEvents()
    size = window.size()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        confirm_run(qtbot, window, window.act_run.trigger)  # the run, then the window's own refresh
    assert window.snapshot.status.counts["applied"] == 1
    shown = [window.progress.bar.format(), window.statusBar().currentMessage()]
    shown += [w.text() for w in window.findChildren(QLabel) if w.isVisible()]
    assert sum("1 migration applied" in t for t in shown) == 1, shown
    assert window.statusBar().currentMessage().startswith("1 migration · health")

    long = "x" * 400
    migrations.add("a_very_long_name_" + "y" * 150, f"SELECT no_such_function_{long}();\n")
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        window.refresh()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        confirm_run(qtbot, window, window.act_run.trigger)
    assert done.args[1] == "failed"
    assert window.error_panel.isVisible()
    QApplication.processEvents()
    assert window.size() == size, "a long error or name does not widen the window"
    assert window.progress.bar.format().startswith("failed: ")


def test_open_after_saving_that_cannot_open_says_so_in_the_window(qtbot, make_window: WindowFactory,
                                                                  database: Database, migrations: MigrationDir,
                                                                  tmp_path: Path) -> None:
    pytest.importorskip("app.report.reporter")
    migrations.add("one", "SELECT 1;\n")
    window = make_window(name="staging")
    window.open_file = lambda _path: False  # the desktop has no application for JSON files
    out = tmp_path / "report.json"
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("export")) as done:
        window.export_report(out, "json", open_after=True)
    assert done.args[1] == "ok" and out.is_file()
    said = window.progress.bar.format()
    assert said.startswith(f"report written: {out}") and "could not open it" in said, said
    assert f"could not open {out}" in window.log.text()


def test_lint_counts_in_words(qtbot, make_window: WindowFactory, database: Database,
                              migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    migrations.add("index_email", "CREATE INDEX users_email ON users (email);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("lint")) as done:
        window.act_lint.trigger()
    result = done.args[2]
    assert window.progress.bar.format() == (f"lint: {count(len(result.errors), 'error')}, "
                                            f"{count(len(result.warnings), 'warning')}")
    assert len(result.errors) + len(result.warnings) >= 1


PROBE = """
import sys
from app.gui import app

def probe(qapp, window):
    from PySide6.QtWidgets import QApplication
    QApplication.processEvents()
    image = window.grab().toImage()
    print(window.windowTitle())
    print(image.pixelColor(image.width() - 5, image.height() // 2).lightness())
    window.close()
    return 0

app._self_test = probe
sys.exit(app.main(sys.argv[1:]))
"""


def _start(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIDEMARK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", PROBE, "--self-test", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_theme_dark_paints_a_dark_window_from_the_start(tmp_path: Path) -> None:
    dark = _start("--theme", "dark", home=tmp_path)
    assert dark.returncode == 0, dark.stderr
    assert int(dark.stdout.split()[-1]) < 90
    light = _start("--theme", "light", home=tmp_path)
    assert int(light.stdout.split()[-1]) > 180


def test_env_name_opens_that_environment_and_unknown_options_exit_2(saved: dict[str, Database],
                                                                    home: Path) -> None:
    for option in ("--environment", "--env"):
        opened = _start(option, "us", home=home / "home")
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.splitlines()[0] == "Tidemark — us"
    unknown = _start("--env", "nowhere", home=home / "home")
    assert unknown.returncode == 2
    assert "no saved environment 'nowhere' (there are: eu, prod-ap, us)" in unknown.stderr
    wrong = _start("--colour", "red", home=home / "home")
    assert wrong.returncode == 2 and wrong.stderr.startswith("usage: tidemark-gui")
    assert "unrecognized arguments: --colour red" in wrong.stderr


def test_a_card_line_too_long_for_its_card_ends_in_an_ellipsis(qtbot) -> None:
    from app.gui.cards import Card

    card = Card("Health")
    qtbot.addWidget(card)
    card.resize(200, 80)
    card.show()
    long = "20260101000006_orders_total_not_null.sql failed and was rolled back"
    card.set("error", long)
    qtbot.waitUntil(lambda: card.sub.width() > 0)
    shown = card.sub.text()
    assert shown.endswith("…") and long.startswith(shown[:-1]), shown  # not cut mid-letter at the edge
    assert card.sub.full == long and card.sub.toolTip() == long
    assert card.sub.fontMetrics().horizontalAdvance(shown) <= card.sub.contentsRect().width()
    card.set("ok", "short")
    assert card.sub.text() == "short" and card.sub.toolTip() == ""


def test_the_window_scrolls_only_when_its_content_cannot_fit(qtbot, settings, tmp_path: Path) -> None:
    from app.core.errors import MigrationFailed, ServerErrorInfo
    from tests.gui.conftest import open_window

    window = open_window(qtbot, settings, [])
    window.resize(1280, 820)
    qtbot.waitExposed(window)
    f = tmp_path / "20260101000005_bad_totals.sql"
    f.write_text("CREATE TABLE totals (id int);\n\nINSERT INTO totals VALUES (1 / 0);\n", encoding="utf-8")
    window.error_panel.show_error("Run failed", MigrationFailed(
        f"{f.name} failed and was rolled back; nothing of it remains, 2 later migrations did not run",
        ServerErrorInfo("division by zero", sqlstate="22012", file=f, line=3)))
    holder = window.centralWidget()
    content = holder.widget()
    QApplication.processEvents()
    # Room for every part at its minimum (plus a little), less than they would like: no scroll bar.
    window.resize(1280, window.height() - holder.viewport().height() + content.minimumSizeHint().height() + 20)
    QApplication.processEvents()
    assert content.minimumSizeHint().height() + 20 <= holder.viewport().height()
    assert not holder.verticalScrollBar().isVisible(), (content.height(), holder.viewport().height())
    window.resize(1280, window.height() - 60)  # now too small: it scrolls, the window keeps its size
    QApplication.processEvents()
    assert holder.verticalScrollBar().isVisible()
