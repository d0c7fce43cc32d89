"""Charts: with 60 long migration names, no two labels overlap, every label lies inside the chart and
its text fits its box (elided, the full name in the tooltip); times read as 20.0 s, not 20001 ms."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPoint, QRectF
from PySide6.QtGui import QFontMetrics

from app.gui.charts import BarChart, Layout, layout_columns, layout_rows

LONG = [(f"2026010100{i:04d}_backfill_the_customer_billing_addresses_for_tenant_{i:02d}_and_reindex.sql",
         float(20001 if i == 7 else 150 + 37 * i)) for i in range(60)]
SIZES = [(640, 320), (420, 200), (300, 160)]  # the pane's default, a narrower one, the chart's minimum


def _check(layout: Layout, width: int, height: int, fm: QFontMetrics) -> None:
    inside = QRectF(0, 0, width, height)
    for label in layout.labels:
        assert inside.contains(label.rect), (label.text, label.rect)
        assert fm.horizontalAdvance(label.text) <= label.rect.width() + 0.5, (label.text, label.rect)
    for a, b in itertools.combinations(layout.labels, 2):
        assert not a.rect.intersects(b.rect), (a.text, a.rect, b.text, b.rect)
    for bar in layout.bars:
        assert inside.contains(bar), bar


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("columns", [True, False], ids=["columns", "rows"])
def test_sixty_long_names_never_overlap_or_clip(qtbot, size: tuple[int, int], columns: bool) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    chart.resize(*size)
    chart.set_bars(LONG if columns else sorted(LONG, key=lambda b: -b[1]), columns=columns)  # rows: slowest first
    chart.show()
    layout = chart.layout_now()
    assert layout is not None
    _check(layout, chart.width(), chart.height(), QFontMetrics(chart.font()))
    texts = [label.text for label in layout.labels]
    if columns:
        assert "20.0 s" in texts  # the scale: the slowest, in seconds
        named = [t for t in texts if t.startswith("2026")]
        assert len(named) >= 2 and all(t.endswith("…") for t in named)  # first and last at least, elided
    else:
        assert any(t.endswith("…") for t in texts)  # long names elided...
        assert any("more migrations" in t for t in texts) or len(layout.bars) == 60  # ...rows that do not fit, said
        assert "20.0 s" in texts
    chart.grab()  # paints without error


def test_a_bar_tooltip_names_the_migration_in_full(qtbot) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    chart.resize(640, 320)
    chart.set_bars(LONG[:5], columns=False)
    layout = chart.layout_now()
    box, tip = layout.tips[1]
    assert tip == f"{LONG[1][0]}: {'187 ms'}"
    assert box.contains(QPoint(10, int(box.center().y())))


def test_layouts_are_pure_geometry_of_size_and_font(qtbot) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    fm = QFontMetrics(chart.font())
    for w, h in SIZES:
        _check(layout_columns(LONG, w, h, fm), w, h, fm)
        _check(layout_rows(LONG[:3], w, h, fm), w, h, fm)
