"""Table columns fitted to their cells: each as wide as its widest cell, a long one cut in its middle.

The History view, the migration list and the overview's tree share this: a column of migration names
or batch ids takes at most its share of the table (cut with "…", the whole in the cell's tooltip,
which the models give), so the columns beside it stay readable without a sideways scroll.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHeaderView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QTreeView

View = QTableView | QTreeView


class Elided(QStyledItemDelegate):
    """A cell on one line, cut with "…" where `mode` says (its whole text belongs in its tooltip), even in
    a table whose other cells wrap."""

    def __init__(self, parent: QObject | None = None, mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self.mode = mode

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        """The base option, on one line and cut by `mode`."""
        super().initStyleOption(option, index)
        option.textElideMode = self.mode
        option.features &= ~QStyleOptionViewItem.ViewItemFeature.WrapText


class ElideMiddle(Elided):
    """A cell cut in its middle: a migration's version and its end (".sql") both stay readable."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, Qt.TextElideMode.ElideMiddle)


def header(view: View) -> QHeaderView:
    """The view's column titles (a table's horizontal header, a tree's header)."""
    return view.horizontalHeader() if isinstance(view, QTableView) else view.header()


def wanted_width(table: View, column: int) -> int:
    """What a column needs to show its widest cell (a tree's first column: with its indentation) and its
    title (with the sort arrow) whole."""
    return max(table.sizeHintForColumn(column), header(table).sectionSizeHint(column))


def fit_columns(table: View, columns: Iterable[int], width: int, shares: Mapping[int, float]) -> None:
    """Set each of `columns` to its wanted width; one in `shares` to at most that share of `width`.

    The columns left out (the one that stretches, or the last) take what remains."""
    for c in columns:
        share = shares.get(c)
        wanted = wanted_width(table, c)
        table.setColumnWidth(c, min(wanted, int(width * share)) if share else wanted)


_VERSION = re.compile(r"^\d+_")  # a migration name's version: unique, and always kept (it starts the name)


def distinct_spans(names: Iterable[str]) -> dict[str, tuple[int, int]]:
    """For each name, the span of it that tells it from the others ("batch_07" in a run of names
    that differ only there), found on the names without their versions: a version tells two files
    apart, not what each does. Neighbours in sorted order share the longest starts (and, reversed,
    the longest ends), so this costs a sort, not a comparison of every pair."""
    slugs = {n: n[m.end():] if (m := _VERSION.match(n)) else n for n in dict.fromkeys(names)}
    keys = sorted(set(slugs.values()))
    start: dict[str, int] = dict.fromkeys(keys, 0)
    end: dict[str, int] = dict.fromkeys(keys, 0)
    for i in range(len(keys) - 1):
        a, b = keys[i], keys[i + 1]
        n = _common(a, b)
        start[a], start[b] = max(start[a], n), max(start[b], n)
    backwards = sorted(keys, key=lambda k: k[::-1])
    for i in range(len(backwards) - 1):
        a, b = backwards[i], backwards[i + 1]
        n = _common(a[::-1], b[::-1])
        end[a], end[b] = max(end[a], n), max(end[b], n)
    spans = {}
    for name, slug in slugs.items():
        offset = len(name) - len(slug)
        lo, hi = start[slug], len(slug) - end[slug]
        lo, hi = min(lo, hi), max(lo, hi)
        lo = _word_start(slug, _word_start(slug, lo) - 1)  # the word it differs in and the one before: "batch_07"
        hi = _word_end(slug, hi)
        spans[name] = (offset + lo, offset + hi)
    return spans


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


_BETWEEN_WORDS = "_ "  # a file name's words, and a title's


def _word_start(text: str, i: int) -> int:
    """The start of the word holding position `i`."""
    i = max(0, min(i, len(text)))
    while i > 0 and text[i - 1] not in _BETWEEN_WORDS:
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    """The end of the word holding position `i` (before the next separator, or the text's end)."""
    while i < len(text) and text[i] not in _BETWEEN_WORDS:
        i += 1
    return i


def shortened(text: str, span: tuple[int, int], metrics: QFontMetrics, width: int) -> str:
    """`text` in `width` pixels keeping `span` whole: its start cut on the right and its end on the left
    ("2026…_backfill_cu…batch_07_for…legacy.sql"); cut in its middle when even the span does not fit."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    lo, hi = span
    middle = text[lo:hi]
    rest = width - metrics.horizontalAdvance(middle)
    if not middle or rest < 2 * metrics.horizontalAdvance("…_…"):
        return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
    head, tail = text[:lo], text[hi:]
    # The start (the version) and the end (".sql") both matter: the room left is shared between them,
    # the version never cut (it is what the history rows and the file names sort by).
    version = _VERSION.match(head)
    least = metrics.horizontalAdvance(version.group() + "…") if version else 0
    if least > rest:
        return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
    head_width = min(metrics.horizontalAdvance(head), rest // 2 if metrics.horizontalAdvance(tail) > rest // 2
                     else rest - metrics.horizontalAdvance(tail))
    head_width = max(head_width, least)
    left = metrics.elidedText(head, Qt.TextElideMode.ElideRight, head_width) if head else ""
    right = metrics.elidedText(tail, Qt.TextElideMode.ElideLeft, rest - metrics.horizontalAdvance(left)) if tail else ""
    return left + middle + right


class ElideDistinct(ElideMiddle):
    """A column of migration names cut so each keeps the part that tells it from the others (see
    distinct_spans), its version and its end; `set_texts` gives it the column's names. A plain middle
    cut made "…batch_07_for_the…" and "…batch_08_for_the…" both read "backf…ated_from_legacy.sql"."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spans: dict[str, tuple[int, int]] = {}

    def set_texts(self, texts: Iterable[str]) -> None:
        """The names the column shows."""
        self.spans = distinct_spans(texts)

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        """The base option, its text shortened to the cell keeping the part that differs."""
        super().initStyleOption(option, index)
        span = self.spans.get(option.text)
        if span is None or option.rect.width() <= 0:
            return
        widget = option.widget
        style = widget.style() if widget is not None else None
        margin = (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1) if style else 3
        option.text = shortened(option.text, span, option.fontMetrics, option.rect.width() - 2 * margin - 1)
