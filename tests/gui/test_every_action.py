"""Every entry of the main window's menus, and every shortcut, triggers its action: one walk over all
of them (each command replaced by a recorder, so the walk checks the wiring, not the work)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from app.gui import menus
from app.gui.actions import ACTIONS
from tests.conftest import MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def _entries(menu: QMenu) -> list[QAction]:
    out = []
    for a in menu.actions():
        if a.menu() is not None:
            a.menu().aboutToShow.emit()  # the Switch to list is filled when it opens
            out += _entries(a.menu())
        elif not a.isSeparator():
            out.append(a)
    return out


def test_every_menu_entry_and_shortcut_triggers_its_action(qtbot, make_window: WindowFactory,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    calls: list[str] = []

    def record(name: str):
        return lambda *args, **kwargs: calls.append(name)

    for spec in ACTIONS:  # the window's commands, looked up when triggered (Quit: last, for real)
        if spec.attr != "act_quit":
            monkeypatch.setattr(window, spec.slot, record(spec.attr))
    monkeypatch.setattr(window, "apply_theme", lambda choice: calls.append(f"theme {choice}"))
    monkeypatch.setattr(window, "set_source", lambda s, **_: calls.append(f"switch to {s.name}"))
    monkeypatch.setattr(window, "_export_menu", lambda a: calls.append(f"export {a.data() or a.text()}"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *_a, **_k: ("", "")))

    names = {id(getattr(window, n)): n for n in dir(window) if n.startswith("act_")
             and isinstance(getattr(window, n), QAction)}
    entries = [a for top in window.menuBar().actions() for a in _entries(top.menu())]
    expected = {
        "act_quit": None,  # last, for real
        "act_open_after": "export &Open after saving",
    }
    walked = []
    for action in entries:
        name = names.get(id(action))
        if name == "act_quit":
            continue
        action.setEnabled(True)  # the wiring, whatever the state: each command is a recorder here
        calls.clear()
        action.trigger()
        if name in expected:
            want = expected[name]
        elif name is not None:
            want = name
        elif action.data() in ("html", "json", "pdf"):
            want = f"export {action.data()}"
        elif action.data() in ("system", "light", "dark"):
            want = f"theme {action.data()}"
        else:
            want = f"switch to {action.text().replace('  (protected)', '')}"
        assert calls == [want], action.text()
        walked.append(action.text())
    assert len(walked) >= 30
    listed = {"act_copy_name", "act_copy_md", "act_copy_csv", "act_open_file", "act_show_in_history"}
    assert listed <= {names.get(id(a)) for a in entries}, "the list's right-click commands are in the menu bar"

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    keyed = [a for a in menus.keyed_actions(window) if a is not window.act_quit]
    assert {names[id(a)] for a in keyed} == set(menus.SHORTCUTS) - {"act_quit"}
    for action in keyed:
        action.setEnabled(True)
        calls.clear()
        combo = action.shortcut()[0]
        qtbot.keyClick(window, combo.key(), combo.keyboardModifiers())
        assert calls == [names[id(action)]], action.shortcut().toString()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=DEADLINE_MS)


def _menu_of(window, action: QAction) -> str:
    return next(top.text().replace("&", "") for top in window.menuBar().actions() if action in _entries(top.menu()))


def test_the_lists_right_click_commands_are_menu_entries_following_the_selection(
        qtbot, make_window: WindowFactory, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtGui import QDesktopServices, QGuiApplication

    migrations.add("users", "CREATE TABLE users (id int);\n")
    migrations.add("orders", "CREATE TABLE orders (id int);\n")
    window = make_window()
    w = window
    assert [_menu_of(w, a) for a in (w.act_copy_name, w.act_copy_md, w.act_copy_csv)] == ["Edit"] * 3
    assert [_menu_of(w, a) for a in (w.act_open_file, w.act_show_in_history)] == ["Migrations"] * 2
    w.list.table.clearSelection()
    w.list.table.setCurrentIndex(w.list.proxy.index(-1, 0))
    assert w.list.current() is None
    assert not w.act_copy_name.isEnabled() and not w.act_open_file.isEnabled()
    assert not w.act_show_in_history.isEnabled()
    assert w.act_copy_md.isEnabled() and w.act_copy_csv.isEnabled()  # the list needs no selection

    assert w.list.select_version("20260101000001")
    assert w.act_copy_name.isEnabled() and w.act_open_file.isEnabled()
    assert not w.act_show_in_history.isEnabled()  # no history table yet: as History itself
    clipboard = QGuiApplication.clipboard()
    w.act_copy_name.trigger()
    assert clipboard.text() == "20260101000001_users.sql"
    w.act_copy_md.trigger()
    assert clipboard.text() == list_action(w, "Copy list as Markdown", clipboard)  # what the right-click copies
    w.act_copy_csv.trigger()
    assert clipboard.text().splitlines()[1].split(",")[1:3] == ["20260101000001", "users"]
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile())
                                                                  or True))
    w.act_open_file.trigger()
    assert opened == [str(migrations.path / "20260101000001_users.sql")]

    w.list.search.setText("no such migration")  # the filter empties the list: nothing to copy
    qtbot.waitUntil(lambda: w.list.proxy.rowCount() == 0, timeout=DEADLINE_MS)
    assert not w.act_copy_md.isEnabled() and not w.act_copy_csv.isEnabled()
    w.list.search.setText("")
    qtbot.waitUntil(lambda: w.act_copy_md.isEnabled(), timeout=DEADLINE_MS)


def list_action(window, text: str, clipboard) -> str:
    """What the list's right-click entry starting with `text` copies (the clipboard kept as it was)."""
    from app.gui.context_menus import list_menu

    before = clipboard.text()
    menu = list_menu(window, window.list.current())
    next(a for a in menu.actions() if a.text().replace("&", "").startswith(text)).trigger()
    copied = clipboard.text()
    clipboard.setText(before)
    return copied
