"""The main window's actions: what each is called, what it triggers, its keys, where it sits in
the toolbars, and when it is enabled.

One entry of ACTIONS per action: its words, the window method it triggers, its menu and keys;
menus.py builds the menu bar from the table (and the submenus: Export as, Switch to, Theme), icons.py
draws the icons. A new action plugs in here: an entry, a toolbar place if it has one, and a line
in `update_actions` when it is not always available.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QToolBar, QToolButton

from app.core.files import version_key
from app.core.status import MigrationInfo, State
from app.gui import sources as src
from app.gui import theme
from app.gui.jobs import MUTATING_KINDS
from app.gui.settings import read_bool

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


@dataclass(frozen=True)
class ActionSpec:
    """One action of the main window: `attr` on the window, triggering the window method `slot`,
    in the menu `menu` (by its key in MENUS); a change of `group` within a menu is a separator."""

    attr: str
    text: str
    slot: str
    menu: str
    group: int = 0
    tip: str = ""
    keys: str = ""  # a shortcut a DBA knows from other tools; the rest are reached by the menus' mnemonics


# The menu bar, in order: key, title with its mnemonic.
MENUS = (("file", "&File"), ("edit", "&Edit"), ("migrations", "&Migrations"), ("environment", "E&nvironment"),
         ("view", "&View"), ("help", "&Help"))

# Every action, in its menu's order.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("act_new", "&New migration…", "new_migration", "file", 0,
               "Write the next migration file in the project's layout, with its header and an empty rollback "
               "section", keys="Ctrl+N"),
    ActionSpec("act_open", "&Open DSN / folder…", "open_dsn_dialog", "file", 1, keys="Ctrl+O"),
    ActionSpec("act_envs", "Environ&ments…", "open_environments", "file", 1, keys="Ctrl+,"),
    ActionSpec("act_export", "&Export report…", "choose_export", "file", 2,
               "Write a report of this environment: HTML, JSON or PDF", keys="Ctrl+E"),  # then Export as ▸
    ActionSpec("act_quit", "&Quit", "close", "file", 3, keys="Ctrl+Q"),
    # Find acts where the focus is: in the SQL pane or the log it opens that pane's find bar;
    # anywhere else it focuses the migration filter (the list's own "find").
    ActionSpec("act_find", "&Find…", "find", "edit", 0,
               "Find in the focused SQL pane or log; elsewhere, filter the migrations", keys="Ctrl+F"),
    ActionSpec("act_find_next", "Find &next", "find_next", "edit", 0, keys="F3"),
    ActionSpec("act_find_prev", "Find &previous", "find_previous", "edit", 0, keys="Shift+F3"),
    # the migration list's right-click commands, on the selected row (app/gui/context_menus.py)
    ActionSpec("act_copy_name", "&Copy name", "copy_name", "edit", 1, "Copy the selected migration's file name"),
    ActionSpec("act_copy_md", "Copy list as &Markdown", "copy_list_markdown", "edit", 1,
               "Copy the migrations shown (filtered and sorted) as a Markdown table"),
    ActionSpec("act_copy_csv", "Copy list as C&SV", "copy_list_csv", "edit", 1,
               "Copy the migrations shown (filtered and sorted) as CSV"),
    ActionSpec("act_run", "&Run pending", "run_pending", "migrations", 0, keys="Ctrl+Shift+R"),
    ActionSpec("act_run_to", "Run &up to selected", "run_to_selected", "migrations", 0),
    ActionSpec("act_dry", "&Dry run", "dry_run", "migrations", 0, keys="Ctrl+Shift+D"),
    ActionSpec("act_rehearse", "R&ehearse", "rehearse", "migrations", 0,
               "Copy the schema to a throwaway local server, run every pending migration there and roll each "
               "back, checking the schema returns exactly", keys="Ctrl+Shift+H"),
    ActionSpec("act_lint", "L&int pending", "lint_pending", "migrations", 0,
               "Check the pending migrations for statements that lock or rewrite big tables, or break running "
               "clients (squawk and Tidemark's rules)", keys="Ctrl+Shift+I"),
    # what changes the database backwards, apart
    ActionSpec("act_rb_last", "Roll&back last…", "rollback_last", "migrations", 1, keys="Ctrl+Shift+L"),
    ActionSpec("act_rb_to", "Rollback &to selected…", "rollback_to_selected", "migrations", 1),
    # what changes only the history
    ActionSpec("act_baseline", "Base&line up to selected…", "baseline_to_selected", "migrations", 2,
               "Record every migration up to the selected one as applied, without running it"),
    ActionSpec("act_repair", "Re&pair changed…", "repair_changed", "migrations", 2,
               "Accept the new checksum of applied files that changed on disk, with a reason"),
    ActionSpec("act_import", "Imp&ort history from another tool…", "import_history", "migrations", 2,
               "Record what Flyway, dbmate, goose, golang-migrate, Sqitch, Prisma, Diesel or the Supabase CLI "
               "applied here as applied, running nothing"),
    ActionSpec("act_rb_sql", "Write rollback S&QL…", "write_rollback_sql", "migrations", 2,
               "For an applied migration whose rollback is manual: write its rollback SQL into the file and "
               "record it (repair), in one step", keys="Ctrl+Shift+K"),
    ActionSpec("act_history", "&History", "show_history", "migrations", 3, keys="Ctrl+H"),
    ActionSpec("act_show_in_history", "Sho&w in history", "show_selected_in_history", "migrations", 3,
               "History with the selected migration's newest event selected"),
    ActionSpec("act_open_file", "Open &file", "open_selected_file", "migrations", 3,
               "Open the selected migration's file in the system's application for .sql"),
    ActionSpec("act_refresh", "&Refresh", "refresh", "environment", 0, keys="F5"),
    ActionSpec("act_compare", "&Compare…", "compare_dialog", "environment", 0),
    # across environments: in the overview, on this environment's row
    ActionSpec("act_overview", "&Overview of all environments", "show_overview", "environment", 1,
               "Every saved environment's health and counts; run on several at once", keys="Ctrl+Shift+O"),
    ActionSpec("act_drift", "Check dri&ft", "check_drift", "environment", 1,
               "In the overview: replay this environment's applied migrations on a throwaway server and compare "
               "the schemas (reads only)", keys="Ctrl+Shift+F"),
    ActionSpec("act_promote", "Pro&mote to…", "promote", "environment", 1,
               "In the overview: migrate another environment (or a group) up to the last migration applied here",
               keys="Ctrl+Shift+P"),
    # Supabase: what the Supabase CLI recorded beside ours, and the shim for plain PostgreSQL
    ActionSpec("act_supabase", "Supa&base status", "supabase_status", "environment", 2,
               "supabase/config.toml, auth.users, and which versions the Supabase CLI and Tidemark recorded "
               "(reads only)"),
    ActionSpec("act_shim", "&Install Supabase shim…", "install_shim", "environment", 2,
               "Install auth.users, auth.uid() and the API roles, for Supabase migrations on plain PostgreSQL "
               "(not Supabase); skipped where auth.users exists"),  # then Switch to ▸
    ActionSpec("act_shortcuts", "&Keyboard shortcuts", "show_shortcuts", "help", 0, keys="F1"),
    ActionSpec("act_about", "&About Tidemark", "show_about", "help", 0),
)

# The Actions toolbar, in order; None is a separator (what runs forwards, what undoes, what reads).
TOOLBAR: tuple[str | None, ...] = ("act_run", "act_dry", "act_rehearse", "act_run_to", None,
                                   "act_rb_last", "act_rb_to", None, "act_history")


def build_actions(w: MainWindow) -> None:
    """Every action of ACTIONS on the window, the environment bar and the Actions toolbar."""
    for spec in ACTIONS:
        action = QAction(spec.text, w)
        if spec.tip:
            action.setToolTip(spec.tip)
            action.setStatusTip(spec.tip)  # said in the status bar while the menu entry is highlighted
        if spec.keys:
            action.setShortcut(QKeySequence(spec.keys))
        action.triggered.connect(lambda _=False, slot=spec.slot: getattr(w, slot)())
        setattr(w, spec.attr, action)
    w.act_envs.setVisible(src.environments_available())

    envbar = QToolBar("Environment")
    envbar.setObjectName("envbar")
    envbar.setMovable(False)
    w.addToolBar(envbar)
    envbar.addWidget(QLabel(" Environment: "))
    w.env_combo = QComboBox()
    w.env_combo.setMinimumWidth(240)
    w.env_combo.activated.connect(w._env_picked)
    envbar.addWidget(w.env_combo)
    envbar.addAction(w.act_open)
    envbar.addAction(w.act_envs)
    envbar.addSeparator()
    envbar.addAction(w.act_refresh)

    bar = QToolBar("Actions")
    bar.setObjectName("actions")
    bar.setMovable(False)
    w.addToolBarBreak()
    w.addToolBar(bar)
    for attr in TOOLBAR:
        if attr is None:
            bar.addSeparator()
        else:
            bar.addAction(getattr(w, attr))
    w.export_button = QToolButton()
    w.export_button.setObjectName("exportButton")  # its menu arrow is styled (tidemark.qss)
    w.export_button.setText("Export report")
    w.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = w.export_menu = QMenu(w.export_button)
    for label, fmt in (("&HTML…", "html"), ("&JSON…", "json"), ("&PDF…", "pdf")):
        menu.addAction(label).setData(fmt)
    menu.addSeparator()
    w.act_open_after = menu.addAction("&Open after saving")
    w.act_open_after.setCheckable(True)
    w.act_open_after.setChecked(read_bool(w.settings, "export/open_after", True))
    menu.triggered.connect(lambda action: w._export_menu(action))
    w.export_button.setMenu(menu)
    bar.addWidget(w.export_button)
    bar.addAction(w.act_compare)


def colour_icon(colour: str, protected: bool) -> QIcon:
    """A coloured square for the environment bar's picker (a darker frame marks a protected one)."""
    pm = QPixmap(14, 14)
    pm.fill(QColor(colour))
    if protected:
        from PySide6.QtGui import QPainter, QPen

        p = QPainter(pm)
        p.setPen(QPen(QColor(theme.current().text), 2))
        p.drawRect(1, 1, 12, 12)
        p.end()
    return QIcon(pm)


def update_actions(w: MainWindow) -> None:
    """Enable what can run now: on the snapshot shown, the selected migration, and nothing running."""
    busy = w.controller.busy
    mutating = w.controller.current_kind in MUTATING_KINDS
    status = w.snapshot.status if w.snapshot is not None else None
    m = w.list.current()
    have = w.source is not None and status is not None and not busy
    pending = bool(status and status.has_work)  # versioned ones, or only repeatables due
    applied = list(status.applied) if status else []
    w.act_run.setEnabled(have and pending)
    w.act_dry.setEnabled(have)
    w.act_rehearse.setEnabled(have and pending)
    w.act_run_to.setEnabled(have and m is not None and m.state in (State.PENDING, State.FAILED))
    newest = max(applied, key=lambda a: version_key(a.version), default=None)
    blocked = manual_rollback([newest] if newest is not None else [])
    w.act_rb_last.setEnabled(have and bool(applied) and blocked is None)
    w.act_rb_last.setToolTip(blocked or "Roll back the newest applied migrations, newest first (Ctrl+Shift+L)")
    after = [a for a in applied if m is not None and version_key(a.version) > version_key(m.version)]
    blocked = manual_rollback(after)
    w.act_rb_to.setEnabled(have and m is not None and m.is_applied and bool(after) and blocked is None)
    w.act_rb_to.setToolTip(blocked or "Roll back everything applied after the selected migration")
    w.act_history.setEnabled(have and bool(status and status.history_exists))
    w.act_lint.setEnabled(have and pending)
    w.act_new.setEnabled(w.source is not None and not busy)
    w.act_repair.setEnabled(have and any(x.state is State.MODIFIED or x.line_endings_only
                                         for x in (status.migrations if status else [])))
    w.act_baseline.setEnabled(have and m is not None and m.state is State.PENDING)
    w.act_import.setEnabled(have)
    w.act_supabase.setEnabled(w.source is not None and not busy)  # needs no status: it reads its own
    w.act_shim.setEnabled(w.source is not None and not busy)
    w.act_rb_sql.setEnabled(have and w.manual_to_write() is not None)
    w.export_button.setEnabled(have and report_available())
    w.act_export.setEnabled(w.export_button.isEnabled())
    w.act_compare.setEnabled(not busy and compare_available() and bool(w.sources()))
    w.act_drift.setEnabled(w.in_fleet() and not mutating)
    w.act_promote.setEnabled(w.in_fleet() and not mutating)
    w.act_refresh.setEnabled(w.source is not None and not mutating)
    w.env_combo.setEnabled(not mutating)
    w.act_open.setEnabled(not mutating)
    w.act_envs.setEnabled(not mutating)
    from app.gui.context_menus import update_list_actions

    update_list_actions(w)  # after act_history: Show in history follows it


def manual_rollback(rows: list[MigrationInfo]) -> str | None:
    """Why a rollback of these cannot run (the first whose rollback is manual), or None."""
    manual = next((r for r in sorted(rows, key=lambda r: version_key(r.version), reverse=True)
                   if r.rollback_kind == "manual"), None)
    if manual is None:
        return None
    why = f" ({manual.rollback_note})" if manual.rollback_note else ""
    return (f"Not available: the rollback of {manual.name} is manual{why}. Migrations ▸ Write rollback SQL… "
            "(Ctrl+Shift+K) adds its '-- ROLLBACK BEGIN' block to the file and records it")


@functools.cache
def report_available() -> bool:
    # find_spec, not import: the report modules load jinja2, which the first window does not need.
    return importlib.util.find_spec("app.report.reporter") is not None


@functools.cache
def compare_available() -> bool:
    return importlib.util.find_spec("app.report.compare") is not None
