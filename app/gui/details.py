"""The selected migration: its SQL, its stored rollback SQL, its details.

The file is read on a thread of the tabs' own (a TaskController: never the window's, whose job
may be a run), never on the UI thread: a migrations folder on a network share or a slow
checkout froze the window at each row selected. Until the text arrives the SQL tab says it is
reading; a selection that changed meanwhile drops the old read (the controller's stale-result
rule), so the tab never shows a file other than the selected one's.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QTabWidget, QTextBrowser, QWidget

from app.core.status import MigrationInfo, State
from app.gui.find_bar import Findable
from app.gui.migration_model import format_ms
from app.gui.sql_view import SqlView
from app.gui.theme import current, state_colour
from app.gui.worker import TaskController

if TYPE_CHECKING:  # tasks imports the runner (pglast): not needed before the first window
    from app.gui.tasks import StoredSql

MAX_SHOWN_BYTES = 2_000_000  # a migration file bigger than this is shown truncated


def read_sql(path: Path | None) -> str | None:
    """A migration file's text for display (None when it cannot be read)."""
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SHOWN_BYTES + 1)
    except OSError:
        return None
    text = data[:MAX_SHOWN_BYTES].decode("utf-8-sig", errors="replace")
    if len(data) > MAX_SHOWN_BYTES:
        text += "\n-- (file truncated for display)"
    return text


def details_html(m: MigrationInfo) -> str:
    """Everything status knows about one migration."""
    e = html.escape
    rows = [
        ("State", f"<b style='color:{state_colour(m.state.value)}'>{e(m.state.value)}</b>"),
        ("File", e(m.name)),
        ("Title", e(m.title)),
    ]
    if m.description:
        rows.append(("Description", e(m.description)))
    if m.executed_at:
        rows.append(("Executed at", e(m.executed_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip())))
    if m.execution_time_ms is not None:
        rows.append(("Execution time", e(format_ms(m.execution_time_ms))))
    if m.batch_id:
        rows.append(("Batch", e(m.batch_id)))
    if m.applied_by or m.os_user:
        rows.append(("Applied by", e(f"{m.applied_by or '?'} (OS user {m.os_user or '?'}@{m.client_host or '?'})")))
    if m.rollback_kind:
        note = f" — {e(m.rollback_note)}" if m.rollback_note else ""
        rows.append(("Rollback", f"{e(m.rollback_kind)}{note}"))
    if m.transactional is False:
        rows.append(("Transaction", "ran outside a transaction"))
    if m.baselined:
        rows.append(("Baselined", "recorded as applied without running"))
    if m.out_of_order:
        rows.append(("Order", f"<span style='color:{current().warn}'>older than the newest applied migration "
                              "(out of order)</span>"))
    if m.state is State.MODIFIED:
        rows.append(("Checksum", f"file {e((m.checksum or '')[:12])}… ≠ applied {e((m.applied_checksum or '')[:12])}…"
                                 " — restore the file, or accept it with Migrations ▸ Repair changed…"))
    if m.failure is not None:
        f = m.failure
        where = f"{f.file}:{f.line}" + (f":{f.column}" if f.column else "") if f.file and f.line else ""
        rows.append(("Last failure", f"<span style='color:{current().error}'>{e(f.message)}</span>"
                     + (f"<br>at {e(where)}" if where else "")
                     + (f" (SQLSTATE {e(f.sqlstate)})" if f.sqlstate else "")))
    body = "".join(f"<tr><td valign='top'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<table cellpadding='3'>{body}</table>"


SQL_PLACEHOLDER = "Select a migration to see its SQL."


class DetailsTabs(QTabWidget):
    """SQL, rollback SQL and details of the selected migration (charts are added by the window).

    Signal: file_shown(MigrationInfo): its file's text is in the SQL tab (read off the UI thread).
    """

    file_shown = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reader = TaskController(self)  # the file reads, apart from the window's jobs
        self.reader.finished.connect(self._file_read)
        self._showing: MigrationInfo | None = None  # whose file is being read or shown
        self._line: int | None = None  # the line to mark once its text is there
        self.sql = SqlView(placeholder=SQL_PLACEHOLDER, name="Migration SQL")
        self.rollback = SqlView(placeholder="Select an applied migration to see its stored rollback SQL.",
                               name="Stored rollback SQL")
        self.info = QTextBrowser()
        self.info.setAccessibleName("Migration details")
        self.info.setPlaceholderText("Select a migration.")
        self.addTab(Findable(self.sql), "SQL")
        self.addTab(Findable(self.rollback), "Rollback SQL")
        self.addTab(self.info, "Details")

    def show_migration(self, m: MigrationInfo | None, stored: StoredSql | None) -> None:
        """Fill the tabs for a migration (None: clear them); its file is read on the reader's thread."""
        self._showing = m
        if m is None:
            if self.reader.busy:
                self.reader.cancel()  # its text, when it comes, is dropped (not current)
            self.sql.setPlaceholderText(SQL_PLACEHOLDER)
            self.sql.show_sql(None)
            self.rollback.show_sql(None)
            self.info.clear()
            return
        self._line = m.failure.line if m.failure is not None else None
        self.sql.setPlaceholderText(f"Reading {m.name}…")
        self.sql.show_sql(None)  # never the previous migration's text under this one's name
        path = m.path
        self.reader.start("file", lambda _progress, _cancel: read_sql(path))
        if stored is not None and stored.rollback_sql:
            self.rollback.show_sql(stored.rollback_sql)
        elif stored is not None:
            why = stored.rollback_note or "no rollback SQL could be generated"
            self.rollback.show_sql(f"-- manual rollback: {why}\n-- Add '-- ROLLBACK: <sql>' lines to the file and "
                                   "store them with Migrations ▸ Repair changed…")
        elif m.is_applied:
            self.rollback.show_sql("-- no rollback SQL is stored for this migration")
        else:
            self.rollback.show_sql("-- not applied yet: the rollback is stored when it runs.\n"
                                   "-- Dry run shows the rollback it would store.")
        self.info.setHtml(details_html(m))

    def mark_line(self, line: int) -> None:
        """Mark `line` of the selected migration's SQL: now, or when its text arrives."""
        self._line = line
        if not self.reader.busy:
            self.sql.mark_line(line)

    @Slot(str, str, object)
    def _file_read(self, _kind: str, outcome: str, text: object) -> None:
        m = self._showing
        if m is None:
            return
        if outcome != "ok" or not isinstance(text, str):
            text = (f"-- {m.name}: the file is gone (it is in the history only)" if m.state is State.MISSING
                    else f"-- {m.name}: the file cannot be read")
        self.sql.setPlaceholderText(SQL_PLACEHOLDER)
        self.sql.show_sql(text, self._line)
        self.file_shown.emit(m)

    def shutdown(self) -> None:
        """Stop the reader's thread (the window closes)."""
        self.reader.shutdown(2000)
