"""Colouring a large SQL text a slice at a time, so that showing it never stalls the UI thread.

Scanning 10,000 lines with PostgreSQL's scanner takes ~400 ms; done before the text is shown,
that is a frozen window. For a large text (CHUNKED_FROM_LINES or more) the text is shown at once
uncoloured, the lines on screen are coloured right away, and the rest follows in slices of about
SLICE_MS from a zero-interval QTimer, between which the event loop paints and takes input.

The scanner carries state across lines (dollar quotes, nested comments, strings spanning lines),
so a chunk may only begin where the scan of the whole text is between statements. Those places
come from pglast's scanner-only split (~10 ms for 10k statements, no Python per token): a line
that starts a statement, where the previous statement ended on an earlier line, begins a chunk.
A chunk scanned alone then yields the same spans as the whole text. When the scanner refuses the
whole text, lines are coloured by the line-by-line fallback in order from the top (it carries
an open comment from line to line, so order matters there).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QTextDocument, QTextLayout

from app.gui.sql_tokens import Span, spans, spans_by_line

if TYPE_CHECKING:
    from app.gui.sql_view import SqlHighlighter

CHUNKED_FROM_LINES = 2000  # below this, one scan before showing is quick enough (~80 ms at most)
CHUNK_LINES = 100  # a chunk is at least this many lines (unless a file ends): ~4 ms to scan and colour
SLICE_MS = 8.0  # a slice takes chunks until this much time has passed (at least one)


def line_starts(text: str) -> list[int]:
    """The offset where each line begins (one more than the number of newlines)."""
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def chunk_bounds(text: str, starts: list[int], size: int = CHUNK_LINES) -> list[tuple[int, int]] | None:
    """Line ranges [first, end) to scan one at a time, cut only between statements; None if refused."""
    from pglast import parser

    try:
        statements = parser.split(text, with_parser=False, only_slices=True)
    except Exception:  # the scanner refuses the text (an unterminated string or comment)
        return None
    cuts = [0]
    previous_last = -1
    for s in statements:
        first = bisect_right(starts, s.start) - 1
        # Cut where this statement starts its line and the previous one ended on an earlier line:
        # the start of that line is outside every token, as at the start of the text.
        if previous_last < first and first - cuts[-1] >= size:
            cuts.append(first)
        previous_last = bisect_right(starts, max(s.start, s.stop - 1)) - 1
    ends = [*cuts[1:], len(starts)]
    return list(zip(cuts, ends, strict=True))


class Slicer(QObject):
    """The pending colouring of one large text: chunks queued, what each line is coloured with.

    A text that scans is coloured here, with the highlighter detached from the document: Qt
    would otherwise call it for all 10,000 lines when the text is set (~20 ms of Python calls),
    and setting a line's formats on its layout directly is ~10x cheaper than rehighlightBlock.
    For a refused text the highlighter stays attached and asks whether a line is below
    `allowed`. A new text or a restyle replaces the queue, so no slice of an old text or theme
    runs after it.
    """

    finished = Signal()  # the queue has drained: every line is coloured as the whole-text scan would

    def __init__(self, highlighter: SqlHighlighter, document: QTextDocument) -> None:
        super().__init__(highlighter)
        self._highlighter = highlighter
        self._document = document
        self._timer = QTimer(self)
        self._timer.setInterval(0)  # zero interval: a slice per event-loop turn, after paints and input
        self._timer.timeout.connect(self._slice)
        self.active = False  # whether the shown text is large (coloured by slices)
        self.sequential = False  # whether the scanner refused it (the line-by-line fallback, top down)
        self.lines: list[list[Span] | None] = []
        self.allowed = 0  # sequential: lines below this may be coloured
        self.reached = -1  # the last line the highlighter was asked for (set by it)
        self._text = ""
        self._starts: list[int] = []
        self._chunks: list[tuple[int, int]] = []
        self._scanned: set[int] = set()  # first lines of the chunks already scanned
        self._queue: list[tuple[int, int]] = []
        self.visible: Callable[[], tuple[int, int]] = lambda: (0, CHUNK_LINES)  # the view sets this

    @property
    def done(self) -> bool:
        """Whether no slice is pending."""
        return not self._queue

    def prepare(self, text: str) -> bool:
        """Take a text about to be shown; False (and nothing pending) when it is small."""
        self._timer.stop()
        self._queue = []
        self._scanned = set()
        self.active = text.count("\n") + 1 >= CHUNKED_FROM_LINES
        if not self.active:
            self.lines, self._text, self._starts, self._chunks = [], "", [], []
            return False
        self._text = text
        self._starts = line_starts(text)
        n = len(self._starts)
        bounds = chunk_bounds(text, self._starts)
        self.sequential = bounds is None
        self._chunks = bounds if bounds is not None else [(a, min(a + CHUNK_LINES, n))
                                                          for a in range(0, n, CHUNK_LINES)]
        self.lines = [None] * n
        self.allowed = 0
        self._queue = list(self._chunks)
        return True

    def start(self) -> None:
        """Colour what is on screen now and the rest from the timer (call once the text is shown)."""
        if not self.active:
            return
        self._slice(first=True)
        if self._queue:
            self._timer.start()

    def restyle(self) -> None:
        """Colour every line again in the new theme (scans are kept: only formats changed)."""
        self._queue = list(self._chunks)
        self._timer.stop()
        self.start()

    def _slice(self, *, first: bool = False) -> None:
        """Chunks until SLICE_MS has passed; the first slice only those on screen (setting the text
        took its share of this event-loop turn already)."""
        began = time.perf_counter()
        while self._queue:
            i = self._next()
            if first and i < 0:
                break
            self._colour(self._queue.pop(max(i, 0)))
            if (time.perf_counter() - began) * 1000 >= SLICE_MS:
                break
        if not self._queue:
            self._timer.stop()
            self.finished.emit()

    def _next(self) -> int:
        """The queued chunk to colour next: one on screen first (-1: none is), a refused text top down."""
        if self.sequential:
            return 0 if self._queue[0][0] <= self.visible()[1] else -1
        first, last = self.visible()
        for i, (a, b) in enumerate(self._queue):
            if a <= last and b > first:
                return i
        return -1

    def _colour(self, chunk: tuple[int, int]) -> None:
        a, b = chunk
        if self.sequential:
            self.allowed = max(self.allowed, b)
            self._rehighlight(a, b)
            return
        if a not in self._scanned:
            self._scanned.add(a)
            end = self._starts[b] if b < len(self._starts) else len(self._text)
            segment = self._text[self._starts[a]:end]
            got = spans_by_line(segment)
            if got is None:  # not expected (the whole text scanned); colour these lines one by one
                got = [spans(line) or [] for line in segment.split("\n")]
            self.lines[a:b] = got[:b - a]
        formats = self._highlighter.formats
        block = self._document.findBlockByNumber(a)
        begin = block.position()
        for n in range(a, b):
            if not block.isValid():
                break
            ranges = []
            for start, end, role in self.lines[n] or ():
                r = QTextLayout.FormatRange()
                r.start, r.length, r.format = start, end - start, formats[role]
                ranges.append(r)
            block.layout().setFormats(ranges)
            end_at = block.position() + block.length()
            block = block.next()
        self._document.markContentsDirty(begin, end_at - begin)  # lay out and repaint these lines

    def _rehighlight(self, a: int, b: int) -> None:
        """Lines [a, b) through the highlighter (a refused text: the fallback needs its block states)."""
        # Qt goes on to the next line by itself while a line's block state changes (the fallback
        # carrying an open comment), so go on from the last line it reached, not line by line.
        document = self._document
        n = a
        while n < b:
            block = document.findBlockByNumber(n)
            if not block.isValid():
                break
            self.reached = n
            self._highlighter.rehighlightBlock(block)
            n = max(n, self.reached) + 1
