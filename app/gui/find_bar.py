"""A find bar under a read-only text view (the SQL panes, the log): type to find, Enter/F3 next,
Shift+Enter/Shift+F3 previous, Escape closes. Matches are marked in theme colours.

`Findable` holds the view and its bar; the window's Edit ▸ Find opens the bar of the focused one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.text import counted as count
from app.gui.marks import themed_selection

MAX_MARKED = 2000  # matches painted at once; beyond that the count still says how many


class _FindEdit(QLineEdit):
    escaped = Signal()
    previous = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and shift:
            self.previous.emit()
            return
        super().keyPressEvent(event)


class FindBar(QWidget):
    """The bar: a field, previous/next, the match count and a close button."""

    def __init__(self, view: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.field = _FindEdit()
        self.field.setPlaceholderText("Find")
        self.field.setAccessibleName("Find text")
        self.field.setClearButtonEnabled(True)
        self.count = QLabel("")
        self.count.setAccessibleName("Matches")
        prev_b, next_b, close_b = QToolButton(), QToolButton(), QToolButton()
        for b, text, tip, slot in ((prev_b, "▲", "Previous match (Shift+F3)", self.find_previous),
                                   (next_b, "▼", "Next match (F3)", self.find_next),
                                   (close_b, "✕", "Close the find bar (Escape)", self.close_bar)):
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(tip.split(" (")[0])
            b.clicked.connect(slot)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.field, 1)
        lay.addWidget(self.count)
        lay.addWidget(prev_b)
        lay.addWidget(next_b)
        lay.addWidget(close_b)
        self.field.textChanged.connect(self._changed)
        self.field.returnPressed.connect(self.find_next)
        self.field.previous.connect(self.find_previous)
        self.field.escaped.connect(self.close_bar)
        self.hide()

    def open_bar(self) -> None:
        """Show the bar with the view's selected text (if one line) and focus the field."""
        selected = self.view.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.field.setText(selected)
        self.show()
        self.field.setFocus()
        self.field.selectAll()
        self._mark()

    def close_bar(self) -> None:
        """Hide the bar, drop the marks, give the focus back to the view."""
        self.hide()
        self.view.setExtraSelections([s for s in self.view.extraSelections() if not s.format.hasProperty(_MARK)])
        self.view.setFocus()

    def refresh(self) -> None:
        """Mark and count again (the text changed under the bar)."""
        self._mark()

    def find_next(self) -> bool:
        return self._find(backward=False)

    def find_previous(self) -> bool:
        return self._find(backward=True)

    def _changed(self) -> None:
        # Search from the start of the current selection, so typing extends the match in place.
        cursor = self.view.textCursor()
        cursor.setPosition(cursor.selectionStart())
        self.view.setTextCursor(cursor)
        self._find(backward=False)

    def _find(self, *, backward: bool) -> bool:
        needle = self.field.text()
        if not needle:
            self._mark()
            return False
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        found = self.view.find(needle, flags)
        if not found:  # wrap around, as editors do
            cursor = self.view.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
            self.view.setTextCursor(cursor)
            found = self.view.find(needle, flags)
        self._mark()
        return found

    def _mark(self) -> None:
        """Mark every match (up to MAX_MARKED) and say which one is current."""
        keep = [s for s in self.view.extraSelections() if not s.format.hasProperty(_MARK)]
        needle = self.field.text()
        if not needle:
            self.count.setText("")
            self.view.setExtraSelections(keep)
            return
        doc = self.view.document()
        here = self.view.textCursor()
        marks: list[QTextEdit.ExtraSelection] = []
        total, index = 0, 0
        cursor = doc.find(needle, 0)
        while not cursor.isNull():
            total += 1
            if cursor.selectionStart() == here.selectionStart() and cursor.selectionEnd() == here.selectionEnd():
                index = total
            if len(marks) < MAX_MARKED:
                is_here = index == total
                sel = themed_selection(cursor, "highlight" if is_here else "warn_bg",
                                       "highlight_text" if is_here else "text")
                sel.format.setProperty(_MARK, True)
                marks.append(sel)
            cursor = doc.find(needle, cursor)
        self.view.setExtraSelections(keep + marks)
        if total == 0:
            self.count.setText("no match")
        else:
            self.count.setText(f"{index} of {total}" if index else count(total, "match", "matches"))

    @property
    def matches(self) -> str:
        """The count as shown ("2 of 5", "no match")."""
        return self.count.text()


_MARK = 0x100100  # a QTextFormat user property: this extra selection is a find mark, not an error line


class Findable(QWidget):
    """A text view with its find bar below it.

    `follow`: when the view's text is replaced (another migration's SQL), an open bar marks and
    counts again. Not for the log, which grows many times a second during a run: there the
    count is brought up to date by the next search.
    """

    def __init__(self, view: QPlainTextEdit, parent: QWidget | None = None, *, follow: bool = True) -> None:
        super().__init__(parent)
        self.view = view
        self.bar = FindBar(view)
        if follow:
            view.textChanged.connect(lambda: self.bar.isVisible() and self.bar.refresh())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(view, 1)
        lay.addWidget(self.bar)
        view.findable = self  # type: ignore[attr-defined]  # the window finds the bar from the focused view


def findable_of(widget: QWidget | None) -> Findable | None:
    """The Findable that holds a widget (the view, its bar or the bar's field), or None."""
    while widget is not None:
        if isinstance(widget, Findable):
            return widget
        widget = widget.parentWidget()
    return None


def active_findable(window: QWidget) -> Findable | None:
    """The Findable holding the keyboard focus in a window, else the one whose bar was opened last."""
    from PySide6.QtWidgets import QApplication

    here = findable_of(QApplication.focusWidget())
    if here is not None and here.window() is window:
        return here
    last = getattr(window, "_last_findable", None)
    return last if isinstance(last, Findable) and last.isVisible() and last.bar.isVisible() else None


def find_or_filter(window: QWidget, filter_field: QLineEdit) -> None:
    """Edit ▸ Find: the find bar of the focused SQL pane or log; the migration filter otherwise."""
    here = active_findable(window)
    from PySide6.QtWidgets import QApplication

    if here is not None and findable_of(QApplication.focusWidget()) is here:
        window._last_findable = here  # type: ignore[attr-defined]
        here.bar.open_bar()
        return
    filter_field.setFocus()
    filter_field.selectAll()


def find_again(window: QWidget, *, backward: bool) -> None:
    """F3 / Shift+F3: the next or previous match in the focused (or last used) find bar."""
    here = active_findable(window)
    if here is None:
        return
    if not here.bar.isVisible():
        here.bar.open_bar()
    window._last_findable = here  # type: ignore[attr-defined]
    here.bar.find_previous() if backward else here.bar.find_next()
