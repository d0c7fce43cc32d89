"""Content never resizes the window: a widget holding text from files or servers takes the width its
layout gives it (its text wraps, or is cut at the edge), instead of raising the window's minimum.

Qt's layouts make a window at least as wide as its widest label's longest unbreakable word: one
long path or error line, and the window grew past the screen. With the horizontal policy Ignored
the layout asks the widget for no minimum width (what the progress lines have always done).
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize
from PySide6.QtWidgets import QAbstractItemView, QLabel, QSizePolicy, QStyledItemDelegate, QStyleOptionViewItem, QWidget

W = TypeVar("W", bound=QWidget)


def never_widens(widget: W) -> W:
    """Let `widget` take the width it is given, whatever its text (returns it, for chaining)."""
    widget.setSizePolicy(QSizePolicy.Policy.Ignored, widget.sizePolicy().verticalPolicy())
    return widget


ROW_PADDING = 10  # pixels above and below a row's text, together: rows a DBA scans without squinting


class _RoomyDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        # A wrapped cell's lines get a little room too: its text touched the grid lines above and below.
        return QSize(hint.width(), max(hint.height() + ROW_PADDING // 2, option.fontMetrics.height() + ROW_PADDING))


def roomy_rows(view: QAbstractItemView) -> QAbstractItemView:
    """Rows at least a line of text plus ROW_PADDING tall, a wrapped one its lines plus half of it
    (returns the view, for chaining)."""
    view.setItemDelegate(_RoomyDelegate(view))
    return view


class ScrollContent(QWidget):
    """The widget of a resizable scroll area that scrolls only when its content cannot fit.

    A layout holding a word-wrapped label has a height-for-width, and QScrollArea then makes its
    widget at least that tall: the *preferred* height of everything in it. The window scrolled
    (with room to spare) as soon as the error panel opened. Here the height for a width is the
    wrapped items' height at that width plus the others' minimum heights.
    """

    def heightForWidth(self, width: int) -> int:
        """What the content needs at `width`: wrapped items as tall as their text, the rest at their minimum."""
        lay = self.layout()
        if lay is None:
            return super().heightForWidth(width)
        m = lay.contentsMargins()
        inner = width - m.left() - m.right()
        items = [lay.itemAt(i) for i in range(lay.count())]
        shown = [item for item in items if item is not None and not item.isEmpty()]
        heights = [item.heightForWidth(inner) if item.hasHeightForWidth() else item.minimumSize().height()
                   for item in shown]
        return m.top() + m.bottom() + sum(heights) + max(0, len(shown) - 1) * lay.spacing()


class QuietLabel(QLabel):
    """A label that takes no room while it has nothing to say (an empty label still holds a line)."""

    def setText(self, text: str) -> None:
        """Show `text`; hidden while it is empty."""
        super().setText(text)
        self.setVisible(bool(text))
