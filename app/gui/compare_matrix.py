"""Compare's migrations × environments matrix: a cell is a migration's state in one environment;
differing rows shaded and bold, and a proxy that can hide the rows where all agree."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.core.text import visible
from app.gui.theme import current, state_colour
from app.gui.words import in_app

_Index = QModelIndex | QPersistentModelIndex


class MatrixModel(QAbstractTableModel):
    """Rows: migrations; columns: environments; a cell is the migration's state there."""

    def __init__(self, comparison: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.c = comparison
        self._rows = list(comparison.matrix)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Migrations."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Migration name, then one column per environment."""
        return 0 if parent.isValid() else 1 + len(self.c.environments)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Environment names with their health beside them in brackets, on one line ("dev (error)"): a
        second line read as part of the name; the tooltip says it in words, with the target or error."""
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Migration"
            return environment_title(self.c.environments[section - 1])
        if role == Qt.ItemDataRole.ToolTipRole and section > 0:
            env = self.c.environments[section - 1]
            return in_app(f"{visible(env.name)}: health {env.label}\n{visible(env.error or env.target)}")
        return None

    def row(self, i: int) -> Any:
        """The matrix row."""
        return self._rows[i]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """State text, coloured; differing rows shaded."""
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        cell = r.cells[col - 1] if col > 0 else None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return r.name
            if cell is None:
                return "—"
            mark = " ≠" if not r.same_checksum and cell.state in ("applied", "modified") else ""
            return cell.state + mark
        if role == Qt.ItemDataRole.BackgroundRole and r.differs:
            return QBrush(QColor(current().warn_bg))
        if role == Qt.ItemDataRole.ForegroundRole and cell is not None:
            return QBrush(QColor(state_colour(cell.state)))
        if role == Qt.ItemDataRole.FontRole and r.differs:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and cell is not None:
            return f"checksum {cell.checksum[:16]}…" if cell.checksum else None
        return None


def environment_title(env: Any) -> str:
    """An environment's column title: its name, then its health in brackets ("production (error)")."""
    return f"{visible(env.name)} ({env.label})"


class DifferencesProxy(QSortFilterProxyModel):
    """Optionally only the rows where environments disagree."""

    only_differences = False

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Hide agreeing rows when asked."""
        if not self.only_differences:
            return True
        model = self.sourceModel()
        return bool(model.row(source_row).differs) if isinstance(model, MatrixModel) else True

    def set_only_differences(self, on: bool) -> None:
        """Toggle the filter."""
        self.beginFilterChange()
        self.only_differences = on
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
