"""Switching themes while the app runs: marked lines take the new theme's colours (AA contrast),
"system" follows the desktop's colour scheme, and `--theme` does not overwrite View ▸ Theme's choice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication, QPalette, QTextFormat
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from app.gui import theme
from app.gui.compare_diff import ShownDifference, SideBySide
from tests.conftest import MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, confirm_run, is_kind

AA = 4.5


@pytest.fixture
def light_again() -> Iterator[None]:
    """The test may switch themes: the next test starts in the light theme, the scheme unset."""
    yield
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()
    theme.apply(QApplication.instance(), "light")


def _marked(view: QPlainTextEdit) -> tuple[str, list[str]]:
    """The background of the view's first extra selection, and every text colour drawn on that line:
    the view's text colour and the syntax colours of the line's characters."""
    sel = view.extraSelections()[0]
    background = sel.format.background().color().name()
    layout = sel.cursor.block().layout()
    fgs = [view.palette().color(QPalette.ColorRole.Text).name()]
    fgs += [r.format.foreground().color().name() for r in layout.formats()
            if r.format.hasProperty(QTextFormat.Property.ForegroundBrush)]
    if sel.format.hasProperty(QTextFormat.Property.ForegroundBrush):
        fgs = [sel.format.foreground().color().name()]
    return background, fgs


def _low(view: QPlainTextEdit) -> list[tuple[str, str, float]]:
    background, fgs = _marked(view)
    return [(fg, background, round(theme.contrast(fg, background), 2)) for fg in fgs
            if theme.contrast(fg, background) < AA]


def test_after_a_theme_switch_the_failing_line_and_compares_lines_are_readable(
        qtbot, make_window: WindowFactory, migrations: MigrationDir, light_again: None) -> None:
    migrations.add("bad", "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1 / 0);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as run_done:
        confirm_run(qtbot, window, window.run_pending)
    assert run_done.args[1] == "failed"
    sql = window.error_panel.sql
    assert sql.extraSelections()[0].cursor.blockNumber() == 2
    side = SideBySide()  # Compare's two definitions, open beside the window
    qtbot.addWidget(side)
    side.show_difference(ShownDifference("t", "differs", "eu", "CREATE TABLE t (\n  a int\n);",
                                         "us", "CREATE TABLE t (\n  a bigint\n);"))
    assert side.left.marked_lines() == [1] and side.right.marked_lines() == [1]
    for choice, expected in (("dark", theme.DARK), ("light", theme.LIGHT), ("dark", theme.DARK)):
        window.theme_actions[choice].trigger()
        assert theme.current() is expected
        assert _marked(sql)[0] == expected.error_bg, choice
        assert _low(sql) == [], choice
        for view, role in ((side.left.text, "diff_old_bg"), (side.right.text, "diff_new_bg")):
            assert _marked(view)[0] == getattr(expected, role), (choice, role)
            assert _low(view) == [], (choice, role)
        assert expected.muted in window.error_panel.body.text()  # the SQLSTATE, muted in this theme


def _drive_scheme(scheme: Qt.ColorScheme) -> None:
    """The desktop switches its colour scheme: asked of the platform where it can (Qt 6.8+), else the
    signal Qt would send (the offscreen platform keeps no scheme)."""
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
    if hints.colorScheme() != scheme:
        hints.colorSchemeChanged.emit(scheme)


def test_system_follows_the_desktops_colour_scheme_while_running(qtbot, make_window: WindowFactory,
                                                                 light_again: None) -> None:
    window = make_window()
    assert window.theme_choice == "system" and window.theme_actions["system"].isChecked()
    app = QApplication.instance()
    _drive_scheme(Qt.ColorScheme.Dark)
    qtbot.waitUntil(lambda: theme.current() is theme.DARK, timeout=DEADLINE_MS)
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window
    assert window.settings.value("view/theme") in (None, "system")  # following is not a choice remembered
    _drive_scheme(Qt.ColorScheme.Light)
    qtbot.waitUntil(lambda: theme.current() is theme.LIGHT, timeout=DEADLINE_MS)

    window.theme_actions["light"].trigger()  # a theme chosen: the desktop's scheme no longer moves it
    _drive_scheme(Qt.ColorScheme.Dark)
    assert theme.current() is theme.LIGHT
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.window


def test_the_theme_option_is_for_this_run_and_keeps_the_remembered_choice(
        qtbot, home: Path, settings: QSettings, monkeypatch: pytest.MonkeyPatch, light_again: None) -> None:
    from app.gui import app as gui_app
    from app.gui import crash, main_window
    from app.gui import settings as gui_settings

    settings.setValue("view/theme", "light")  # View ▸ Theme ▸ Light, chosen in an earlier run
    opened: list[Any] = []

    class Recorded(main_window.MainWindow):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(gui_settings, "make_settings", lambda: settings)
    monkeypatch.setattr(main_window, "MainWindow", Recorded)
    monkeypatch.setattr(crash, "install_excepthook", lambda: None)  # the test process keeps pytest's
    monkeypatch.setattr(crash, "install_message_handler", lambda: None)
    assert gui_app.main(["--theme", "dark", "--self-test"]) == 0
    assert theme.current() is theme.DARK  # this run is dark
    assert opened and opened[0].theme_actions["dark"].isChecked()  # and View ▸ Theme says so
    settings.sync()
    assert settings.value("view/theme") == "light"  # the remembered choice is untouched
    assert QSettings(settings.fileName(), QSettings.Format.IniFormat).value("view/theme") == "light"
