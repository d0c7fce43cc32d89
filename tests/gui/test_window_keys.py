"""No two actions reachable in one window share a shortcut; an action in both windows has the same
keys in each; the overview's Check drift and Promote are in the main window's menus and keys."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from app.gui import sources as src
from app.gui.menus import keyed_actions
from app.gui.overview import DRIFT, OverviewWindow
from app.gui.promote_dialog import PromoteDialog
from tests.conftest import Database, MigrationDir, run_cli
from tests.gui.conftest import DEADLINE_MS, QT_NOISE, WindowFactory, asked, is_kind, mnemonic_clashes, open_window

CHECK_MS = 4 * DEADLINE_MS  # a throwaway server for the drift check


def _keys(window: QWidget) -> dict[str, list[str]]:
    """Keys -> the actions that answer them in this window."""
    out: dict[str, list[str]] = {}
    for a in keyed_actions(window):
        for k in a.shortcuts():
            out.setdefault(k.toString(), []).append(a.text().replace("&", ""))
    return out


def _menu_entries(menu: QMenu) -> list[QAction]:
    out = []
    for a in menu.actions():
        out.append(a)
        if a.menu() is not None:
            out += _menu_entries(a.menu())
    return out


def test_no_two_actions_in_one_window_share_a_shortcut(qtbot, make_window: WindowFactory) -> None:
    window = make_window()
    overview = OverviewWindow([], parent=window)
    qtbot.addWidget(overview)
    for w in (window, overview):
        keys = _keys(w)
        assert len(keys) >= 8
        assert {k: names for k, names in keys.items() if len(names) > 1} == {}, w.windowTitle()
    main_keys = {name: a.shortcut().toString() for name in dir(window)
                 if name.startswith("act_") and isinstance(a := getattr(window, name), QAction)}
    shared = [n for n in main_keys if isinstance(getattr(overview, n, None), QAction)]
    assert {"act_run", "act_dry", "act_refresh", "act_drift", "act_promote"} <= set(shared)
    for name in shared:
        assert getattr(overview, name).shortcut().toString() == main_keys[name], name
    assert window.act_rb_sql.shortcut().toString() == "Ctrl+Shift+K" != window.act_drift.shortcut().toString()
    assert not any(a in keyed_actions(window) for a in keyed_actions(overview)), "the overview's keys act there"


def test_every_menu_has_distinct_mnemonics(qtbot, make_window: WindowFactory) -> None:
    window = make_window()
    overview = OverviewWindow([], parent=window)
    qtbot.addWidget(overview)
    assert mnemonic_clashes(window.menuBar()) == []
    assert mnemonic_clashes(overview.menu_bar) == []


@pytest.mark.qt_log_ignore(QT_NOISE, "does not support raise")  # offscreen: the overview is raised again
def test_check_drift_and_promote_from_the_main_window(qtbot, settings: QSettings, saved: dict[str, Database],
                                                      migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    assert run_cli("migrate", "--env", "eu").code == 0
    sources, _ = src.list_sources()
    eu = next(s for s in sources if s.name == "eu")
    window = open_window(qtbot, settings, sources, initial=eu)
    entries = {a.text() for a in _menu_entries(window.menuBar().actions()[3].menu())}
    assert {"Check dri&ft", "Pro&mote to…", "&Overview of all environments"} <= entries
    assert window.act_drift.isEnabled() and window.act_promote.isEnabled()

    asking = []
    window.act_promote.trigger()  # opens the overview; once it has read every status, Promote from eu
    overview = window.overview
    overview.asking.connect(asking.append)
    qtbot.waitUntil(lambda: bool(asking), timeout=DEADLINE_MS)
    dialog = asking[0]
    assert isinstance(dialog, PromoteDialog) and dialog.windowTitle() == "Promote from eu"
    assert sorted(dialog.combo.itemText(i) for i in range(dialog.combo.count())) == ["group tenants", "prod-ap", "us"]
    dialog.reject()

    with qtbot.waitSignal(overview.job_done, timeout=CHECK_MS, check_params_cb=is_kind("drift")) as done:
        window.act_drift.trigger()  # the overview is open and idle: at once, on eu's row only
    assert done.args[1] == "ok" and [m.name for m in done.args[2].members] == ["eu"]
    assert overview.rows["eu"].text(DRIFT) == "agrees"
    assert overview.rows["us"].text(DRIFT) == "not checked"
    overview.close()
    window.close()


def test_a_database_opened_by_dsn_has_no_overview_row(make_window: WindowFactory) -> None:
    window = make_window()  # a target opened directly, not a saved environment
    assert not window.act_drift.isEnabled() and not window.act_promote.isEnabled()


def test_escape_cancels_a_confirmation_and_nothing_runs(qtbot, make_window: WindowFactory, database: Database,
                                                        migrations: MigrationDir) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialog

    from app.gui.run_dialog import RunDialog

    migrations.add("users", "CREATE TABLE users (id int);\n")
    window = make_window(name=f"prod-{database.name}", protected=True)
    dialog = asked(qtbot, window, window.act_run.trigger, RunDialog)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert "not confirmed: nothing ran" in window.log.text()
    assert not database.exists("public.users")


def test_what_undoes_applied_work_is_grouped_apart(make_window: WindowFactory) -> None:
    from PySide6.QtWidgets import QToolBar

    window = make_window()
    bar = next(b for b in window.findChildren(QToolBar) if b.objectName() == "actions")
    menu = window.menuBar().actions()[2].menu()  # Migrations
    for actions in (bar.actions(), menu.actions()):
        at = [actions.index(window.act_rb_last), actions.index(window.act_rb_to)]
        assert at[1] == at[0] + 1
        assert actions[at[0] - 1].isSeparator() and actions[at[1] + 1].isSeparator()


def test_every_toolbar_button_names_its_shortcut(make_window: WindowFactory) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QToolBar, QToolButton

    window = make_window()
    for bar in window.findChildren(QToolBar):
        for action in bar.actions():
            button = bar.widgetForAction(action)
            keys = action.shortcut()
            if isinstance(button, QToolButton) and not keys.isEmpty():
                assert keys.toString(QKeySequence.SequenceFormat.NativeText) in action.toolTip(), action.text()
    assert "Ctrl+E" in window.export_button.toolTip()
