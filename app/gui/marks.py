"""Marked lines and matches (a text view's extra selections) painted by theme role, not by colour.

An extra selection keeps the colour it was given, so a theme switch would leave an error's line
or Compare's changed lines in the old theme's shade (light red under light text: 1.1:1). Each
selection made here records the roles it is painted in; `recolour_all` paints every selection
of every text view in the theme now in force (View ▸ Theme, or the system's scheme changing).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QTextCursor, QTextFormat
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QTextEdit

from app.gui.theme import current

BACKGROUND_ROLE = 0x100110  # QTextFormat user properties: the theme roles this selection is painted in
FOREGROUND_ROLE = 0x100111


def themed_selection(cursor: QTextCursor, background: str, foreground: str | None = None, *,
                     full_width: bool = False) -> QTextEdit.ExtraSelection:
    """An extra selection of `cursor` painted in the current theme's `background` (and `foreground`) role."""
    sel = QTextEdit.ExtraSelection()
    sel.cursor = cursor
    sel.format.setProperty(BACKGROUND_ROLE, background)
    if foreground is not None:
        sel.format.setProperty(FOREGROUND_ROLE, foreground)
    if full_width:
        sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
    _paint(sel)
    return sel


def _paint(sel: QTextEdit.ExtraSelection) -> None:
    t = current()
    background = sel.format.property(BACKGROUND_ROLE)
    if background:
        sel.format.setBackground(QColor(getattr(t, str(background))))
    foreground = sel.format.property(FOREGROUND_ROLE)
    if foreground:
        sel.format.setForeground(QColor(getattr(t, str(foreground))))


def recolour(view: QPlainTextEdit | QTextEdit) -> None:
    """Paint `view`'s role-named selections in the current theme (others are left as they are)."""
    selections = view.extraSelections()
    if not any(s.format.hasProperty(BACKGROUND_ROLE) or s.format.hasProperty(FOREGROUND_ROLE) for s in selections):
        return
    for sel in selections:
        _paint(sel)
    view.setExtraSelections(selections)


def recolour_all() -> None:
    """After a theme switch: every text view's marks, and every SQL view's syntax colours, in the new theme."""
    from app.gui.sql_view import SqlView

    for widget in QApplication.allWidgets():
        if isinstance(widget, SqlView):
            widget.highlighter.restyle()
        if isinstance(widget, QPlainTextEdit | QTextEdit):
            recolour(widget)
