"""Every entry of the main window's menus, and every shortcut, triggers its action: one walk over all
of them (each command replaced by a recorder, so the walk checks the wiring, not the work)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from app.gui import menus
from app.gui.actions import ACTIONS
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
