"""Compare's schema differences: a list of differing objects and, beside it, the two definitions of
the selected one side by side with the changed lines highlighted (difflib over lines).

Each object is listed once, however many comparisons found it differing (production against dev,
and production against its own files after a drift check): its sentences are all shown, and a
chooser picks which pair of definitions stands side by side. Up/Down in the list moves to the next
object and the definitions follow. The texts come from
servers: they are shown in plain-text widgets, controls and bidi overrides written as escapes.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.text import visible
from app.gui.marks import themed_selection
from app.gui.sizing import roomy_rows


@dataclass(frozen=True)
class ShownDifference:
    """One differing object as the view shows it: the sentence, and each side's title and definition."""

    key: str
    words: str  # app/schema_words.py's sentence
    left_title: str
    left: str | None  # None: that side lacks the object
    right_title: str
    right: str | None
    origin: str = "environments"  # "environments" (compare) or "files" (the drift check)
    pair: str = ""  # the two sides in a few words, for the chooser ("dev and production")

    @property
    def pair_words(self) -> str:
        """Which two definitions this difference sets side by side."""
        return self.pair or f"{self.left_title} and {self.right_title}"


def from_drift_item(d: object) -> ShownDifference:
    """A compare DriftItem: the reference on the left, the environment that differs on the right."""
    return ShownDifference(d.key, d.words, d.reference, d.before, d.environment, d.after,  # type: ignore[attr-defined]
                           pair=f"{d.reference} and {d.environment}")  # type: ignore[attr-defined]


def from_file_difference(environment: str, d: object) -> ShownDifference:
    """A drift-check Difference: what the files produce on the left, what the environment has on the right."""
    return ShownDifference(d.key, d.words(environment), f"what {environment}'s files produce",  # type: ignore[attr-defined]
                           d.files, f"what {environment} has", d.target, "files",  # type: ignore[attr-defined]
                           pair=f"{environment} and its files")


def changed_lines(left: Sequence[str], right: Sequence[str]) -> tuple[set[int], set[int]]:
    """Line numbers (0-based) only the left, and only the right, definition has."""
    old: set[int] = set()
    new: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            old.update(range(i1, i2))
        if tag in ("replace", "insert"):
            new.update(range(j1, j2))
    return old, new


class _Side(QWidget):
    """A title and a read-only definition."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName(name)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # definitions are often one long line
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.text, 1)

    def show_definition(self, title: str, definition: str | None, marked: set[int], role: str) -> None:
        """Show `definition`, its `marked` lines painted in the theme's `role` (again after a theme switch)."""
        self.title.setText(f"<b>{html.escape(visible(title))}</b>")
        self.text.setPlainText(visible(definition) if definition is not None else "")
        self.text.setPlaceholderText("(lacks it)" if definition is None else "")
        selections = []
        doc = self.text.document()
        for n in sorted(marked):
            block = doc.findBlockByNumber(n)
            if not block.isValid():
                continue
            selections.append(themed_selection(QTextCursor(block), role, full_width=True))
        self.text.setExtraSelections(selections)

    def marked_lines(self) -> list[int]:
        """The highlighted line numbers (tests read them)."""
        return [s.cursor.blockNumber() for s in self.text.extraSelections()]


class SideBySide(QWidget):
    """Two definitions of one object; changed lines in diff_old_bg (left) and diff_new_bg (right)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.left = _Side("left definition")
        self.right = _Side("right definition")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.left)
        split.addWidget(self.right)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        # Multi-line definitions (function bodies) are read line against line: scroll together.
        lbar, rbar = self.left.text.verticalScrollBar(), self.right.text.verticalScrollBar()
        lbar.valueChanged.connect(rbar.setValue)
        rbar.valueChanged.connect(lbar.setValue)

    def show_difference(self, d: ShownDifference | None) -> None:
        """Show both sides of `d` (nothing when None)."""
        if d is None:
            for side in (self.left, self.right):
                side.show_definition("", "", set(), "")
            return
        left = d.left.splitlines() if d.left is not None else []
        right = d.right.splitlines() if d.right is not None else []
        old, new = changed_lines(left, right)
        self.left.show_definition(d.left_title, d.left, old, "diff_old_bg")
        self.right.show_definition(d.right_title, d.right, new, "diff_new_bg")


class DifferencesPanel(QWidget):
    """The differing objects (a list, one row per object: Up/Down moves) above the selected one's two
    definitions; when several comparisons found the object differing, a chooser picks the pair shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[ShownDifference] = []  # every difference, in the order found
        self.objects: list[list[ShownDifference]] = []  # the list's rows: one per object, its differences
        self.empty = ""  # what the panel says while it lists nothing (why no schema was compared, or that they agree)
        self.list = QListWidget()
        self.list.setAccessibleName("differing schema objects")
        roomy_rows(self.list)  # a list read down, like the overview's rows
        self.words = QLabel()
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pair = QComboBox()
        self.pair.setAccessibleName("definitions shown side by side")
        self.pair_label = QLabel("&Side by side:")
        self.pair_label.setBuddy(self.pair)
        pair_row = QHBoxLayout()
        pair_row.addWidget(self.pair_label)
        pair_row.addWidget(self.pair)
        pair_row.addStretch(1)
        self.diff = SideBySide()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.words)
        rl.addLayout(pair_row)
        rl.addWidget(self.diff, 1)
        split.addWidget(right)
        split.setSizes([300, 700])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._show_chooser(False)
        self.list.currentRowChanged.connect(self._follow)
        self.pair.currentIndexChanged.connect(self._pick)

    def set_differences(self, items: Sequence[ShownDifference], empty: str | None = None) -> None:
        """List `items`, one row per object, and show the first (`empty`: what to say when there are none)."""
        if empty is not None:
            self.empty = empty
        self.items = list(items)
        rows: dict[str, list[ShownDifference]] = {}
        for d in self.items:
            rows.setdefault(d.key, []).append(d)
        self.objects = list(rows.values())
        self.list.blockSignals(True)  # one _follow for the new rows, not one per cleared row
        self.list.clear()
        for same in self.objects:
            item = QListWidgetItem(visible(same[0].key))
            item.setToolTip("\n".join(visible(d.words) for d in same))
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self.objects:
            self.list.setCurrentRow(0)
        self._follow(self.list.currentRow())

    def replace(self, origin: str, items: Sequence[ShownDifference]) -> None:
        """Replace the differences of one origin (a new drift check), keeping the others."""
        self.set_differences([d for d in self.items if d.origin != origin] + list(items))

    def keys(self) -> list[str]:
        """The objects listed, in order (one each)."""
        return [same[0].key for same in self.objects]

    def current(self) -> ShownDifference | None:
        """The difference shown side by side."""
        row = self.list.currentRow()
        if not 0 <= row < len(self.objects):
            return None
        same = self.objects[row]
        return same[max(self.pair.currentIndex(), 0)] if len(same) > 1 else same[0]

    def select(self, d: ShownDifference) -> None:
        """Select `d`'s object and set `d` side by side."""
        for row, same in enumerate(self.objects):
            if d in same:
                self.list.setCurrentRow(row)
                self.pair.setCurrentIndex(same.index(d))
                return

    def _show_chooser(self, on: bool) -> None:
        self.pair_label.setVisible(on)
        self.pair.setVisible(on)

    @Slot(int)
    def _follow(self, row: int) -> None:
        same = self.objects[row] if 0 <= row < len(self.objects) else []
        if not self.objects:
            self.words.setText(html.escape(self.empty))
        else:  # every comparison that found this object differing, one sentence each
            self.words.setText("<br>".join(html.escape(visible(d.words)) for d in same))
        self.pair.blockSignals(True)
        self.pair.clear()
        for d in same:
            self.pair.addItem(visible(d.pair_words))
        self.pair.blockSignals(False)
        self._show_chooser(len(same) > 1)
        self.diff.show_difference(same[0] if same else None)

    @Slot(int)
    def _pick(self, _index: int) -> None:
        self.diff.show_difference(self.current())
