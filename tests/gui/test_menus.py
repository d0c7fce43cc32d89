"""The menu bar holds every action; the standard shortcuts trigger them; the app's options are checked."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from app.gui.app import parse_args
from app.gui.menus import SHORTCUTS, shortcut_rows
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def _menu_actions(menu: QMenu) -> list[QAction]:
    out = []
    for a in menu.actions():
        out.append(a)
        if a.menu() is not None:
            out.extend(_menu_actions(a.menu()))
    return out


def test_every_action_is_in_a_menu_with_a_mnemonic(make_window: WindowFactory) -> None:
    window = make_window()
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&Migrations", "E&nvironment", "&View", "&Help"]
    in_menus = {id(a) for top in window.menuBar().actions() for a in _menu_actions(top.menu())}
    actions = [a for n in dir(window) if n.startswith("act_") and isinstance(a := getattr(window, n), QAction)]
    missing = [a.text() for a in actions if id(a) not in in_menus and a.isVisible()]
    assert missing == []
    for top in window.menuBar().actions():
        for a in top.menu().actions():
            if not a.isSeparator():
                assert "&" in a.text(), f"{a.text()!r} has no mnemonic"


def test_shortcuts_are_set_and_named_in_tooltips(make_window: WindowFactory) -> None:
    window = make_window()
    for name, keys in SHORTCUTS.items():
        action = getattr(window, name)
        assert action.shortcut() == QKeySequence(keys), name
        assert QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText) in action.toolTip(), name
    rows = dict(shortcut_rows(window))
    assert rows["Run pending"] == QKeySequence("Ctrl+Shift+R").toString(QKeySequence.SequenceFormat.NativeText)
    assert len(set(rows.values())) == len(rows), "two actions share a shortcut"


def test_pressing_a_shortcut_triggers_its_action(qtbot, make_window: WindowFactory) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "dryrun"):
        qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    window.last_dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.list.search.hasFocus, timeout=DEADLINE_MS)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "status"):
        qtbot.keyClick(window, Qt.Key.Key_F5)


def test_unknown_options_are_an_error_and_qt_options_pass(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--dns", "postgresql://x"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: tidemark-gui" in err and "unrecognized arguments: --dns" in err
    args = parse_args(["-platform", "offscreen", "-style=fusion", "--environment", "staging"])
    assert args.environment == "staging"
    assert parse_args(["--env", "prod"]).environment == "prod"
    with pytest.raises(SystemExit):
        parse_args(["stray"])
    with pytest.raises(SystemExit):
        parse_args(["--env", "a", "--dsn", "postgresql://x"])


def test_tab_reaches_every_toolbar_button_and_each_has_a_name(qtbot, make_window: WindowFactory) -> None:
    from PySide6.QtWidgets import QToolBar, QToolButton

    window = make_window()
    buttons = [b for bar in window.findChildren(QToolBar) for a in bar.actions()
               if isinstance(b := bar.widgetForAction(a), QToolButton)]
    assert len(buttons) >= 12
    for b in buttons:
        assert b.focusPolicy() & Qt.FocusPolicy.TabFocus, b.text()
        assert b.accessibleName(), b.text()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    seen = set()
    for _ in range(80):  # Tab through the window: every enabled toolbar button comes by
        qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Tab)
        seen.add(window.focusWidget())
    enabled = [b for b in buttons if b.isEnabled() and b.isVisible()]
    assert [b.text() for b in enabled if b not in seen] == []


def test_health_tab_says_when_nothing_is_wrong(make_window: WindowFactory) -> None:
    window = make_window()  # an empty folder on an empty database: nothing wrong
    assert window.cards.reasons.text().startswith("Nothing wrong found")
