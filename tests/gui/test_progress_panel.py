"""The progress area and the log: no empty band while idle, no "0.0 s" before a job has a duration,
and a log that keeps five lines when the error panel opens."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.core.errors import MigrationFailed, ServerErrorInfo
from app.core.progress import Phase, ProgressEvent
from app.gui.progress_panel import LOG_MIN_LINES, ProgressPanel
from tests.gui.conftest import open_window


def test_idle_progress_area_is_one_row_and_a_job_shows_its_lines_without_resizing_the_window(
        qtbot, settings) -> None:
    window = open_window(qtbot, settings, [])
    window.resize(1000, 700)
    qtbot.waitExposed(window)
    panel = window.progress
    bar_row = max(panel.bar.sizeHint().height(), panel.cancel_button.sizeHint().height())
    assert not panel.detail.isVisible()
    assert panel.height() <= bar_row + 2, "no empty band under the bar while nothing runs"
    size = window.size()
    panel.start("Refreshing…")
    QApplication.processEvents()
    assert not panel.detail.isVisible(), "a job without migrations: the log does not jump"
    panel.on_event(ProgressEvent(Phase.MIGRATION_START, index=1, total=2, migration="20260101000001_a.sql"))
    qtbot.waitUntil(panel.detail.isVisible, timeout=5000)
    assert panel.migration.text() == "running 20260101000001_a.sql  (1 of 2)"
    QApplication.processEvents()
    assert window.size() == size, "a job starting never resizes the window"
    panel.stop("done: 1 migration applied in 20 ms")
    assert not panel.detail.isVisible()
    QApplication.processEvents()
    assert window.size() == size


def test_no_elapsed_time_until_a_job_has_one(qtbot) -> None:
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    assert panel.elapsed.text() == ""
    panel.start("Refreshing…")
    assert panel.elapsed.text() == "", "not 0.0 s as the job starts"
    panel.stop("up to date")  # a status read in a few ms: nothing worth a time
    assert panel.elapsed.text() == ""
    panel.start("Running…")
    qtbot.waitUntil(lambda: panel.elapsed.text().endswith(" s"), timeout=5000)  # the clock ticks from 0.1 s
    assert float(panel.elapsed.text().split()[0]) >= 0.1
    panel.stop("done")
    shown = panel.elapsed.text()
    panel.stop("rollback planned: 1 migration")  # an outcome without a new job: the last job's time stays
    assert panel.elapsed.text() == shown


def test_the_log_keeps_five_lines_when_the_error_panel_opens(qtbot, settings, tmp_path: Path) -> None:
    window = open_window(qtbot, settings, [])
    window.resize(1000, 640)
    qtbot.waitExposed(window)
    window.splitter.setSizes([10_000, 1])  # the log's pane dragged as small as it goes
    sql = tmp_path / "20260101000001_bad.sql"
    sql.write_text("".join(f"INSERT INTO t VALUES ({i});\n" for i in range(40)), encoding="utf-8")
    info = ServerErrorInfo("relation \"t\" does not exist", sqlstate="42P01", detail="a detail " * 20,
                           hint="a hint " * 20, file=sql, line=30)
    window.error_panel.show_error("Run failed", MigrationFailed(f"{sql.name} failed", info))
    qtbot.waitUntil(window.error_panel.isVisible, timeout=5000)
    QApplication.processEvents()
    lines = window.log.viewport().height() // window.log.fontMetrics().lineSpacing()
    assert lines >= LOG_MIN_LINES, lines


def test_the_bar_counts_migrations_when_a_statement_event_is_the_newest(qtbot) -> None:
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.start("Rolling back…")
    name = "20260101000002_b.sql"
    panel.on_event(ProgressEvent(Phase.MIGRATION_START, index=2, total=3, migration=name, message="rollback"))
    panel.on_event(ProgressEvent(Phase.STATEMENT_DONE, migration=name, statement="DROP TABLE b", line=1))
    qtbot.waitUntil(lambda: panel.bar.format() == "1 of 3", timeout=5000)  # one repaint shows the newest only
    assert (panel.bar.value(), panel.bar.maximum()) == (1, 3)
    assert panel.migration.text() == f"rolling back {name}  (2 of 3)"
    assert panel.statement.text().startswith("last statement done: line 1: DROP TABLE b")


def test_a_long_log_line_wraps_instead_of_scrolling_sideways_or_widening_the_window(qtbot, settings) -> None:
    window = open_window(qtbot, settings, [])
    window.resize(900, 640)
    qtbot.waitExposed(window)
    size = window.size()
    path = "/srv/" + "/".join(f"deploy_folder_{i}" for i in range(30)) + "/20260101000005_bad_totals.sql"
    window.log.add(f"Run failed: {path}:3: division by zero")
    window.log.flush()
    QApplication.processEvents()
    assert window.log.horizontalScrollBar().maximum() == 0, "nothing hidden to the right"
    assert window.log.document().lastBlock().layout().lineCount() > 1
    assert window.size() == size


def test_a_cancelled_run_keeps_the_part_it_did_on_the_bar(qtbot) -> None:
    """Seen in the screenshots: cancelled after 1 of 2, the bar kept the value 1 out of a new range
    of 100, a sliver at its left end. It shows the half done; a job with no count shows nothing done."""
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.start("Running…")
    panel.on_event(ProgressEvent(Phase.MIGRATION_DONE, index=1, total=2, migration="20260101000001_a.sql"))
    qtbot.waitUntil(lambda: panel.bar.format() == "1 of 2", timeout=5000)
    panel.stop("cancelled")
    assert (panel.bar.minimum(), panel.bar.maximum(), panel.bar.value()) == (0, 100, 50)
    assert panel.bar.format() == "cancelled"
    panel.start("Refreshing…")
    panel.stop("ready")
    assert panel.bar.value() == 0
    panel.start("Running…")
    panel.stop("done: 2 migrations applied in 1.0 s")
    assert panel.bar.value() == 100
