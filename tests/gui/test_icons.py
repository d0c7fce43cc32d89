"""Icons: every toolbar action shows an icon in both themes, drawn in a colour that stands out from the
window (>= 3:1, WCAG's figure for graphics); rollbacks are drawn in the danger colour; the icons ship."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QToolBar, QToolButton

from app.gui import icons, theme
from app.gui.main_window import MainWindow
from app.paths import resources_dir


@pytest.fixture(params=["light", "dark"])
def themed_window(request: pytest.FixtureRequest, qtbot, settings) -> Iterator[tuple[theme.Theme, MainWindow]]:
    theme.apply(QApplication.instance(), request.param)
    window = MainWindow(settings, sources=[], auto_refresh=False)
    qtbot.addWidget(window)
    window.show()
    yield theme.current(), window
    window.close()
    theme.apply(QApplication.instance(), "light")


def _ink(image) -> tuple[int, str]:
    """(how many pixels are drawn, the colour of the most opaque drawn pixel) of an icon image."""
    drawn, best, colour = 0, -1, ""
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() > 128:
                drawn += 1
            if c.alpha() > best:
                best, colour = c.alpha(), c.name()
    return drawn, colour


def _toolbar_icons(window: MainWindow) -> list[tuple[str, QIcon]]:
    out = []
    for bar in window.findChildren(QToolBar):
        for action in bar.actions():
            if action.isSeparator():
                continue
            widget = bar.widgetForAction(action)
            if isinstance(widget, QToolButton):
                out.append(((action.text() or widget.text()).replace("&", ""), widget.icon()))
    return out


def test_every_toolbar_action_has_an_icon_that_stands_out_from_the_window(themed_window) -> None:
    t, window = themed_window
    found = _toolbar_icons(window)
    assert len(found) >= 10  # every action button and the export button
    for name, ic in found:
        assert not ic.isNull(), name
        drawn, colour = _ink(ic.pixmap(24, 24, QIcon.Mode.Normal).toImage())
        assert drawn >= 20, f"{name}: only {drawn} pixels drawn"
        assert theme.contrast(colour, t.window) >= 3.0, f"{name}: {colour} on {t.window}"


def test_toolbar_buttons_show_icon_and_text(themed_window) -> None:
    _, window = themed_window
    from PySide6.QtCore import Qt

    for bar in window.findChildren(QToolBar):
        assert bar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    assert window.export_button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon


def test_rollbacks_are_drawn_in_the_danger_colour_and_runs_in_the_text_colour(themed_window) -> None:
    t, window = themed_window
    _, rollback = _ink(window.act_rb_last.icon().pixmap(24, 24).toImage())
    _, run = _ink(window.act_run.icon().pixmap(24, 24).toImage())
    assert rollback == t.error
    assert run == t.text


def test_switching_the_theme_redraws_the_icons(themed_window) -> None:
    t, window = themed_window
    other = "dark" if t.name == "light" else "light"
    window.apply_theme(other)
    _, colour = _ink(window.act_refresh.icon().pixmap(24, 24).toImage())
    assert colour == theme.THEMES[other].text


def test_every_named_icon_file_ships_in_resources() -> None:
    folder = resources_dir() / "icons" / "actions"
    for name in set(icons.ACTION_ICONS.values()) | {"cancel"}:
        text = (folder / f"{name}.svg").read_text(encoding="utf-8")
        assert "currentColor" in text, name  # recoloured from the theme, never a fixed colour
        assert "#" not in text, name


def test_check_drift_and_promote_have_icons_in_the_menu(themed_window) -> None:
    t, window = themed_window
    for action in (window.act_drift, window.act_promote):
        ic = action.icon()
        assert not ic.isNull(), action.text()
        drawn, colour = _ink(ic.pixmap(24, 24, QIcon.Mode.Normal).toImage())
        assert drawn >= 20 and theme.contrast(colour, t.window) >= 3.0, action.text()
