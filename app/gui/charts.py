"""Execution-time charts drawn with QPainter: per migration, the slowest, per batch."""

from __future__ import annotations

from collections import defaultdict

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QComboBox, QSizePolicy, QVBoxLayout, QWidget

from app.core.status import MigrationInfo
from app.gui.migration_model import format_ms
from app.gui.plural import count
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
    return [(k[:19], per[k]) for k in ordered]


class BarChart(QWidget):
    """Columns (many values: one per pixel bucket, max kept) or labelled horizontal bars (few values)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bars: list[tuple[str, float]] = []
        self._columns = False
        self._empty = "no execution times yet: apply migrations to see them"
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_bars(self, bars: list[tuple[str, float]], *, columns: bool) -> None:
        """Replace the data and repaint."""
        self._bars = bars
        self._columns = columns
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the chart (cheap: at most one rectangle per pixel column)."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), self.palette().base())
        fm = QFontMetrics(self.font())
        if not self._bars:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._empty)
            return
        if self._columns:
            self._paint_columns(p, fm)
        else:
            self._paint_rows(p, fm)

    def _paint_columns(self, p: QPainter, fm: QFontMetrics) -> None:
        values = [v for _, v in self._bars]
        top = max(values) or 1.0
        margin_l, margin_b, margin_t = fm.horizontalAdvance("00.0 s") + 8, fm.height() + 6, fm.height() + 4
        area = QRectF(margin_l, margin_t, self.width() - margin_l - 8, self.height() - margin_t - margin_b)
        n = len(values)
        buckets = max(1, min(n, int(area.width())))
        per = n / buckets
        width = area.width() / buckets
        p.setPen(QPen(QColor(current().chart_axis)))
        p.drawLine(area.bottomLeft(), area.bottomRight())
        p.drawText(0, int(area.top()) + fm.ascent(), format_ms(top))
        p.drawText(0, int(area.bottom()), "0")
        colour = QColor(current().chart_bar)
        for b in range(buckets):
            chunk = values[int(b * per): max(int((b + 1) * per), int(b * per) + 1)]
            v = max(chunk)
            h = area.height() * v / top
            p.fillRect(QRectF(area.left() + b * width, area.bottom() - h, max(1.0, width - (1 if width > 3 else 0)),
                              h), colour)
        p.setPen(self.palette().text().color())
        p.drawText(int(area.left()), self.height() - 4, self._bars[0][0])
        last = self._bars[-1][0]
        p.drawText(int(area.right() - fm.horizontalAdvance(last)), self.height() - 4, last)
        caption = f"{count(n, 'migration')}, in version order"
        p.drawText(int(area.center().x() - fm.horizontalAdvance(caption) / 2), self.height() - 4, caption)

    def _paint_rows(self, p: QPainter, fm: QFontMetrics) -> None:
        top = max(v for _, v in self._bars) or 1.0
        label_w = min(max(fm.horizontalAdvance(label) for label, _ in self._bars) + 10, self.width() // 3)
        value_w = fm.horizontalAdvance("00 min 00 s") + 8
        row_h = min(max(fm.height() + 4, (self.height() - 8) / len(self._bars)), fm.height() * 2.0)
        y = 4.0
        colour = QColor(current().chart_slow)
        for label, v in self._bars:
            p.setPen(self.palette().text().color())
            text = fm.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 10)
            p.drawText(QRectF(4, y, label_w - 8, row_h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                       text)
            span = self.width() - label_w - value_w - 8
            w = max(1.0, span * v / top)
            p.fillRect(QRectF(label_w, y + 3, w, row_h - 6), colour)
            p.drawText(QRectF(label_w + w + 4, y, value_w, row_h), Qt.AlignmentFlag.AlignVCenter, format_ms(v))
            y += row_h


class ChartsPanel(QWidget):
    """A mode picker over one chart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[MigrationInfo] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
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
