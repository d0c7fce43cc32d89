"""Errors in the window: PostgreSQL's message, detail and hint, file:line:column, the offending SQL."""

from __future__ import annotations

import html
from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.errors import MigrationFailed, ServerErrorInfo, redact
from app.core.text import visible
from app.gui.sizing import never_widens
from app.gui.sql_view import SqlView
from app.gui.theme import current
from app.gui.words import in_app

SQL_HEIGHT = 170  # the failing SQL's box at most (a longer file scrolls, its failing line in view)


def _visible_info(info: ServerErrorInfo) -> ServerErrorInfo:
    """The server's words with control characters shown (the fields are put into rich text)."""
    def v(text: str | None) -> str | None:
        return visible(text) if text else text

    return replace(info, message=visible(info.message), detail=v(info.detail), hint=v(info.hint),
                   sqlstate=v(info.sqlstate), ran_statements=[visible(s) for s in info.ran_statements])


def _server_words(info: ServerErrorInfo) -> str:
    """PostgreSQL's message, SQLSTATE (muted), detail, hint and what already ran, as rich text."""
    parts = [f"<b>ERROR:</b> {html.escape(info.message)}"
             + (f" <span style='color:{current().muted}'>(SQLSTATE {html.escape(info.sqlstate)})</span>"
                if info.sqlstate else "")]
    if info.detail:
        parts.append(f"<b>DETAIL:</b> {html.escape(info.detail)}")
    if info.hint:
        parts.append(f"<b>HINT:</b> {html.escape(in_app(info.hint))}")
    if info.ran_statements:
        parts.append("<b>Already ran (outside a transaction):</b> " + html.escape("; ".join(info.ran_statements)))
    return "<br>".join(parts)


class ErrorPanel(QFrame):
    """A red-bordered panel over the migration list; hidden until an error arrives.

    Signals: closed().
    """

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorPanel")
        self.title = QLabel("")
        self.title.setObjectName("errorTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a server message is never markup
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body = QLabel("")
        self.body.setObjectName("errorBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.location = QLabel("")
        self.location.setObjectName("errorLocation")
        self.location.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.location.setTextFormat(Qt.TextFormat.PlainText)
        self.location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.title, self.body, self.location):
            never_widens(label)  # a long server message or path must not widen the window
        self.sql = SqlView(name="The failing SQL")
        self.sql.setMaximumHeight(SQL_HEIGHT)
        self._info: ServerErrorInfo | None = None  # the server's details shown (restyle writes them again)
        close = QPushButton("Dismiss")
        close.clicked.connect(self._close)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.addLayout(head)
        lay.addWidget(self.body)
        lay.addWidget(self.location)
        lay.addWidget(self.sql)
        self.hide()

    def show_error(self, heading: str, error: object) -> None:
        """Show a TidemarkError (MigrationFailed with its server details, and its file's text when the
        worker read it) or a bug report."""
        info: ServerErrorInfo | None = error.info if isinstance(error, MigrationFailed) else None
        self._info = _visible_info(info) if info is not None else None
        text = visible(redact(in_app(str(error))))  # server and file text: controls shown
        if info is None:
            first, _, rest = text.partition("\n")
            self.title.setText(f"{heading}: {first}")
            self.body.setText(html.escape(rest).replace("\n", "<br>"))
            self.body.setVisible(bool(rest))
            self.location.hide()
            self.sql.hide()
        else:
            info = self._info
            assert info is not None
            where = info.location()
            first = text.splitlines()[0] if text else ""
            if where and first.startswith(f"{visible(where)}: "):
                first = first[len(visible(where)) + 2:]  # the file and line are on the "at" line under it
            self.title.setText(f"{heading}: {first}")
            self.body.setText(_server_words(info))
            self.body.show()
            self.location.setText(visible(f"at {where}") if where else "")
            self.location.setVisible(bool(where))
            # Read on the worker (worker.read_failing_file): the UI thread never reads a file.
            source = error.source if isinstance(error, MigrationFailed) else None
            if source is not None:
                # Without the final newline: Qt keeps an empty line after it, which made the box scroll
                # (and centring on the failing last line hid it half under the edge).
                self.sql.show_sql(source.removesuffix("\n"), info.line)
                self.sql.show()
            elif info.statement:
                self.sql.show_sql(info.statement)
                self.sql.show()
            else:
                self.sql.hide()
        if self.sql.isVisibleTo(self):
            self._fit_sql()
        self.show()

    def _fit_sql(self) -> None:
        """As tall as the SQL's lines (up to SQL_HEIGHT): a short file leaves no empty box pushing the list down."""
        view = self.sql
        lines = max(1, view.line_count())  # not the empty line after the file's final newline
        metrics = view.fontMetrics()
        widest = max((metrics.horizontalAdvance(b) for b in view.toPlainText().splitlines()[:500]), default=0)
        margins = 2 * 10 + 8  # the panel's, and the text's
        room = (self.parentWidget() or self).width() - margins - view.gutter_width() - 2 * view.frameWidth()
        scrollbar = view.horizontalScrollBar().sizeHint().height() if widest > room else 0  # only when one shows
        needed = (lines * metrics.lineSpacing() + 2 * view.frameWidth()
                  + int(2 * view.document().documentMargin()) + 1 + scrollbar)  # +1: Qt scrolls without it
        view.setMaximumHeight(min(SQL_HEIGHT, needed))

    def restyle(self) -> None:
        """After a theme switch: the server's words again in the new theme's colours (the SQL's
        marked line is repainted with every other mark, app/gui/marks.py)."""
        if self._info is not None:
            self.body.setText(_server_words(self._info))

    @Slot()
    def _close(self) -> None:
        self.hide()
        self.closed.emit()
