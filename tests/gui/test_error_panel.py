"""The error panel's SQL box: as tall as the file's lines, no empty row for the final newline or for a
horizontal scroll bar that does not show."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import MigrationFailed, ServerErrorInfo
from app.gui.error_panel import ErrorPanel
from tests.gui.conftest import read_by_worker as read


def _rows(panel: ErrorPanel) -> int:
    view = panel.sql
    inner = view.maximumHeight() - 2 * view.frameWidth() - int(2 * view.document().documentMargin())
    return inner // view.fontMetrics().lineSpacing()


def test_the_sql_box_has_no_empty_extra_row(qtbot, tmp_path: Path) -> None:
    panel = ErrorPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 400)
    f = tmp_path / "20260101000001_bad.sql"
    f.write_text("CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1 / 0);\n", encoding="utf-8")
    panel.show_error("Run failed", read(MigrationFailed(f"{f.name} failed", ServerErrorInfo("division by zero", file=f,
                                                                                            line=3))))
    assert panel.sql.line_count() == 3
    assert _rows(panel) == 3, "three lines, three rows: none for the final newline or a hidden scroll bar"
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.sql.verticalScrollBar().maximum() == 0, "all three lines in view: the failing last one not cut"
    wide = tmp_path / "20260101000002_wide.sql"
    wide.write_text("SELECT " + ", ".join(f"column_{i}" for i in range(80)) + " FROM t;\n", encoding="utf-8")
    panel.show_error("Run failed", read(MigrationFailed(f"{wide.name} failed", ServerErrorInfo("no t", file=wide,
                                                                                            line=1))))
    bar = panel.sql.horizontalScrollBar().sizeHint().height()
    assert panel.sql.maximumHeight() >= panel.sql.fontMetrics().lineSpacing() + bar, "room for the scroll bar it needs"


def test_the_failing_file_is_read_on_the_worker_not_the_ui_thread(qtbot, make_window, migrations,
                                                                  monkeypatch) -> None:
    import threading

    from tests.gui.conftest import DEADLINE_MS, confirm_run, is_kind

    bad = migrations.add("bad", "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1 / 0);\n")
    window = make_window()
    reads: list[bool] = []  # per read of the failing file: on the UI thread?
    opened, read_text = Path.open, Path.read_text

    def note(path: Path) -> None:
        if path.name == bad.name:
            reads.append(threading.current_thread() is threading.main_thread())

    def open_(self: Path, *args, **kwargs):
        note(self)
        return opened(self, *args, **kwargs)

    def read_text_(self: Path, *args, **kwargs):
        note(self)
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(Path, "read_text", read_text_)
    shown = window.error_panel.show_error

    def show_error(heading: str, error: object) -> None:
        before = len(reads)
        shown(heading, error)
        assert reads[before:] == [], "the panel read the file on the UI thread"

    monkeypatch.setattr(window.error_panel, "show_error", show_error)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        confirm_run(qtbot, window, window.run_pending)
    assert done.args[1] == "failed"
    assert window.error_panel.isVisible()
    assert "INSERT INTO b VALUES (1 / 0);" in window.error_panel.sql.toPlainText(), "the file's text, handed over"
    assert window.error_panel.sql.extraSelections()[0].cursor.blockNumber() == 2
    assert False in reads, "read on the worker's thread"
