"""Smaller dialogs: dry run, open a DSN and folder, the audit trail, rolling back the last N."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.results import RunResult
from app.core.text import counted as count
from app.core.text import visible
from app.gui.table_fit import ElideDistinct, fit_columns
from app.gui.theme import current
from app.gui.words import in_app
from app.history_words import event_words


def dry_run_html(result: RunResult) -> str:
    """The dry run as a readable page: per migration, statements with locks, then the rollback SQL."""
    e = html.escape
    t = current()
    out = []
    n = len(result.planned)
    out.append(f"<h3>{count(n, 'migration')} would run on {e(result.target)}</h3>")
    if not n:
        out.append("<p>Nothing is pending: the database is up to date.</p>")
    for w in result.warnings:
        out.append(f"<p style='color:{t.warn}'>⚠ {e(w)}</p>")
    for i, p in enumerate(result.planned, start=1):
        how = ("in one transaction with its history row" if p.transactional
               else f"<span style='color:{t.error}'>outside a transaction</span> "
                    f"({e(p.non_transactional_reason or '')})")
        out.append(f"<h4>{i}. {e(p.name)}</h4><p>{e(p.title)} — runs {how}"
                   + (" — the file's own BEGIN/COMMIT is replaced by Tidemark's" if p.own_transaction_removed
                      else "") + "</p>")
        out.append("<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse' width='100%'>"
                   "<tr><th align='left'>line</th><th align='left'>statement</th><th align='left'>locks</th></tr>")
        for st in p.statements:
            locks = ", ".join(str(lk) for lk in st.locks) or "—"
            first = st.text.strip().splitlines()[0] if st.text.strip() else ""
            text = first if len(first) < 120 else first[:117] + "…"
            strong = any("ACCESS EXCLUSIVE" in str(lk).upper() for lk in st.locks)
            colour = f" style='color:{t.error}'" if strong else ""
            out.append(f"<tr><td>{st.line}</td><td><code>{e(text)}</code></td><td{colour}>{e(locks)}</td></tr>")
        out.append("</table>")
        kind_colour = t.error if p.rollback_kind == "manual" else t.ok
        out.append(f"<p>Rollback: <b style='color:{kind_colour}'>{e(p.rollback_kind)}</b>"
                   + (f" — {e(p.rollback_note)}" if p.rollback_note else "") + "</p>")
        if p.rollback_sql:
            out.append(f"<pre style='background:{t.code_bg}'>{e(p.rollback_sql)}</pre>")
    return "\n".join(out)


class DryRunDialog(QDialog):
    """What Run pending would do, without doing it."""

    def __init__(self, result: RunResult, environment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Dry run on {environment}")
        self.resize(900, 640)
        lay = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setAccessibleName("What the dry run would do")
        self.view.setHtml(dry_run_html(result))
        lay.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


class OpenDsnDialog(QDialog):
    """Use any DSN and migrations folder (first use, tests, one-off databases)."""

    def __init__(self, parent: QWidget | None = None, dsn: str = "", folder: str = "", *,
                 taken: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.taken = taken  # the saved environments' names (and the sandbox's): a name means one thing
        self.setWindowTitle("Open a database and a migrations folder")
        self.resize(620, 200)
        form = QFormLayout()
        self.dsn = QLineEdit(dsn)
        self.dsn.setPlaceholderText("postgresql://user@host:5432/dbname  (password: ~/.pgpass or PGPASSWORD)")
        self.folder = QLineEdit(folder)
        self.folder.setAccessibleName("Migrations folder")  # in a row with its Browse button: no buddy label
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.name = QLineEdit()
        self.name.setPlaceholderText("optional, e.g. staging")
        self.protected = QCheckBox("Protected (its name typed confirms every run and rollback; a backup first)")
        follows = [True]  # the box follows the name ("prod" in it, as `env add` decides) until clicked

        def name_edited(text: str) -> None:
            from app.core.environments import default_protected

            if follows[0]:
                self.protected.setChecked(default_protected(text.strip()))

        self.protected.clicked.connect(lambda: follows.__setitem__(0, False))
        self.name.textEdited.connect(name_edited)
        form.addRow("Connection string", self.dsn)
        form.addRow("Migrations folder", row)
        form.addRow("Name", self.name)
        form.addRow("", self.protected)
        self.problem = QLabel("")
        self.problem.setObjectName("protectedWarning")  # the theme's error colour
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.problem)
        lay.addWidget(buttons)

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Migrations folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def accept(self) -> None:
        """Check the fields (no connection is made here)."""
        from app.core.connect import resolve_target
        from app.core.errors import UsageError

        try:
            resolve_target(self.dsn.text().strip() or None, env={})
        except UsageError as exc:
            self.problem.setText(in_app(str(exc)))
            return
        folder = Path(self.folder.text().strip()).expanduser()
        if not self.folder.text().strip() or not folder.is_dir():
            self.problem.setText(f"migrations folder {str(folder)!r} is not a folder: choose one with Browse…")
            return
        name = self.name.text().strip()
        if name in self.taken:
            self.problem.setText(f"a saved environment is called {name!r}: choose it in the environment list, "
                                 "or give this database another name")
            return
        super().accept()


class RollbackCountDialog(QDialog):
    """How many of the newest applied migrations to roll back."""

    def __init__(self, applied: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Roll back the last migrations")
        self.count = QSpinBox()
        self.count.setRange(1, max(1, applied))
        self.count.setValue(1)
        form = QFormLayout(self)
        form.addRow(QLabel(f"{applied} migration{'s are' if applied != 1 else ' is'} applied. "
                           "The next step shows the SQL before anything runs."))
        form.addRow("Roll back the last", self.count)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Show the rollback SQL…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


_Index = QModelIndex | QPersistentModelIndex
_HISTORY_COLUMNS = ("When", "Event", "Migration", "Batch", "Time", "DB user", "OS user@host", "Reason / error")
_MIGRATION_COLUMN = 2
# The most of the table's width a column takes before its cells are cut (with "…" and the whole in
# the tooltip): a long migration name or batch id must leave the reason its room.
# The others (when, event, time, DB user) are short by nature and never cut.
_WIDEST_SHARE = {_MIGRATION_COLUMN: 0.26, 3: 0.15, 6: 0.12}


class HistoryModel(QAbstractTableModel):
    """The audit trail (runner.history()) as a table."""

    def __init__(self, events: list[Any], parent: Any = None) -> None:
        super().__init__(parent)
        self._events = sorted(events, key=lambda e: (e.at is not None, e.at), reverse=True)  # newest first

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Rows."""
        return 0 if parent.isValid() else len(self._events)

    def event_at(self, row: int) -> Any:
        """The event on a row."""
        return self._events[row]

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Columns."""
        return 0 if parent.isValid() else len(_HISTORY_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HISTORY_COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text; failures and rollbacks coloured."""
        if not index.isValid():
            return None
        ev = self._events[index.row()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            from PySide6.QtGui import QColor

            t = current()
            return QColor({"failed": t.error, "rolled_back": t.magenta, "cancelled": t.warn, "interrupted": t.warn,
                           "applied": t.ok}.get(ev.event, t.text))
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == len(_HISTORY_COLUMNS) - 1:
            return _why(ev) or None
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 3:
            return ev.batch_id or None  # the whole id: its time is in When, the cell gives the time's digits
        if role == Qt.ItemDataRole.ToolTipRole and index.column() in _WIDEST_SHARE:  # whole, when the cell is cut
            return self.data(index) or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        col = index.column()
        if col == 0:
            return ev.at.strftime("%Y-%m-%d %H:%M:%S") if ev.at else ""
        if col == 1:
            return event_words(ev.event)
        if col == 2:
            return visible(ev.migration_name or "")
        if col == 3:
            from app.gui.migration_model import short_batch

            return short_batch(ev.batch_id)  # as the migration list shows it
        if col == 4:
            from app.gui.migration_model import format_ms

            return format_ms(ev.execution_time_ms)
        if col == 5:
            return ev.db_user or ""
        if col == 6:
            return f"{ev.os_user or ''}@{ev.client_host or ''}" if ev.os_user or ev.client_host else ""
        return " ".join(_why(ev, short=True).split())  # on one line; the tooltip has it whole


def _why(ev: Any, *, short: bool = False) -> str:
    """The reason typed by someone, then the server's error (controls shown); `short`: the error's line
    without the file's path (the cell, next to the Migration column, began with a path cut off)."""
    why = ev.reason or ""
    if ev.error_message:
        where = "" if not (ev.error_file and ev.error_line) else (
            f"line {ev.error_line}: " if short else f"{ev.error_file}:{ev.error_line}: ")
        why = f"{why}; {where}{ev.error_message}" if why else f"{where}{ev.error_message}"
    return visible(why)


class RehearsalDialog(QDialog):
    """A rehearsal's outcome: the copy, each migration and whether its rollback restored the schema."""

    def __init__(self, result: Any, environment: str, parent: QWidget | None = None) -> None:
        from PySide6.QtGui import QFontDatabase
        from PySide6.QtWidgets import QLabel, QPlainTextEdit

        from app.report.rehearsal import rehearsal_headline, rehearsal_lines

        super().__init__(parent)
        self.setWindowTitle(f"Rehearsal of {environment}")
        self.resize(960, 520)
        lay = QVBoxLayout(self)
        verdict = QLabel(rehearsal_headline(result))
        verdict.setWordWrap(True)
        verdict.setObjectName("rehearsalVerdict")
        verdict.setStyleSheet(f"font-weight: 600; color: {current().ok if result.ok else current().error}")
        lay.addWidget(verdict)
        self.view = QPlainTextEdit()
        self.view.setAccessibleName("Rehearsal report")
        self.view.setReadOnly(True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlainText(visible("\n".join(rehearsal_lines(result))))  # server text: controls shown
        lay.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


class HistoryDialog(QDialog):
    """The audit trail with rollbacks, newest first."""

    def __init__(self, events: list[Any], environment: str, parent: QWidget | None = None, *,
                 focus: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"History of {environment}")
        self.resize(1180, 600)  # eight columns, the reason with room: a 1280-pixel screen holds it
        self.model = HistoryModel(events, self)
        self.table = QTableView()
        self.table.setAccessibleName("History events")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        # Cut keeping the version, the end and the part that tells a name from the others: a middle cut
        # made a run of "backfill_…_batch_07_…_from_legacy" names all read "backf…ated_from_legacy.sql".
        names = ElideDistinct(self.table)
        names.set_texts(self.model.data(self.model.index(r, _MIGRATION_COLUMN)) for r in range(self.model.rowCount()))
        self.table.setItemDelegateForColumn(_MIGRATION_COLUMN, names)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{count(len(events), 'event')}, newest first: applies, rollbacks, failures, baselines "
                             "and repairs, each with its reason or error. Hover one to read all of it."))
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.fit_columns()
        if focus is not None:  # Show in history: the migration's newest event selected, in view
            self.select_migration(focus)

    def fit_columns(self) -> None:
        """Each column as wide as its widest cell (a long one up to its share of the table, cut with "…"
        and whole in its tooltip); the reason takes the rest."""
        width = self.table.viewport().width() if self.isVisible() else self.width() - 40
        fit_columns(self.table, range(len(_HISTORY_COLUMNS) - 1), width, _WIDEST_SHARE)

    def showEvent(self, event: Any) -> None:
        """Fit the columns to the table as shown (its fonts and width final)."""
        super().showEvent(event)
        self.fit_columns()

    def select_migration(self, name: str) -> bool:
        """Select the newest event of a migration; False when it has none."""
        for row in range(self.model.rowCount()):
            if self.model.event_at(row).migration_name == name:
                index = self.model.index(row, 0)
                # Not selectRow: it reads the keyboard's modifiers (a Ctrl still held toggles the row off).
                flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                self.table.selectionModel().setCurrentIndex(index, flags)
                self.table.scrollTo(index)
                return True
        return False
