"""A read-only SQL viewer with PostgreSQL syntax highlighting (QSyntaxHighlighter) and line numbers."""

from __future__ import annotations

import re

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPainter,
    QPaintEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.core.text import visible
from app.gui.marks import themed_selection
from app.gui.sql_highlight import Slicer
from app.gui.sql_tokens import Span, spans, spans_by_line

_KEYWORDS = (  # noqa: SIM905 - words in lines read better than a 90-item list
    "ADD ALTER AND AS ASC BEGIN BETWEEN BY CASCADE CASE CHECK COLUMN COMMENT COMMIT CONCURRENTLY CONSTRAINT "
    "COPY CREATE DEFAULT DELETE DESC DISABLE DISTINCT DO DROP ELSE ENABLE END EXISTS EXTENSION FOREIGN FROM "
    "FUNCTION GRANT GROUP HAVING IF IN INDEX INSERT INTO IS JOIN KEY LANGUAGE LEFT LIKE LIMIT NOT NULL ON OR "
    "ORDER OWNER POLICY PRIMARY REFERENCES RENAME REPLACE RESTRICT RETURNS REVOKE ROLLBACK ROW SCHEMA SECURITY "
    "SELECT SEQUENCE SET TABLE THEN TO TRIGGER TRUNCATE TYPE UNIQUE UPDATE USING VALUES VIEW WHEN WHERE WITH "
    "LEVEL RETURN TRANSACTION ANALYZE VACUUM MATERIALIZED"
).split()
_TYPES = (  # noqa: SIM905
    "BIGINT BIGSERIAL BOOLEAN BOOL BYTEA CHAR CHARACTER DATE DOUBLE INT INTEGER INTERVAL JSON JSONB NUMERIC REAL "
    "SERIAL SMALLINT TEXT TIME TIMESTAMP TIMESTAMPTZ UUID VARCHAR VARYING PRECISION TRUE FALSE"
).split()


def _fmt(colour: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(colour))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


from app.gui.theme import current  # noqa: E402


class SqlHighlighter(QSyntaxHighlighter):
    """Keywords, types, strings, numbers, comments; `-- ROLLBACK:` directives stand out.

    The whole text is scanned once by PostgreSQL's scanner (app/gui/sql_tokens.py) before it is
    shown, and each line takes its spans from that. When the scanner refuses the text (an
    unterminated string or comment), each line is scanned alone, and a line it refuses too is
    coloured by the regex list below, which tracks block comments across lines. A large text is
    coloured in slices after it is shown instead (app/gui/sql_highlight.py): the same colours.
    """

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._lines: list[list[Span]] | None = None
        self._scanned_length = -1
        self._document = document
        self.slicer = Slicer(self, document)
        self.restyle(rehighlight=False)

    def prepare(self, text: str) -> None:
        """Scan the text about to be shown (call before setPlainText with the same text).

        A large text is not scanned here: it is left to the slicer (call `start` once it is shown).
        """
        chunked = self.slicer.prepare(text)
        # A large text that scans is coloured by the slicer, not through Qt's calls to this class.
        # Attaching again waits for `start`: Qt skips the changes made while a rehighlight that
        # attaching schedules is pending, so the text would be plain until the next event-loop turn.
        if self.document() is not None and chunked and not self.slicer.sequential:
            self.setDocument(None)  # Qt clears the old text's formats here
        if chunked:
            self._lines, self._scanned_length = None, -1
            return
        self._lines = spans_by_line(text)
        self._scanned_length = len(text)

    def start(self) -> None:
        """Colour the text prepared and shown (a large one: the lines on screen first, the rest later)."""
        if self.document() is None and (not self.slicer.active or self.slicer.sequential):
            self.setDocument(self._document)
            self.rehighlight()  # now, not at the next turn: the text shows coloured
        self.slicer.start()

    @property
    def formats(self) -> dict[str, QTextCharFormat]:
        """The current theme's format of each role."""
        return self._formats

    @property
    def scanned(self) -> bool:
        """Whether the shown text was coloured from one scan of the whole (not line by line)."""
        if self.slicer.active:
            return not self.slicer.sequential
        return self._lines is not None and self._scanned_length == self.document().characterCount() - 1

    def restyle(self, *, rehighlight: bool = True) -> None:
        """Take the current theme's colours (after a theme switch, the text is coloured again)."""
        t = current()
        self._formats = {
            "sql_keyword": _fmt(t.sql_keyword, bold=True), "sql_type": _fmt(t.sql_type),
            "sql_number": _fmt(t.sql_number), "sql_string": _fmt(t.sql_string), "sql_ident": _fmt(t.sql_ident),
            "sql_dollar": _fmt(t.sql_dollar, bold=True), "sql_comment": _fmt(t.sql_comment, italic=True),
            "sql_directive": _fmt(t.sql_directive, bold=True),
        }
        self._rules = [
            (re.compile(r"\b(?:" + "|".join(_KEYWORDS) + r")\b", re.IGNORECASE), self._formats["sql_keyword"]),
            (re.compile(r"\b(?:" + "|".join(_TYPES) + r")\b", re.IGNORECASE), self._formats["sql_type"]),
            (re.compile(r"\b\d+(?:\.\d+)?\b"), self._formats["sql_number"]),
            (re.compile(r"'(?:[^']|'')*'"), self._formats["sql_string"]),
            (re.compile(r'"(?:[^"]|"")*"'), self._formats["sql_ident"]),
            (re.compile(r"\$[A-Za-z_]*\$"), self._formats["sql_dollar"]),
        ]
        self._comment = self._formats["sql_comment"]
        self._directive = self._formats["sql_directive"]
        self._line_comment = re.compile(r"--.*$")
        self._directive_re = re.compile(r"--\s*(?:ROLLBACK\b|tidemark:)", re.IGNORECASE)
        if rehighlight and self.slicer.active:
            self.slicer.restyle()  # a whole rehighlight of a large text would stall like its scan
        elif rehighlight and self.document() is not None:
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        """Colour one line from the scan of the whole text, or of this line, or by the regex list."""
        if self.slicer.active:
            self._sliced_block(text)
            return
        if self.scanned:
            assert self._lines is not None
            n = self.currentBlock().blockNumber()
            if n < len(self._lines):
                for start, end, role in self._lines[n]:
                    self.setFormat(start, end - start, self._formats[role])
            return
        self._fallback_block(text)

    def _sliced_block(self, text: str) -> None:
        """A line of a large refused text: plain until its slice has come (Qt asks for every line at once)."""
        n = self.currentBlock().blockNumber()
        self.slicer.reached = n
        if self.slicer.sequential:
            if n < self.slicer.allowed:
                self._fallback_block(text)
            return  # the block state stays: Qt's rehighlight of a slice stops here
        got = self.slicer.lines[n] if n < len(self.slicer.lines) else None
        for start, end, role in got or ():
            self.setFormat(start, end - start, self._formats[role])

    def _fallback_block(self, text: str) -> None:
        """This line scanned alone, or (refused too, or inside an open comment) by the regex list."""
        if self.previousBlockState() != 1:
            alone = spans(text)
            if alone is not None:
                self.setCurrentBlockState(0)
                for start, end, role in alone:
                    self.setFormat(start, end - start, self._formats[role])
                return
        self._regex_block(text)

    def _regex_block(self, text: str) -> None:
        """The fallback: colour one line by regex; block comments carry over lines through the block state."""
        for pattern, fmt in self._rules:
            for m in pattern.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)
        self.setCurrentBlockState(0)
        pos = 0
        if self.previousBlockState() == 1:  # inside a /* ... */ that began on an earlier line
            end = text.find("*/")
            if end < 0:
                self.setFormat(0, len(text), self._comment)
                self.setCurrentBlockState(1)
                return
            self.setFormat(0, end + 2, self._comment)
            pos = end + 2
        while (start := text.find("/*", pos)) >= 0:
            end = text.find("*/", start + 2)
            if end < 0:
                self.setFormat(start, len(text) - start, self._comment)
                self.setCurrentBlockState(1)
                return
            self.setFormat(start, end + 2 - start, self._comment)
            pos = end + 2
        m = self._line_comment.search(text)
        if m and not _inside_string(text, m.start()):
            fmt = self._directive if self._directive_re.match(text, m.start()) else self._comment
            self.setFormat(m.start(), len(text) - m.start(), fmt)


def _inside_string(text: str, pos: int) -> bool:
    return text.count("'", 0, pos) % 2 == 1


_ERROR_LINE = 0x100101  # a QTextFormat user property: this extra selection is the marked line


class _Gutter(QWidget):
    """The line numbers left of the text, painted by the view."""

    def __init__(self, view: SqlView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self) -> QSize:
        return QSize(self.view.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.view.paint_gutter(event)


class SqlView(QPlainTextEdit):
    """Read-only, monospaced, highlighted SQL with line numbers; can mark one line (an error's line)."""

    def __init__(self, parent: QWidget | None = None, placeholder: str = "", *, name: str = "SQL") -> None:
        super().__init__(parent)
        self.setAccessibleName(name)  # what a screen reader calls this pane
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText(placeholder)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.highlighter = SqlHighlighter(self.document())
        self.highlighter.slicer.visible = self.visible_lines
        self.gutter = _Gutter(self)
        self.blockCountChanged.connect(self._fit_gutter)
        self.updateRequest.connect(self._scroll_gutter)
        self._fit_gutter()

    def visible_lines(self) -> tuple[int, int]:
        """The first and last line numbers (0-based) that fit in the viewport now."""
        first = self.firstVisibleBlock().blockNumber()
        return first, first + self.viewport().height() // max(1, self.fontMetrics().height()) + 1

    def line_count(self) -> int:
        """The lines of SQL shown: none for an empty text (its hint shows), and the empty line after a
        final newline is no line of the file (an editor numbers it; a reader of the file does not)."""
        doc = self.document()
        if doc.isEmpty():
            return 0
        n = doc.blockCount()
        return n - 1 if n > 1 and not doc.lastBlock().text() else n

    def gutter_width(self) -> int:
        """Room for the widest line number (at least three digits, so it rarely changes)."""
        digits = max(3, len(str(self.blockCount())))
        return 10 + self.fontMetrics().horizontalAdvance("9") * digits

    def _fit_gutter(self, _count: int = 0) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _scroll_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        r = self.contentsRect()
        self.gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        """Paint the numbers of the visible lines (theme colours: muted on code_bg, AA contrast)."""
        t = current()
        painter = QPainter(self.gutter)
        painter.fillRect(event.rect(), QColor(t.code_bg))
        painter.setPen(QColor(t.muted))
        painter.setFont(self.font())
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        width = self.gutter.width() - 5
        numbered = self.line_count()  # the hint and a final newline's empty line get no number
        while block.isValid() and top <= event.rect().bottom() and block.blockNumber() < numbered:
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(block.blockNumber() + 1))
            block = block.next()
            top = bottom
        painter.end()

    def contextMenuEvent(self, event: object) -> None:
        """Copy, Select all, Copy all and Find (app/gui/context_menus.py)."""
        from app.gui.context_menus import sql_menu

        menu = sql_menu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())  # type: ignore[attr-defined]

    def show_sql(self, sql: str | None, mark_line: int | None = None) -> None:
        """Show SQL (None: empty, the placeholder shows) and optionally mark a 1-based line."""
        shown = visible(sql or "")  # controls shown (lines kept: mark_line still fits)
        self.highlighter.prepare(shown)
        self.setPlainText(shown)
        self.mark_line(mark_line)
        self.highlighter.start()  # after the scroll: a large text colours the lines on screen first

    def mark_line(self, line: int | None) -> None:
        """Highlight a 1-based line and scroll to it."""
        others = [x for x in self.extraSelections() if not x.format.hasProperty(_ERROR_LINE)]  # find marks stay
        if line is None or line < 1:
            self.setExtraSelections(others)
            return
        block = self.document().findBlockByNumber(line - 1)
        if not block.isValid():
            self.setExtraSelections(others)
            return
        cursor = QTextCursor(block)
        sel = themed_selection(cursor, "error_bg", full_width=True)  # a theme switch paints it again
        sel.format.setProperty(_ERROR_LINE, True)
        self.setExtraSelections([sel, *others])
        self.setTextCursor(cursor)
        self.centerCursor()
