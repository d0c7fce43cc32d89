"""Environment ▸ Supabase status and Environment ▸ Install Supabase shim…: the app's `supabase-status`
and `supabase-shim`.

Both read or change the database on the worker (the window's TaskController). The status is worded
by app.core.supabase_status, as the CLI's is. Before the shim goes in, the worker looks whether
auth.users exists (then nothing would be installed, and nothing is asked); otherwise the dialog says
what the shim installs and asks what app.core.protection requires for the target as the worker
resolved it; app.core.supabase.apply_shim enforces that rule where it changes the database.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.protection import Action, Confirmation, Requirement, confirm, requirement
from app.core.supabase_status import HEADERS, SHIM_CONTENTS, SupabaseStatus
from app.core.text import counted as count
from app.core.text import visible
from app.gui.maintenance_dialogs import Confirming
from app.gui.table_fit import ElideDistinct
from app.gui.words import in_app

if TYPE_CHECKING:
    from app.core.connect import Target
    from app.core.progress import CancelToken
    from app.core.runner import MigrationRunner
    from app.core.supabase import ShimResult
    from app.gui.main_window import MainWindow


# --- on the worker (no widgets) ----------------------------------------------------------------


def read_status(runner: MigrationRunner) -> SupabaseStatus:
    """config.toml beside the migrations folder, the files as the runner reads them, both histories."""
    from app.core import supabase_status
    from app.core.supabase import config_candidates, project_config

    folder = Path(runner.migrations_dir)
    files = runner.files() if folder.is_dir() else []
    # The app has no working directory to look in, as the CLI has: the folder's parent stands for
    # the project (it finds proj/supabase/config.toml beside proj/migrations).
    config = project_config(folder.parent, folder)
    return supabase_status.read_status(runner.target, files, config,
                                       tuple(config_candidates(folder.parent, folder)))


@dataclass(frozen=True)
class ShimReview:
    """The target as the worker resolved it, and what applying the shim would skip (None: it installs)."""

    target: Target
    skipped: ShimResult | None


def review_shim(runner: MigrationRunner) -> ShimReview:
    """Look whether auth.users exists (only reads)."""
    from app.core.connect import connect
    from app.core.supabase import shim_skipped

    with connect(runner.target) as conn:
        return ShimReview(runner.target, shim_skipped(conn))


def install_shim(target: Target, confirmed: Confirmation | None, cancel: CancelToken) -> ShimResult:
    """Install the shim; the engine refuses on a protected target unless `confirmed` is for it."""
    from app.core.supabase import apply_shim

    return apply_shim(target, confirmed, cancel)


def outcome(result: ShimResult) -> str:
    """The outcome in one line, as the engine says it, with the extensions it found."""
    extensions = f" (extensions in schema extensions: {', '.join(result.extensions)})" if result.extensions else ""
    return visible(result.message) + extensions


# --- the dialogs ---------------------------------------------------------------------------------


def _plain(text: str, name: str) -> QLabel:
    # Plain text, controls made visible: a project id or an object name is the file's or the server's text.
    label = QLabel(visible(in_app(text)))
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


# HEADERS in the app's case (the CLI's table shouts them); the migration's name is the column that gives way.
COLUMNS = tuple(h.title().replace("Cli", "CLI") for h in HEADERS)
MIGRATION = HEADERS.index("MIGRATION")


class SupabaseStatusDialog(QDialog):
    """config.toml's summary, the database, its auth state and every version in both histories."""

    def __init__(self, status: SupabaseStatus, environment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = status
        self.setWindowTitle(f"Supabase status of {visible(environment)}")
        self.resize(820, 520)
        lay = QVBoxLayout(self)
        self.config = _plain(status.config_line(), "supabase/config.toml")
        self.database = _plain(f"database: {status.database}", "Database")
        self.auth = _plain(status.auth_line(), "auth.users")
        for label in (self.config, self.database, self.auth):
            lay.addWidget(label)
        missing = status.history_line()
        self.history = _plain(missing or "", "The Supabase CLI's history")
        self.history.setVisible(missing is not None)
        lay.addWidget(self.history)
        rows = status.rows()
        self.table = QTableWidget(len(rows), len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Versions in the Supabase CLI's history and Tidemark's")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)  # as History's rows
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long name keeps its version and its end
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(visible(text))
                if c == MIGRATION:
                    item.setToolTip(visible(text))
                self.table.setItem(r, c, item)
        names = ElideDistinct(self.table)  # the words that tell one name from the next stay (as in History)
        names.set_texts(visible(row[MIGRATION]) for row in rows)
        self.table.setItemDelegateForColumn(MIGRATION, names)
        # The states stay in view: the migration's name takes what is left (it pushed File, Supabase CLI
        # and Tidemark past the right edge at the default size).
        header = self.table.horizontalHeader()
        for c in range(len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch if c == MIGRATION
                                        else QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table, 1)
        if not rows:
            lay.addWidget(_plain("no migrations: no files, and neither history records any", "No migrations"))
        advice = status.advice()
        self.advice = _plain(advice or "", "What to do")
        self.advice.setVisible(advice is not None)
        lay.addWidget(self.advice)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def row_texts(self) -> list[list[str]]:
        """The table's cells as shown (for tests and copy)."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]


class ShimDialog(Confirming):
    """What the shim installs, on which database, and the typed name on a protected environment."""

    def __init__(self, need: Requirement, *, target: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Install the Supabase shim on {visible(need.name)}")
        self.resize(620, 320)
        lay = QVBoxLayout(self)
        name, where = html.escape(visible(need.name)), html.escape(visible(target))
        self.head = QLabel(f"<b>Install Tidemark's Supabase shim</b> on <b>{name}</b> ({where}): "
                           f"{html.escape(SHIM_CONTENTS)} It goes in as one transaction: if any of it fails, "
                           "none of it is installed.")
        self.head.setWordWrap(True)
        lay.addWidget(self.head)
        self._finish(lay, need, "&Install shim")

    def confirmation(self) -> Confirmation:
        """For the engine: this target, the shim."""
        return confirm(self.need, typed=self.typed.text() if self.typed else None)


# --- the window's side ---------------------------------------------------------------------------


def start_status(w: MainWindow) -> None:
    """Read the Supabase status on the worker."""
    w._start_on_runner("supabase-status", read_status)


def shown_status(w: MainWindow, status: SupabaseStatus) -> None:
    """The status is back: show it."""
    w.progress.stop(f"Supabase status: {count(len(status.entries), 'version')}")
    w._show_dialog(SupabaseStatusDialog(status, w.source.name if w.source else "", w))


def start_shim(w: MainWindow) -> None:
    """Look whether the shim would install anything, on the worker."""
    w._start_on_runner("shim-review", review_shim)


def reviewed_shim(w: MainWindow, review: ShimReview) -> None:
    """auth.users exists: say so (nothing to confirm, nothing changes); else ask what the rule requires."""
    need = requirement(review.target, Action.SHIM)  # the engine's rule, on the target as resolved
    if review.skipped is not None:
        said = outcome(review.skipped)
        w.progress.stop(said)
        w.log.add(f"Install Supabase shim on {need.name}: {said}")
        return
    w.progress.stop("Supabase shim: waiting for the confirmation")
    dialog = ShimDialog(need, target=review.target.display(), parent=w)
    dialog.accepted.connect(lambda: started(w, review, dialog.confirmation()))
    dialog.rejected.connect(lambda: w.log.add(f"Supabase shim on {need.name} not confirmed: nothing was installed"))
    w._open_confirmation(dialog)


def started(w: MainWindow, review: ShimReview, confirmed: Confirmation | None) -> None:
    """Install on the worker with the confirmation given (None: the engine refuses on a protected target)."""
    if w.controller.busy:
        return
    w.log.add(f"install the Supabase shim on {review.target.display()}")
    w._start("shim", lambda progress, cancel: install_shim(review.target, confirmed, cancel))


def done(w: MainWindow, result: ShimResult) -> None:
    """Installed, or skipped because auth.users exists: said as the engine says it."""
    w._finish_change(outcome(result))
