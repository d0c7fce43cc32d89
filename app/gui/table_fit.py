"""Table columns fitted to their cells: each as wide as its widest cell, a long one cut in its middle.

The History view, the migration list and the overview's tree share this: a column of migration names
or batch ids takes at most its share of the table (cut with "…", the whole in the cell's tooltip,
which the models give), so the columns beside it stay readable without a sideways scroll.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QTreeView

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
