"""The error panel's SQL box: as tall as the file's lines, no empty row for the final newline or for a
horizontal scroll bar that does not show."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import MigrationFailed, ServerErrorInfo
from app.gui.error_panel import ErrorPanel


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
    panel.show_error("Run failed", MigrationFailed(f"{f.name} failed", ServerErrorInfo("division by zero", file=f,
                                                                                       line=3)))
    assert panel.sql.line_count() == 3
    assert _rows(panel) == 3, "three lines, three rows: none for the final newline or a hidden scroll bar"
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.sql.verticalScrollBar().maximum() == 0, "all three lines in view: the failing last one not cut"
    wide = tmp_path / "20260101000002_wide.sql"
    wide.write_text("SELECT " + ", ".join(f"column_{i}" for i in range(80)) + " FROM t;\n", encoding="utf-8")
    panel.show_error("Run failed", MigrationFailed(f"{wide.name} failed", ServerErrorInfo("no t", file=wide, line=1)))
    bar = panel.sql.horizontalScrollBar().sizeHint().height()
    assert panel.sql.maximumHeight() >= panel.sql.fontMetrics().lineSpacing() + bar, "room for the scroll bar it needs"
