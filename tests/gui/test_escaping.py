"""Text from files and servers shows its control characters in the app's plain-text widgets.

Qt draws no terminal escapes, but it does honour a bidi override (U+202E makes `DROP` read
backwards) and draws most other controls as nothing: the reader would not know they are there.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt

from app.core.errors import MigrationFailed, ServerErrorInfo
from app.core.progress import Phase, ProgressEvent
from app.core.status import Failure, MigrationInfo, State
from app.gui.error_panel import ErrorPanel
from app.gui.migration_model import Column, MigrationTableModel
from app.gui.progress_panel import LogPanel, ProgressPanel
from app.gui.sql_view import SqlView
from tests.gui.conftest import read_by_worker as read

EVIL = "ok\x1b[2J\x9b1A\u202ePORD\x07"
SHOWN = "ok\\x1b[2J\\x9b1A\\u202ePORD\\x07"
RAW = ("\x1b", "\x9b", "\u202e", "\x07")


def _no_raw(text: str) -> None:
    assert not [c for c in RAW if c in text], repr(text)


def test_log_and_progress_show_controls(qtbot: object) -> None:
    log = LogPanel()
    qtbot.addWidget(log)  # type: ignore[attr-defined]
    log.add(f"applied {EVIL}")
    text = log.text()
    _no_raw(text)
    assert SHOWN in text
    panel = ProgressPanel()
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.start("migrate")
    panel.on_event(ProgressEvent(Phase.STATEMENT_DONE, migration=f"m_{EVIL}.sql", index=1, total=2,
                                 statement=f"SELECT '{EVIL}'", line=3, elapsed_ms=1.0))
    panel._show_last()
    assert SHOWN in panel.migration.text() and SHOWN in panel.statement.text()
    panel.stop(f"failed: {EVIL}")
    # The outcome is said once, on the bar and its tooltip; the line under it is cleared.
    assert panel.bar.format() == f"failed: {SHOWN}" and panel.bar.toolTip() == f"failed: {SHOWN}"
    assert panel.migration.text() == ""


def test_sql_view_and_error_panel_show_controls(qtbot: object, tmp_path: Path) -> None:
    view = SqlView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.show_sql(f"SELECT 1;\nCOMMENT ON TABLE t IS '{EVIL}';\n", 2)
    assert view.toPlainText() == f"SELECT 1;\nCOMMENT ON TABLE t IS '{SHOWN}';\n"  # lines kept
    assert view.textCursor().blockNumber() == 1
    f = tmp_path / "20260101000001_x.sql"
    f.write_text(f"SELECT '{EVIL}';\n")
    panel = ErrorPanel()
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    info = ServerErrorInfo(f"bad {EVIL}", "P0001", detail=f"d {EVIL}", hint=f"<b>h</b> {EVIL}", file=f, line=1)
    panel.show_error("migrate failed", read(MigrationFailed(f"{f.name} failed {EVIL}", info)))
    assert panel.title.textFormat() == Qt.TextFormat.PlainText
    for shown in (panel.title.text(), panel.body.text(), panel.sql.toPlainText()):
        _no_raw(shown)
        assert SHOWN in shown
    assert "&lt;b&gt;h&lt;/b&gt;" in panel.body.text()  # still escaped for the rich-text body
    panel.show_error("status failed", RuntimeError(f"boom {EVIL}\nmore {EVIL}"))
    assert SHOWN in panel.title.text() and SHOWN in panel.body.text()


def test_migration_table_shows_controls_in_titles_and_tooltips() -> None:
    model = MigrationTableModel()
    model.set_rows([MigrationInfo("20260101000001", "20260101000001_x.sql", State.FAILED, title=f"t {EVIL}",
                                  failure=Failure(datetime(2026, 1, 2), f"bad {EVIL}", "m/x.sql", 3, 5, "P0001"))])
    name = model.index(0, Column.NAME)
    assert name.data() == f"t {SHOWN}"
    assert name.data(Qt.ItemDataRole.ToolTipRole) == f"m/x.sql:3: bad {SHOWN}"


def test_the_error_title_does_not_repeat_the_file_and_line_shown_under_it(qtbot, tmp_path: Path) -> None:
    f = tmp_path / "20260101000006_totals.sql"
    f.write_text("SELECT 1;\nSELECT 1 / 0;\n")
    panel = ErrorPanel()
    qtbot.addWidget(panel)
    info = ServerErrorInfo("division by zero", "22012", file=f, line=2)
    panel.show_error("Run failed", MigrationFailed(f"{f.name} failed and was rolled back", info))  # its str starts f:2
    assert panel.title.text() == f"Run failed: {f.name} failed and was rolled back"
    assert panel.location.text() == f"at {f}:2"


def test_the_failing_sql_box_is_as_tall_as_a_short_file(qtbot, tmp_path: Path) -> None:
    from app.gui.error_panel import SQL_HEIGHT

    panel = ErrorPanel()
    qtbot.addWidget(panel)
    short, long = tmp_path / "20260101000001_short.sql", tmp_path / "20260101000002_long.sql"
    short.write_text("SELECT 1;\nSELECT 1 / 0;\n")
    long.write_text("SELECT 1;\n" * 60)
    panel.show_error("Run failed", read(MigrationFailed("failed", ServerErrorInfo("division by zero", file=short,
                                                                                 line=2))))
    height = panel.sql.maximumHeight()
    line = panel.sql.fontMetrics().lineSpacing()
    assert line * 2 <= height < line * 3 < SQL_HEIGHT  # its two lines, no empty third (was 170 px once)
    panel.show_error("Run failed", read(MigrationFailed("failed", ServerErrorInfo("x", file=long, line=30))))
    assert panel.sql.maximumHeight() == SQL_HEIGHT


def test_an_outcome_too_long_for_the_bar_ends_in_an_ellipsis(qtbot) -> None:
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    words = "failed: 20260101000006_totals.sql failed and was rolled back; nothing of it remains, " \
            "3 later migrations did not run"
    panel.stop(words + " and more words to make it long enough")
    shown = panel.bar.format()
    assert len(shown) == 120 and shown.endswith("…") and words.startswith(shown[:-1][:100])
    panel.stop("failed: short")
    assert panel.bar.format() == "failed: short"
