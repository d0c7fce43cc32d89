"""Switching the theme while the app runs: View ▸ Theme, and the desktop's colour scheme changing
under the "system" choice (QStyleHints.colorSchemeChanged).

The choice in force is the window's `theme_choice`: View ▸ Theme's (remembered), or the
command line's `--theme` (that run only: the remembered choice stays). After a switch, everything
painted in theme colours is painted again: the palette and style sheet, the SQL colours, the
marked lines and matches (app/gui/marks.py), the overview's and lint's
coloured cells (app/gui/item_colours.py), the icons, the banner and the cards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


def repaint(w: MainWindow, scheme: object = None) -> None:
    """Apply `w.theme_choice` (`scheme`: the system's, just announced) and paint what is shown in it."""
    from PySide6.QtWidgets import QApplication

    from app.gui import item_colours, marks
    from app.gui.icons import apply_icons
    from app.gui.theme import apply

    apply(QApplication.instance(), w.theme_choice, scheme)
    marks.recolour_all()
    item_colours.recolour_all()  # the fleet overview's and the lint findings' coloured cells
    w.error_panel.restyle()
    apply_icons(w)  # drawn in the new theme's colours
    if w.source is not None:
        w._show_banner()
    if w.snapshot is not None:
        w._show_snapshot(w.snapshot)


def follow_system(w: MainWindow) -> None:
    """Call `w.follow_system_scheme` when the desktop's colour scheme changes (it acts under "system" only)."""
    hints = QGuiApplication.styleHints()
    if hints is not None and hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(w.follow_system_scheme)  # a slot of w: gone with it
