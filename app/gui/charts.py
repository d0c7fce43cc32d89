"""Execution-time charts drawn with QPainter: per migration, the slowest, per batch."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from app.core.status import MigrationInfo
from app.core.text import counted as count
from app.gui.migration_model import format_ms
from app.gui.theme import current

MODES = ("Execution time per migration", "Slowest migrations", "Time per batch")


def series(rows: list[MigrationInfo], mode: int, limit: int = 15) -> list[tuple[str, float]]:
    """The (label, milliseconds) bars a chart mode shows."""
    timed = [m for m in rows if m.execution_time_ms is not None]
    if mode == 0:
        return [(m.version, float(m.execution_time_ms or 0)) for m in timed]
    if mode == 1:
        top = sorted(timed, key=lambda m: m.execution_time_ms or 0, reverse=True)[:limit]
        return [(m.title or m.name, float(m.execution_time_ms or 0)) for m in top]
    per: dict[str, float] = defaultdict(float)
    when: dict[str, object] = {}
    for m in timed:
        key = m.batch_id or "(no batch)"
        per[key] += m.execution_time_ms or 0
        when[key] = max(filter(None, (when.get(key), m.executed_at)), default=None)  # type: ignore[type-var]
    ordered = sorted(per, key=lambda k: (when[k] is None, str(when[k])), reverse=True)[:limit]
    return [(k, per[k]) for k in ordered]  # the chart elides a long id; its tooltip has it whole


@dataclass
class Label:
    """A text the chart draws: where (its whole box), what (elided to fit the box) and the full text."""

    rect: QRectF
    text: str
    full: str
    align: Qt.AlignmentFlag


@dataclass
class Layout:
    """Everything a chart draws, computed from its size and font before painting (and tested as such)."""

    area: QRectF
    bars: list[QRectF] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    tips: list[tuple[QRectF, str]] = field(default_factory=list)  # hover box -> tooltip (full name, time)


def _fit(fm: QFontMetrics, text: str, width: float) -> str:
    return fm.elidedText(text, Qt.TextElideMode.ElideRight, int(width))


def layout_columns(bars: list[tuple[str, float]], width: int, height: int, fm: QFontMetrics) -> Layout:
    """Columns in order: a caption on top, the scale on the left (margins from the font), and as many
    x labels as fit side by side (first and last first, then evenly spaced); every column has a tooltip."""
    values = [v for _, v in bars]
    top = max(values) or 1.0
    line = fm.height()
    top_text = format_ms(top)
    margin_l = max(fm.horizontalAdvance(top_text), fm.horizontalAdvance("0")) + 10
    margin_t, margin_b = line + 6, line + 6
    area = QRectF(margin_l, margin_t, max(1.0, width - margin_l - 8), max(1.0, height - margin_t - margin_b))
    out = Layout(area)
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    out.labels.append(Label(QRectF(2, area.top(), margin_l - 8, line), top_text, top_text, right))
    if area.height() >= 2 * line + 2:
        out.labels.append(Label(QRectF(2, area.bottom() - line, margin_l - 8, line), "0", "0", right))
    caption = f"{count(len(bars), 'migration')}, in version order"
    out.labels.append(Label(QRectF(area.left(), 2, area.width(), line), _fit(fm, caption, area.width()), caption,
                            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter))
    n = len(values)
    buckets = max(1, min(n, int(area.width())))
    per = n / buckets
    step = area.width() / buckets
    for b in range(buckets):
        lo, hi = int(b * per), max(int((b + 1) * per), int(b * per) + 1)
        v = max(values[lo:hi])
        h = area.height() * v / top
        x = area.left() + b * step
        out.bars.append(QRectF(x, area.bottom() - h, max(1.0, step - (1 if step > 3 else 0)), h))
        names = bars[lo][0] if hi - lo == 1 else f"{bars[lo][0]} … {bars[hi - 1][0]}"
        out.tips.append((QRectF(x, area.top(), max(1.0, step), area.height()), f"{names}: {format_ms(v)}"))
    # x labels: thinned so that none overlaps another, each centred under its column, kept inside the widget
    y = area.bottom() + 3
    kept: list[QRectF] = []
    order = [0, n - 1, *range(1, n - 1)] if n > 1 else [0]
    # a label at most half the plot (first and last fit side by side) and about 24 characters
    cap = max(24.0, min(area.width() / 2 - 10, fm.horizontalAdvance("0" * 24)))
    widest = min(cap, max(fm.horizontalAdvance(label) for label, _ in bars)) + 12
    every = max(1, math.ceil(widest / max(1.0, area.width() / n)))
    for i in order:
        if 0 < i < n - 1 and i % every:
            continue
        text = _fit(fm, bars[i][0], cap)
        w = fm.horizontalAdvance(text) + 4
        centre = area.left() + (i + 0.5) * area.width() / n
        rect = QRectF(min(max(2.0, centre - w / 2), width - 2 - w), y, w, line)
        if any(rect.adjusted(-6, 0, 6, 0).intersects(k) for k in kept):
            continue
        kept.append(rect)
        out.labels.append(Label(rect, text, bars[i][0], Qt.AlignmentFlag.AlignCenter))
    return out


def layout_rows(bars: list[tuple[str, float]], width: int, height: int, fm: QFontMetrics) -> Layout:
    """Labelled horizontal bars, as many rows as fit the height (the last row says how many more there are);
    names elided to a third of the width at most, times right of their bar, all inside the widget."""
    line = fm.height()
    row_min = line + 4
    fit = max(1, int((height - 8) // row_min))
    shown = bars if len(bars) <= fit else bars[:fit - 1]
    more = len(bars) - len(shown)
    rows = len(shown) + (1 if more else 0)
    row_h = min(max(row_min, (height - 8) / rows), line * 2.0)
    top = max(v for _, v in bars) or 1.0
    label_w = min(max(fm.horizontalAdvance(label) for label, _ in shown) + 10, width // 3)
    value_w = max(fm.horizontalAdvance(format_ms(v)) for _, v in shown) + 8
    span = max(1.0, width - label_w - value_w - 8)
    out = Layout(QRectF(label_w, 4, span, rows * row_h))
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    y = 4.0
    for label, v in shown:
        out.labels.append(Label(QRectF(4, y, label_w - 8, row_h), _fit(fm, label, label_w - 8), label, right))
        w = max(1.0, span * v / top)
        out.bars.append(QRectF(label_w, y + 3, w, row_h - 6))
        out.labels.append(Label(QRectF(label_w + w + 4, y, value_w - 4, row_h), format_ms(v), format_ms(v), left))
        out.tips.append((QRectF(0, y, width, row_h), f"{label}: {format_ms(v)}"))
        y += row_h
    if more:
        note = f"… {count(more, 'more migration')}: make the pane taller to see them"
        out.labels.append(Label(QRectF(4, y, width - 8, row_h), _fit(fm, note, width - 8), note, left))
    return out


class BarChart(QWidget):
    """Columns (many values: one per pixel bucket, max kept) or labelled horizontal bars (few values).

    Its geometry comes from layout_columns / layout_rows; hovering a bar names it in full."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bars: list[tuple[str, float]] = []
        self._columns = False
        self._empty = "no execution times yet: apply migrations to see them"
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Execution time chart")

    def set_bars(self, bars: list[tuple[str, float]], *, columns: bool) -> None:
        """Replace the data and repaint."""
        self._bars = bars
        self._columns = columns
        self.update()

    def layout_now(self) -> Layout | None:
        """The chart's geometry at its current size and font (None when there is nothing to draw)."""
        if not self._bars:
            return None
        lay = layout_columns if self._columns else layout_rows
        return lay(self._bars, self.width(), self.height(), QFontMetrics(self.font()))

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the laid-out chart (cheap: at most one rectangle per pixel column)."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), self.palette().base())
        layout = self.layout_now()
        if layout is None:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._empty)
            return
        t = current()
        if self._columns:
            p.setPen(QPen(QColor(t.chart_axis)))
            p.drawLine(layout.area.bottomLeft(), layout.area.bottomRight())
        colour = QColor(t.chart_bar if self._columns else t.chart_slow)
        for rect in layout.bars:
            p.fillRect(rect, colour)
        p.setPen(self.palette().text().color())
        for label in layout.labels:
            p.drawText(label.rect, label.align, label.text)

    def event(self, e: QEvent) -> bool:
        """The tooltip of the bar under the pointer: its full name and time."""
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            layout = self.layout_now()
            tip = next((text for box, text in (layout.tips if layout else []) if box.contains(e.position())), "")
            if tip:
                QToolTip.showText(e.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)


class ChartsPanel(QWidget):
    """A mode picker over one chart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[MigrationInfo] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.mode.setAccessibleName("Chart")
        self.mode.currentIndexChanged.connect(self._redraw)
        self.chart = BarChart()
        lay.addWidget(self.mode)
        lay.addWidget(self.chart, 1)

    def set_rows(self, rows: list[MigrationInfo]) -> None:
        """New status rows."""
        self._rows = rows
        self._redraw()

    def _redraw(self, *_: object) -> None:
        mode = self.mode.currentIndex()
        self.chart.set_bars(series(self._rows, mode), columns=mode == 0)
