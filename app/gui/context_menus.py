"""Right-click menus: the migration list (copy name, copy the list as Markdown or CSV, open the
file, show in history) and the SQL panes (copy, copy all, select all, find).

The list's commands are in the menu bar too (Edit ▸ Copy name, Copy list as Markdown / CSV;
Migrations ▸ Open file, Show in history): both call the functions here, and both are enabled
by `list_states`. The builders return the menu (tests trigger its actions); the right-click
handlers pop it up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QMenu, QPlainTextEdit

from app.core.status import MigrationInfo

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


def visible_rows(view: QAbstractItemView) -> tuple[list[str], list[list[str]]]:
    """The header and the rows as shown (filtered and sorted), as the cells' text."""
    model = view.model()
    cols = range(model.columnCount())
    header = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in cols]
    rows = [[str(model.index(r, c).data() or "") for c in cols] for r in range(model.rowCount())]
    return header, rows


def as_markdown(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-style Markdown table; `|` and line breaks in a cell are escaped."""
    def cell(v: str) -> str:
        return " ".join(v.split()).replace("\\", "\\\\").replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def as_csv(header: list[str], rows: list[list[str]]) -> str:
    """CSV (RFC 4180 quoting). A cell that a spreadsheet would run as a formula (=, +, -, @ first)
    gets a leading `'`, so pasting a file name like `=cmd…` into a sheet runs nothing."""
    def cell(v: str) -> str:
        return "'" + v if v[:1] in ("=", "+", "-", "@") else v

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in r] for r in rows)
    return buf.getvalue()


def _copy(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def _path(m: MigrationInfo | None) -> Path | None:
    return Path(m.path) if m is not None and getattr(m, "path", None) else None


def list_states(w: MainWindow, m: MigrationInfo | None) -> dict[str, bool]:
    """Which list commands can act on `m` (the selected row, or None): name, lists, file, history.
    No disk is read (the UI thread): a file gone since the last refresh is said in the log when opened."""
    return {"name": m is not None, "lists": w.list.proxy.rowCount() > 0, "file": _path(m) is not None,
            "history": m is not None and w.act_history.isEnabled()}


def copy_list(w: MainWindow, fmt: str) -> None:
    """Copy the rows shown (filtered and sorted) as a Markdown table ("markdown") or CSV ("csv")."""
    rows = visible_rows(w.list.table)
    _copy(as_markdown(*rows) if fmt == "markdown" else as_csv(*rows))


def list_menu(w: MainWindow, m: MigrationInfo | None) -> QMenu:
    """The migration list's menu for a row (None: right-click below the rows)."""
    menu = QMenu(w.list.table)
    count = w.list.proxy.rowCount()
    shown = f"{count} row{'' if count == 1 else 's'}"
    can = list_states(w, m)

    def add(text: str, slot: Callable[[], object], enabled: bool = True) -> None:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        action.setEnabled(enabled)

    if m is not None:
        add("Copy &name", lambda: _copy(m.name))
    add(f"Copy list as &Markdown ({shown})", lambda: copy_list(w, "markdown"), can["lists"])
    add(f"Copy list as &CSV ({shown})", lambda: copy_list(w, "csv"), can["lists"])
    if m is not None:
        menu.addSeparator()
        add("&Open the file", lambda: open_file(w, _path(m)), can["file"])
        add("Show in &history", lambda: show_in_history(w, m.name), can["history"])
    return menu


def update_list_actions(w: MainWindow) -> None:
    """Enable the menu bar's list commands as the right-click menu would be for the selected row."""
    can = list_states(w, w.list.current())
    w.act_copy_name.setEnabled(can["name"])
    w.act_copy_md.setEnabled(can["lists"])
    w.act_copy_csv.setEnabled(can["lists"])
    w.act_open_file.setEnabled(can["file"])
    w.act_show_in_history.setEnabled(can["history"])


class ListCommands:
    """The list's commands on the selected row, as the menu bar triggers them (a mixin of MainWindow)."""

    def copy_name(self: Any) -> None:
        """Edit ▸ Copy name: the selected migration's file name."""
        m = self.list.current()
        if m is not None:
            _copy(m.name)

    def copy_list_markdown(self: Any) -> None:
        """Edit ▸ Copy list as Markdown."""
        copy_list(self, "markdown")

    def copy_list_csv(self: Any) -> None:
        """Edit ▸ Copy list as CSV."""
        copy_list(self, "csv")

    def open_selected_file(self: Any) -> None:
        """Migrations ▸ Open file: the selected migration's file in the system's application for .sql."""
        open_file(self, _path(self.list.current()))

    def show_selected_in_history(self: Any) -> None:
        """Migrations ▸ Show in history: History with the selected migration's newest event selected."""
        m = self.list.current()
        if m is not None and self.act_history.isEnabled():
            show_in_history(self, m.name)


def open_file(w: MainWindow, path: Path | None) -> bool:
    """Open a migration file in the system's application for .sql; the log says when none is set up."""
    if path is None:
        return False
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return True
    w.log.add(f"could not open {path}: no application is set up for .sql files")
    return False


def show_in_history(w: MainWindow, name: str) -> None:
    """Open History with this migration's latest event selected."""
    w.history_focus = name
    w.act_history.trigger()


def install_list_menu(w: MainWindow) -> None:
    """Right-click on the migration list opens list_menu for the row under the pointer."""
    table = w.list.table
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def requested(pos: QPoint) -> None:
        index = table.indexAt(pos)
        if index.isValid():
            table.setCurrentIndex(index)
        menu = list_menu(w, w.list.current() if index.isValid() else None)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(table.viewport().mapToGlobal(pos))

    table.customContextMenuRequested.connect(requested)
    proxy = w.list.proxy  # the filter narrows the rows: Copy list follows (rows gone: disabled)
    for signal in (proxy.rowsInserted, proxy.rowsRemoved, proxy.modelReset, proxy.layoutChanged):
        signal.connect(lambda *_: update_list_actions(w))


def sql_menu(view: QPlainTextEdit) -> QMenu:
    """A read-only text pane's menu: the standard Copy and Select all, then Copy all and Find."""
    menu = view.createStandardContextMenu()
    menu.addSeparator()
    copy_all = menu.addAction("Copy &all")
    copy_all.triggered.connect(lambda: _copy(view.toPlainText()))
    copy_all.setEnabled(bool(view.toPlainText()))
    findable = getattr(view, "findable", None)
    if findable is not None:
        find = menu.addAction("&Find…")
        find.triggered.connect(findable.bar.open_bar)
    return menu
