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


def _statements(text: str) -> list[slice] | None:
    """Where the statements are (scanner only); None when the scanner refuses the text."""
    from pglast import parser

    try:
        return parser.split(text, with_parser=False, only_slices=True)
    except Exception:  # an unterminated string or comment
        return None


def head_chunk(text: str, starts: list[int], size: int = CHUNK_LINES) -> int:
    """A line where the text can be cut, found from its first few chunks only (0: none found).

    The statements the scanner finds in a prefix, all but the last (which the prefix may cut
    short), are those it finds in the whole text: it reads left to right.
    """
    # A prefix that ends inside a string, comment or dollar body is refused: try a few ends
    # (~0.5 ms each) before leaving it to the split of the whole text.
    for end in range(3 * size, 6 * size, 37):
        if end >= len(starts):
            return 0
        statements = _statements(text[:starts[end]])
        if statements is None or len(statements) < 2:
            continue
        last = statements[-1]
        cuts = _cuts([*statements[:-1], slice(last.start, last.start + 1)], starts, size)
        if len(cuts) > 1:
            return cuts[1]
    return 0


def chunk_bounds(text: str, starts: list[int], size: int = CHUNK_LINES) -> list[tuple[int, int]] | None:
    """Line ranges [first, end) to scan one at a time, cut only between statements; None if refused."""
    statements = _statements(text)
    if statements is None:
        return None
    cuts = _cuts(statements, starts, size)
    ends = [*cuts[1:], len(starts)]
    return list(zip(cuts, ends, strict=True))


def _cuts(statements: list[slice], starts: list[int], size: int) -> list[int]:
    cuts = [0]
    previous_last = -1
    for s in statements:
        first = bisect_right(starts, s.start) - 1
        # Cut where this statement starts its line and the previous one ended on an earlier line:
        # the start of that line is outside every token, as at the start of the text.
        if previous_last < first and first - cuts[-1] >= size:
            cuts.append(first)
        previous_last = bisect_right(starts, max(s.start, s.stop - 1)) - 1
    return cuts


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
        self._scanned: set[tuple[int, int]] = set()  # the chunks already scanned
        self._deferred = False  # whether the split of the whole text is still to do (a slice does it)
        self._queue: list[tuple[int, int]] = []
        self.visible: Callable[[], tuple[int, int]] = lambda: (0, CHUNK_LINES)  # the view sets this

    @property
    def done(self) -> bool:
        """Whether no slice is pending."""
        return not self._queue and not self._deferred

    def prepare(self, text: str) -> bool:
        """Take a text about to be shown; False (and nothing pending) when it is small."""
        self._timer.stop()
        self._queue = []
        self._scanned = set()
        self._deferred = False
        self.active = text.count("\n") + 1 >= CHUNKED_FROM_LINES
        if not self.active:
            self.lines, self._text, self._starts, self._chunks = [], "", [], []
            return False
        self._text = text
        self._starts = line_starts(text)
        self.lines = [None] * len(self._starts)
        self.allowed = 0
        self.sequential = False
        # Splitting the whole text (~8 ms) waits for the first timer slice when the top of the
        # text can be cut from its first lines alone: setting the text is most of this turn.
        head = head_chunk(text, self._starts)
        self._deferred = head > 0
        if self._deferred:
            self._chunks = [(0, head)]
            self._queue = list(self._chunks)
        else:
            self._split()
        return True

    def _split(self) -> None:
        """Chunk the whole text; when the scanner refuses it, hand it to the highlighter's fallback."""
        self._deferred = False
        n = len(self._starts)
        bounds = chunk_bounds(self._text, self._starts)
        if bounds is not None:
            self._chunks = bounds
            self._queue = [c for c in bounds if any(self.lines[k] is None for k in range(*c))]
            return
        self.sequential = True
        self._chunks = [(a, min(a + CHUNK_LINES, n)) for a in range(0, n, CHUNK_LINES)]
        self._queue = list(self._chunks)
        if self._highlighter.document() is None:  # the head's scanned colours go: the fallback's come
            self._highlighter.setDocument(self._document)
            self._highlighter.rehighlight()

    def start(self) -> None:
        """Colour what is on screen now and the rest from the timer (call once the text is shown)."""
        if not self.active:
            return
        if self._deferred and self.visible()[1] >= self._chunks[0][1]:
            self._split()  # the screen shows more than the head: its chunks are needed now
        self._slice(first=True)
        if not self.done:
            self._timer.start()

    def restyle(self) -> None:
        """Colour every line again in the new theme (scans are kept: only formats changed)."""
        self._queue = list(self._chunks)
        self._timer.stop()
        self.start()

    def _slice(self, *, first: bool = False) -> None:
        """Chunks until SLICE_MS has passed; the first slice exactly those on screen, however long
        they take (setting the text took its share of this event-loop turn already, and the lines
        shown must never wait for a timer: on a busy machine one chunk alone can pass SLICE_MS)."""
        began = time.perf_counter()
        if self._deferred and not first:
            self._split()
        while self._queue:
            i = self._next()
            if first and i < 0:
                break
            self._colour(self._queue.pop(max(i, 0)))
            if not first and (time.perf_counter() - began) * 1000 >= SLICE_MS:
                break
        if self.done:
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
        if chunk not in self._scanned:
            self._scanned.add(chunk)
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
