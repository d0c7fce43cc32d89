"""The main window's menu bar: every action, with mnemonics and shortcuts; the shortcuts list.

The actions and their places are app.gui.actions' table; this module builds the bar from it, adds
the submenus, and names each shortcut in its tooltip.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from app.gui.actions import ACTIONS, MENUS

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

# Every shortcut of the main window, by action attribute.
SHORTCUTS = {spec.attr: spec.keys for spec in ACTIONS if spec.keys}


def build_menus(w: MainWindow) -> None:
    """The menu bar from app.gui.actions' table (File, Edit, Migrations, Environment, View, Help),
    with the submenus: File ▸ Export as, Environment ▸ Switch to, View ▸ Theme."""
    bar = w.menuBar()
    menus: dict[str, QMenu] = {}
    for key, title in MENUS:
        menu = menus[key] = bar.addMenu(title)
        group = None
        for spec in (s for s in ACTIONS if s.menu == key):
            if group is not None and spec.group != group:
                menu.addSeparator()
            group = spec.group
            menu.addAction(getattr(w, spec.attr))
            if spec.attr == "act_export":
                exports = menu.addMenu("Export &as")
                for action in w.export_menu.actions():
                    exports.addAction(action)

    env = menus["environment"]
    env.addSeparator()
    w.sources_menu = env.addMenu("&Switch to")
    w.sources_menu.aboutToShow.connect(lambda: fill_sources_menu(w, w.sources_menu))

    themes = menus["view"].addMenu("&Theme")
    theme_group = QActionGroup(w)
    w.theme_actions = {}
    for choice, label in (("system", "Follow the &system"), ("light", "&Light"), ("dark", "&Dark")):
        action = themes.addAction(label)
        action.setCheckable(True)
        action.setData(choice)
        theme_group.addAction(action)
        action.triggered.connect(lambda _=False, c=choice: w.apply_theme(c))
        w.theme_actions[choice] = action
    w.theme_actions.get(w.theme_choice, w.theme_actions["system"]).setChecked(True)

    name_shortcuts_in_tooltips(w)
    w.export_button.setToolTip(w.act_export.toolTip())  # a widget in the bar: it says File ▸ Export's keys too
    reachable_by_tab(w)
    from app.gui.icons import apply_icons

    apply_icons(w)
    icons_beside_text(w)


def icons_beside_text(w: QWidget) -> None:
    """Toolbar buttons show their icon and their words: an icon alone is a guess for a new user."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolBar

    for bar in w.findChildren(QToolBar):
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    export = getattr(w, "export_button", None)
    if export is not None:  # a widget in the bar, not an action's button: the bar's style skips it
        export.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)


def reachable_by_tab(w: QWidget) -> None:
    """Toolbar buttons take focus from Tab (Qt leaves them out of the tab chain), each with its name read out."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolBar, QToolButton

    for bar in w.findChildren(QToolBar):
        for action in bar.actions():
            button = bar.widgetForAction(action)
            if isinstance(button, QToolButton) and not action.isSeparator():
                button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
                if not button.accessibleName():
                    button.setAccessibleName((action.text() or button.text()).replace("&", "").strip())


def name_shortcuts_in_tooltips(w: QWidget) -> None:
    """Every action's tooltip ends with its shortcut, as the platform writes it."""
    for action in keyed_actions(w):
        keys = action.shortcut()
        tip = action.toolTip() or action.text().replace("&", "")
        shown = keys.toString(QKeySequence.SequenceFormat.NativeText)
        if shown not in tip:
            action.setToolTip(f"{tip} ({shown})")


def fill_sources_menu(w: MainWindow, menu: QMenu) -> None:
    """The environments, the current one checked; choosing one switches to it (not while a run works)."""
    menu.clear()
    current = w.source.key if w.source else None
    for s in w.sources():
        action = menu.addAction(f"{s.name}  (protected)" if s.protected else s.name)
        action.setCheckable(True)
        action.setChecked(s.key == current)
        action.setEnabled(w.env_combo.isEnabled())
        action.triggered.connect(lambda _=False, s=s: w.set_source(s))
    if not w.sources():
        menu.addAction("(no environments: File ▸ Open DSN / folder…)").setEnabled(False)


def keyed_actions(w: QWidget) -> list[QAction]:
    """The actions with a shortcut whose keys act in `w`'s window: those added to a widget of that
    window, or to a menu of its menu bar (not those of a window it owns, such as the overview: its
    actions are its children too, but their keys act only there)."""
    from shiboken6 import isValid

    window = w.window()
    out = []
    for action in dict.fromkeys([*w.actions(), *w.findChildren(QAction)]):
        # isValid: Qt's own short-lived actions (a line edit's clear button) may be gone meanwhile
        if isValid(action) and not action.shortcut().isEmpty() and window in _windows_of(action):
            out.append(action)
    return out


def _windows_of(action: QAction, depth: int = 0) -> set[QWidget]:
    """The windows whose widgets (or menu bars, through their menus) hold this action."""
    found: set[QWidget] = set()
    for holder in action.associatedObjects():
        if isinstance(holder, QMenu) and depth < 8:
            found |= _windows_of(holder.menuAction(), depth + 1)  # a menu's keys act where the menu is
        elif isinstance(holder, QWidget):
            found.add(holder.window())
    return found


def shortcut_rows(w: QWidget) -> list[tuple[str, str]]:
    """(action, keys) for every action that has a shortcut in this window, by name."""
    rows = {}
    for action in keyed_actions(w):
        if action.text():
            rows[action.text().replace("&", "").rstrip("…").strip()] = action.shortcut().toString(
                QKeySequence.SequenceFormat.NativeText)
    return sorted(rows.items())


def show_shortcuts(w: QWidget) -> QDialog:
    """A dialog listing the keyboard shortcuts."""
    dialog = QDialog(w)
    dialog.setWindowTitle("Keyboard shortcuts")
    dialog.resize(460, 420)
    lay = QVBoxLayout(dialog)
    view = QTextBrowser()
    view.setAccessibleName("Keyboard shortcuts")
    rows = "".join(f"<tr><td>{html.escape(a)}</td><td><b>{html.escape(k)}</b></td></tr>" for a, k in shortcut_rows(w))
    view.setHtml("<table cellpadding='4'>" + rows + "</table><p>Every action is also in the menus: Alt and the "
                 "underlined letter opens one. In a confirmation, type the environment's name and press Enter; "
                 "Escape cancels.</p>")
    lay.addWidget(view)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    lay.addWidget(buttons)
    dialog.open()
    return dialog


def show_about(w: QWidget) -> None:
    """Version and where the log is."""
    from app import __version__
    from app.core.dirs import log_file

    QMessageBox.about(w, "About Tidemark", f"<b>Tidemark {html.escape(__version__)}</b><br>SQL-file schema "
                      f"migrations for PostgreSQL and Supabase.<br>Log: {html.escape(str(log_file()))}")


# The overview is a window of its own: its shortcuts act there, on the selected rows. An action
# that is in both windows (Run pending, Dry run, Rehearse, Check drift, Promote) has the same keys.
OVERVIEW_SHORTCUTS = {
    "act_refresh": "F5",
    "act_dry": "Ctrl+Shift+D",
    "act_run": "Ctrl+Shift+R",
    "act_drift": "Ctrl+Shift+F",
    "act_rehearse": "Ctrl+Shift+H",
    "act_promote": "Ctrl+Shift+P",
    "act_cancel": "Ctrl+.",
    "act_open": "Ctrl+O",
}


def build_overview_menus(o: QWidget) -> None:
    """The overview's menu bar: Targets (every action on the selection) and Help."""
    from PySide6.QtWidgets import QMenuBar

    for name, keys in OVERVIEW_SHORTCUTS.items():
        getattr(o, name).setShortcut(QKeySequence(keys))
    bar = QMenuBar(o)
    targets = bar.addMenu("&Targets")
    targets.addAction(o.act_refresh)  # type: ignore[attr-defined]
    targets.addSeparator()
    for name in ("act_dry", "act_run", "act_rehearse", "act_drift", "act_promote"):
        targets.addAction(getattr(o, name))
    targets.addSeparator()
    targets.addAction(o.act_cancel)  # type: ignore[attr-defined]
    targets.addSeparator()
    targets.addAction(o.act_open)  # type: ignore[attr-defined]
    help_menu = bar.addMenu("&Help")
    o.act_shortcuts = help_menu.addAction("&Keyboard shortcuts")  # type: ignore[attr-defined]
    o.act_shortcuts.setShortcut(QKeySequence("F1"))  # type: ignore[attr-defined]
    o.act_shortcuts.triggered.connect(lambda: show_shortcuts(o))  # type: ignore[attr-defined]
    o.addAction(o.act_shortcuts)  # type: ignore[attr-defined]
    o.menu_bar = bar  # type: ignore[attr-defined]
    layout = o.layout()
    if layout is not None:
        layout.setMenuBar(bar)
    name_shortcuts_in_tooltips(o)
