"""Themes: every text colour meets WCAG AA (4.5:1) on what it is read on, in both themes; the dark
theme paints a dark window; View ▸ Theme switches and is remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication

from app.gui import theme
from app.gui.app import parse_args
from tests.gui.conftest import WindowFactory


@pytest.mark.parametrize("t", [theme.LIGHT, theme.DARK], ids=lambda t: t.name)
def test_every_text_colour_meets_aa_contrast(t: theme.Theme) -> None:
    low = [(fg, bg, round(c, 2)) for fg, bg, c in theme.pairs(t) if c < 4.5]
    assert low == []


@pytest.mark.parametrize("t", [theme.LIGHT, theme.DARK], ids=lambda t: t.name)
def test_control_outlines_meet_non_text_contrast(t: theme.Theme) -> None:
    """WCAG 1.4.11: a field's or checkbox's edge is at least 3:1 on the window and on the field."""
    low = [(fg, bg, round(c, 2)) for fg, bg, c in theme.control_pairs(t) if c < 3.0]
    assert low == []
    assert [(fg, bg) for fg, bg, _ in theme.control_pairs(t)][:2] == [("control_border", "window"),
                                                                      ("control_border", "base")]
    sheet = theme.style_sheet(t)
    for rule in ("QLineEdit, QPlainTextEdit", "QCheckBox::indicator {", "QProgressBar {", "QComboBox {",
                 "QSpinBox, QDoubleSpinBox {"):
        body = sheet[sheet.index(rule):].split("}", 1)[0]
        assert f"border: 1px solid {t.control_border}" in body, rule
    assert "url($" not in sheet and ": $" not in sheet, "every placeholder filled"
    images = [u.split(")", 1)[0] for u in sheet.split("url(")[1:]]
    assert images and all(Path(i).is_file() for i in images), images  # the check mark and the arrows exist


def test_a_checkbox_edge_is_painted_in_the_control_border_colour_on_dark(qtbot) -> None:
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QCheckBox

    app = QApplication.instance()
    theme.apply(app, "dark")
    try:
        box = QCheckBox("Only show differences")
        qtbot.addWidget(box)
        box.show()
        qtbot.waitExposed(box)
        image = box.grab().toImage()
        edge = QColor(theme.DARK.control_border)
        found = {image.pixelColor(x, y).name() for x in range(min(20, image.width())) for y in range(image.height())}
        assert edge.name() in found, sorted(found)
    finally:
        theme.apply(app, "light")


def test_a_spin_box_edge_is_painted_in_the_control_border_colour_on_dark(qtbot) -> None:
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QLineEdit, QSpinBox, QVBoxLayout, QWidget

    app = QApplication.instance()
    theme.apply(app, "dark")
    try:
        holder = QWidget()
        lay = QVBoxLayout(holder)
        field, spin = QLineEdit(), QSpinBox()
        lay.addWidget(field)
        lay.addWidget(spin)
        qtbot.addWidget(holder)
        holder.show()
        qtbot.waitExposed(holder)
        field.setFocus()  # the spin box unfocused: its edge in the resting colour, not the focus one
        qtbot.waitUntil(lambda: not spin.hasFocus())
        image = spin.grab().toImage()
        middle = image.height() // 2
        edge = {image.pixelColor(x, middle).name() for x in range(3)}
        assert QColor(theme.DARK.control_border).name() in edge, sorted(edge)
    finally:
        theme.apply(app, "light")


@pytest.mark.parametrize("t", [theme.LIGHT, theme.DARK], ids=lambda t: t.name)
def test_a_disabled_control_reads_as_off_but_legible(qtbot, t: theme.Theme) -> None:
    """Seen in the screenshots: during a run the greyed-out Run pending looked enabled (its text in
    muted, 2.7:1 from text on light, 1.9:1 on dark). A disabled label and icon are 3:1 apart from
    enabled text, and still 2.5:1 on the window (WCAG exempts inactive controls; they must read)."""
    from PySide6.QtGui import QColor

    from app.gui.icons import icon

    assert theme.contrast(t.text, t.disabled) >= 3.0
    assert 2.5 <= theme.contrast(t.disabled, t.window) < 4.5
    app = QApplication.instance()
    theme.apply(app, t.name)
    try:
        palette = app.palette()
        for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
            assert palette.color(QPalette.ColorGroup.Disabled, role).name() == t.disabled, role
        drawn = icon("run", t).pixmap(24, 24, QIcon.Mode.Disabled).toImage()
        want = QColor(t.disabled)
        inked = [drawn.pixelColor(x, y) for x in range(24) for y in range(24) if drawn.pixelColor(x, y).alpha() == 255]
        off = [c.name() for c in inked if max(abs(c.red() - want.red()), abs(c.green() - want.green()),
                                              abs(c.blue() - want.blue())) > 2]
        assert inked and off == [], off
        assert f"color: {t.disabled}" in theme.style_sheet(t).split("QComboBox:disabled", 1)[1].split("}", 1)[0]
    finally:
        theme.apply(app, "light")


def test_state_badges_are_readable_white_on_colour() -> None:
    assert [(s, round(c, 2)) for s, c in theme.badge_pairs() if c < 4.5] == []


def test_contrast_is_computed_as_wcag_says() -> None:
    assert round(theme.contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(theme.contrast("#777777", "#ffffff"), 2) == 4.48


def test_the_dark_theme_paints_a_dark_window_and_view_switches_it(qtbot, make_window: WindowFactory) -> None:
    app = QApplication.instance()
    window = make_window()
    try:
        window.theme_actions["dark"].trigger()
        assert theme.current() is theme.DARK
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 60
        assert window.settings.value("view/theme") == "dark"
        image = window.grab().toImage()
        corner = image.pixelColor(image.width() - 5, image.height() // 2)
        assert corner.lightness() < 90, corner.name()  # the window, not a white default
        assert theme.DARK.text in window.banner.styleSheet()
        window.theme_actions["light"].trigger()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200
    finally:
        theme.apply(app, "light")


def test_theme_option() -> None:
    assert parse_args(["--theme", "dark"]).theme == "dark"
    with pytest.raises(SystemExit):
        parse_args(["--theme", "purple"])


@pytest.mark.parametrize("t", [theme.LIGHT, theme.DARK], ids=lambda t: t.name)
def test_a_menu_is_outlined_and_a_scroll_handle_stands_out_from_its_track(qtbot, t: theme.Theme) -> None:
    """Seen in the screenshots: a dark menu's edge vanished into the window under it, and the light
    theme's scroll handle was white on a light grey track (the empty track read as the handle)."""
    from PySide6.QtWidgets import QMenu, QPlainTextEdit

    app = QApplication.instance()
    theme.apply(app, t.name)
    try:
        menu = QMenu()
        menu.addAction("Refresh")
        menu.addAction("Compare…")
        menu.adjustSize()
        image = menu.grab().toImage()
        mid = image.height() // 2
        assert image.pixelColor(0, mid).name() == t.control_border
        assert image.pixelColor(image.width() - 1, mid).name() == t.control_border

        edit = QPlainTextEdit("\n".join(f"line {i}" for i in range(300)))
        qtbot.addWidget(edit)
        edit.resize(300, 200)
        edit.show()
        qtbot.waitExposed(edit)
        bar = edit.verticalScrollBar()
        qtbot.waitUntil(lambda: bar.isVisible() and bar.maximum() > 0, timeout=5_000)
        drawn = bar.grab().toImage()
        x = drawn.width() // 2
        handle = drawn.pixelColor(x, 8).name()  # the handle is at the top, the track below it
        track = drawn.pixelColor(x, drawn.height() - 4).name()
        assert theme.contrast(handle, track) >= 3.0, (handle, track)
    finally:
        theme.apply(app, "light")


@pytest.mark.parametrize("t", [theme.LIGHT, theme.DARK], ids=lambda t: t.name)
def test_where_two_scroll_bars_meet_is_the_track_not_a_framed_box(qtbot, t: theme.Theme) -> None:
    """Seen in the screenshots: under the migration list's two bars, a white framed square (light)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QPlainTextEdit

    app = QApplication.instance()
    theme.apply(app, t.name)
    try:
        edit = QPlainTextEdit("\n".join("x" * 200 for _ in range(100)))
        edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        qtbot.addWidget(edit)
        edit.resize(300, 200)
        edit.show()
        qtbot.waitExposed(edit)
        v, h = edit.verticalScrollBar(), edit.horizontalScrollBar()
        qtbot.waitUntil(lambda: v.isVisible() and h.isVisible(), timeout=5_000)
        image = edit.grab().toImage()
        x0, y0 = v.mapTo(edit, QPoint(0, 0)).x(), h.mapTo(edit, QPoint(0, 0)).y()
        corner = {image.pixelColor(x, y).name() for x in range(x0, x0 + v.width()) for y in range(y0, y0 + h.height())}
        assert corner == {t.window}
    finally:
        theme.apply(app, "light")


@pytest.mark.parametrize("t", [theme.LIGHT, theme.DARK], ids=lambda t: t.name)
def test_export_reports_menu_arrow_is_beside_its_text_in_the_text_colour(qtbot, settings, t: theme.Theme) -> None:
    """Seen in the screenshots: Export report's menu arrow was a few grey pixels in the button's bottom
    corner. It is the combo boxes' arrow, centred at the right, in text (or disabled) colour."""
    from tests.gui.conftest import open_window

    app = QApplication.instance()
    theme.apply(app, t.name)
    try:
        window = open_window(qtbot, settings, [])
        qtbot.waitExposed(window)
        button = window.export_button

        def arrow() -> set[str]:
            image = button.grab().toImage()
            h = image.height()
            return {image.pixelColor(x, y).name() for x in range(image.width() - 16, image.width())
                    for y in range(h // 3, 2 * h // 3)}

        button.setEnabled(True)
        qtbot.waitUntil(lambda: t.text in arrow(), timeout=5_000)  # the chevron's stroke, at the middle right
        button.setEnabled(False)
        qtbot.waitUntil(lambda: t.disabled in arrow() and t.text not in arrow(), timeout=5_000)
    finally:
        theme.apply(app, "light")
