"""Coloured cells of item widgets (the fleet overview, the lint findings) painted by theme role.

An item keeps the brush it was given, so after a theme switch a cell stayed in the old theme's
colour until it was next filled (the dark theme's light red on the light theme's white: 2.6:1).
Each coloured cell remembers its theme role, as marks.py's selections do, and `recolour_all` paints
every such cell again in the theme now in force.
"""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QApplication,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
)

from app.gui.theme import Theme, current

COLOUR_ROLE = Qt.ItemDataRole.UserRole + 0x7C  # a cell's foreground as a theme role name ("error")
_ROLES = [f.name for f in fields(Theme) if f.type in ("str", str) and f.name != "name"]


def role_of(colour: str) -> str | None:
    """The theme role painted in `colour` in the current theme (the first in Theme's order: the text
    roles come before the backgrounds and charts that may share a value)."""
    t = current()
    wanted = colour.lower()
    return next((r for r in _ROLES if str(getattr(t, r)).lower() == wanted), None)


def _brush(role: str) -> QBrush:
    return QBrush(QColor(getattr(current(), role)))


def paint_tree_cell(item: QTreeWidgetItem, column: int, colour: str) -> None:
    """Colour a tree cell (a current theme colour), repainted in its role's colour after a switch."""
    item.setForeground(column, QBrush(QColor(colour)))
    item.setData(column, COLOUR_ROLE, role_of(colour))


def paint_table_cell(item: QTableWidgetItem, colour: str) -> None:
    """Colour a table cell (a current theme colour), repainted in its role's colour after a switch."""
    item.setForeground(QBrush(QColor(colour)))
    item.setData(COLOUR_ROLE, role_of(colour))


def recolour_tree(tree: QTreeWidget) -> None:
    """Paint the tree's role-coloured cells in the current theme."""
    it = QTreeWidgetItemIterator(tree)
    while it.value() is not None:
        item = it.value()
        for column in range(tree.columnCount()):
            role = item.data(column, COLOUR_ROLE)
            if role:
                item.setForeground(column, _brush(role))
        it += 1


def recolour_table(table: QTableWidget) -> None:
    """Paint the table's role-coloured cells in the current theme."""
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            item = table.item(row, column)
            role = item.data(COLOUR_ROLE) if item is not None else None
            if role:
                item.setForeground(_brush(role))


def recolour_all() -> None:
    """After a theme switch: every item widget's role-coloured cells, in the new theme."""
    for widget in QApplication.allWidgets():
        if isinstance(widget, QTreeWidget):
            recolour_tree(widget)
        elif isinstance(widget, QTableWidget):
            recolour_table(widget)
