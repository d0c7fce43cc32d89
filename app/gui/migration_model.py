"""The migration list: a table model over the engine's MigrationInfo rows, and its filter proxy."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from app.core.status import MigrationInfo, State
from app.gui.qtcompat import emit

SORT_ROLE = Qt.ItemDataRole.UserRole
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
BADGE_ROLE = Qt.ItemDataRole.UserRole + 2  # (text, colour) of the state badge

# Badge colours per state: a DBA reads the column by colour first.
STATE_COLOURS = {
    "applied": "#2e7d32",
    "pending": "#1565c0",
    "modified": "#ef6c00",
    "missing": "#6a1b9a",
    "failed": "#c62828",
    "running": "#00838f",
    "rolling back": "#ad1457",
}

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    """The table's columns."""

    STATE = 0
    VERSION = 1
    NAME = 2
    BATCH = 3
    EXECUTED_AT = 4
    TIME = 5
    ROLLBACK = 6


HEADERS = ("State", "Version", "Migration", "Batch", "Executed at", "Time", "Rollback")


def format_ms(ms: float | None) -> str:
    """`850 ms`, `12.3 s`, `4 min 05 s`."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds:02d} s"


def short_batch(batch_id: str | None) -> str:
    """A batch id short enough for a column (the full id is in the tooltip)."""
    if not batch_id:
        return ""
    return batch_id if len(batch_id) <= 19 else batch_id[:19]


class MigrationTableModel(QAbstractTableModel):
    """Rows of MigrationInfo; a run overlays 'running' on one row without resetting the model."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[MigrationInfo] = []
        self._row_of: dict[str, int] = {}
        self._overlay: dict[str, str] = {}  # version -> transient state text ("running")

    # --- contents ---------------------------------------------------------------------------

    def set_rows(self, rows: list[MigrationInfo]) -> None:
        """Replace every row (a status refresh)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._row_of = {m.version: i for i, m in enumerate(self._rows)}
        self._overlay.clear()
        self.endResetModel()

    def rows(self) -> list[MigrationInfo]:
        """The rows, in model order."""
        return self._rows

    def row(self, i: int) -> MigrationInfo:
        """The row object at a model row."""
        return self._rows[i]

    def update_row(self, version: str, info: MigrationInfo) -> None:
        """Replace one row and repaint only it."""
        i = self._row_of.get(version)
        if i is None:
            return
        self._rows[i] = info
        self._changed(i)

    def set_overlay(self, version: str, text: str | None) -> None:
        """Show a transient state ('running') on a row, or clear it."""
        i = self._row_of.get(version)
        if i is None:
            return
        if text is None:
            self._overlay.pop(version, None)
        else:
            self._overlay[version] = text
        self._changed(i)

    def _changed(self, i: int) -> None:
        emit(self.dataChanged, self.index(i, 0), self.index(i, len(Column) - 1))

    # --- Qt model API -----------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Rows (0 under a valid parent: a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Columns (0 under a valid parent)."""
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(
                HEADERS):
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, sort value, row object, badge, colour or tooltip of a cell."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        m = self._rows[index.row()]
        col = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(m, col)
        if role == SORT_ROLE:
            return self._sort_value(m, col)
        if role == ROW_ROLE:
            return m
        if role == BADGE_ROLE and col is Column.STATE:
            text = self._overlay.get(m.version, m.state.value)
            return text, STATE_COLOURS.get(text, "#555555")
        if role == Qt.ItemDataRole.ForegroundRole:
            if col is Column.ROLLBACK and m.rollback_kind == "manual":
                return QColor("#c62828")
            if m.state is State.FAILED:
                return QColor("#c62828")
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(m, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col is Column.TIME:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, m: MigrationInfo, col: Column) -> str:
        match col:
            case Column.STATE:
                return self._overlay.get(m.version, m.state.value)
            case Column.VERSION:
                return m.version
            case Column.NAME:
                return m.title or m.name
            case Column.BATCH:
                return short_batch(m.batch_id)
            case Column.EXECUTED_AT:
                return m.executed_at.strftime("%Y-%m-%d %H:%M:%S") if m.executed_at else ""
            case Column.TIME:
                return format_ms(m.execution_time_ms)
            case Column.ROLLBACK:
                return m.rollback_kind or ""
        return ""

    def _sort_value(self, m: MigrationInfo, col: Column) -> Any:
        match col:
            case Column.STATE:
                return self._overlay.get(m.version, m.state.value)
            case Column.VERSION:
                return m.version
            case Column.NAME:
                return (m.title or m.name).lower()
            case Column.BATCH:
                return m.batch_id
            case Column.EXECUTED_AT:
                return m.executed_at
            case Column.TIME:
                return m.execution_time_ms
            case Column.ROLLBACK:
                return m.rollback_kind
        return None

    def _tooltip(self, m: MigrationInfo, col: Column) -> str | None:
        if m.failure is not None:
            where = f"{m.failure.file}:{m.failure.line}: " if m.failure.file and m.failure.line else ""
            return f"{where}{m.failure.message}"
        if col is Column.BATCH and m.batch_id:
            return m.batch_id
        if col is Column.ROLLBACK and m.rollback_note:
            return m.rollback_note
        if col is Column.NAME:
            return m.name
        if m.state is State.MODIFIED:
            return "the file changed after it was applied (checksum mismatch)"
        if m.state is State.MISSING:
            return "in the history, but its file is gone"
        return None


class MigrationFilterProxy(QSortFilterProxyModel):
    """Filters the migration list by state and by text; sorts on native values."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._states: frozenset[str] | None = None  # None: every state
        self._text = ""
        self.setSortRole(SORT_ROLE)

    def set_states(self, states: set[str] | frozenset[str] | None) -> None:
        """Show only these states (None or empty: all)."""
        self.beginFilterChange()
        self._states = frozenset(states) if states else None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        """Show only rows whose version, name or title contains the text (case-insensitive)."""
        self.beginFilterChange()
        self._text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """State and text filters."""
        model = self.sourceModel()
        if not isinstance(model, MigrationTableModel) or source_parent.isValid():
            return True
        m = model.row(source_row)
        if self._states is not None and m.state.value not in self._states:
            return False
        if self._text:
            return self._text in m.name.lower() or self._text in (m.title or "").lower()
        return True

    def lessThan(self, left: _Index, right: _Index) -> bool:
        """Compare native values in Python; empty values sort first."""
        a = left.data(SORT_ROLE)
        b = right.data(SORT_ROLE)
        if a is None or b is None:
            return a is None and b is not None
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)
