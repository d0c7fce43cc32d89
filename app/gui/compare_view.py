"""Compare environments: choose them, then the migrations × environments matrix with differences highlighted."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.plural import count
from app.gui.sources import Source
from app.gui.theme import current, state_colour

_Index = QModelIndex | QPersistentModelIndex


class ChooseEnvironmentsDialog(QDialog):
    """Tick the environments to compare."""

    def __init__(self, sources: list[Source], current: Source | None, parent: QWidget | None = None,
                 remembered: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare environments")
        self.resize(420, 360)
        self._sources = sources
        self.list = QListWidget()
        self.list.setAccessibleName("Environments to compare")
        known = {s.key for s in sources}
        ticked = set(remembered) & known if remembered else known  # the last choice, else all
        for s in sources:
            item = QListWidgetItem(f"{s.name}  ({s.detail})" if s.detail else s.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if s.key in ticked else Qt.CheckState.Unchecked)
            item.setForeground(QBrush(QColor(s.colour)))
            self.list.addItem(item)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Read these environments at the same time and compare their migrations:"))
        lay.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compare")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def chosen(self) -> list[Source]:
        """The ticked environments."""
        return [s for i, s in enumerate(self._sources) if self.list.item(i).checkState() == Qt.CheckState.Checked]


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
        """Environment names with their health."""
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Migration"
            env = self.c.environments[section - 1]
            return f"{env.name}\n{env.label}"
        if role == Qt.ItemDataRole.ToolTipRole and section > 0:
            env = self.c.environments[section - 1]
            return env.error or env.target
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


class CompareDialog(QDialog):
    """The comparison: a summary, the matrix, and any schema drift."""

    def __init__(self, comparison: Any, skipped: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare environments")
        self.resize(1000, 620)
        self.comparison = comparison
        e = html.escape
        n_diff = len(comparison.differing_rows)
        lines = [f"<b>{count(len(comparison.matrix), 'migration')}</b> across "
                 f"{count(len(comparison.environments), 'environment')}: "
                 + (f"<span style='color:{current().error}'><b>{n_diff} differ</b></span> (shaded)." if n_diff
                    else f"<span style='color:{current().warn}'>the migrations agree, but the schemas do not "
                         "(drift below).</span>" if comparison.drift
                    else f"<span style='color:{current().ok}'>all agree</span>.")]
        for env in comparison.environments:
            if not env.reachable:
                lines.append(f"<span style='color:{current().error}'>{e(env.name)}: "
                             f"{e(env.error or 'unreachable')}</span>")
        for s in skipped:
            lines.append(f"<span style='color:{current().error}'>not compared: {e(s)}</span>")
        if comparison.drift:
            lines.append(f"<span style='color:{current().warn}'><b>Schema drift:</b> {len(comparison.drift)} "
                         "catalog objects "
                         "differ although the migrations agree (changed outside migrations):</span>")
            for d in comparison.drift[:12]:
                lines.append(f"&nbsp;&nbsp;{e(d.environment)} vs {e(d.reference)}: {e(d.kind)} {e(d.key)}")
        summary = QLabel("<br>".join(lines))
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = MatrixModel(comparison, self)
        self.proxy = DifferencesProxy(self)
        self.proxy.setSourceModel(self.model)
        self.only = QCheckBox("Only show differences")
        self.only.toggled.connect(self._only)
        self.table = QTableView()
        self.table.setAccessibleName("Differences between the environments")
        self.table.setModel(self.proxy)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setShowGrid(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, self.model.columnCount()):
            self.table.setColumnWidth(col, 130)
        lay = QVBoxLayout(self)
        lay.addWidget(summary)
        lay.addWidget(self.only)
        lay.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    @Slot(bool)
    def _only(self, on: bool) -> None:
        self.proxy.set_only_differences(on)
