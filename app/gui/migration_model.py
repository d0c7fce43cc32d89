"""The migration list: a table model over the engine's MigrationInfo rows, and its filter proxy."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from app.core.files import version_key
from app.core.status import MigrationInfo, State
from app.core.text import visible
from app.gui.theme import current, state_colour

SORT_ROLE = Qt.ItemDataRole.UserRole
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
BADGE_ROLE = Qt.ItemDataRole.UserRole + 2  # (text, colour) of the state badge


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
_COLUMNS = list(Column)
_NCOLS = len(_COLUMNS)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_SORT, _ROW, _BADGE = int(SORT_ROLE), int(ROW_ROLE), int(BADGE_ROLE)
_SERVED = frozenset((_DISPLAY, _FOREGROUND, _TOOLTIP, _ALIGN, _SORT, _ROW, _BADGE))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


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
        self._version_by_name: dict[str, str] = {}
        self._overlay: dict[str, str] = {}  # version -> transient state text ("running")
        self._sort_column = Column.VERSION
        self._sort_order = Qt.SortOrder.AscendingOrder

    # --- contents ---------------------------------------------------------------------------

    def set_rows(self, rows: list[MigrationInfo]) -> None:
        """Replace every row (a status refresh), kept in the current sort order."""
        self.beginResetModel()
        self._rows = self._sorted(list(rows))
        self._row_of = {m.version: i for i, m in enumerate(self._rows)}
        self._version_by_name = {m.name: m.version for m in self._rows}
        self._overlay.clear()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows themselves, with a Python key: one list sort, not a lessThan call per comparison.

        The proxy in front only filters; 10k rows sort in milliseconds and selections survive
        (persistent indexes are moved).
        """
        self._sort_column = Column(column)
        self._sort_order = order
        self.layoutAboutToBeChanged.emit()
        before = [m.version for m in self._rows]
        self._rows = self._sorted(self._rows)
        self._row_of = {m.version: i for i, m in enumerate(self._rows)}
        moved_from = self.persistentIndexList()
        moved_to = [self.index(self._row_of[before[i.row()]], i.column()) for i in moved_from]
        self.changePersistentIndexList(moved_from, moved_to)
        self.layoutChanged.emit()

    def _sorted(self, rows: list[MigrationInfo]) -> list[MigrationInfo]:
        col = self._sort_column
        reverse = self._sort_order == Qt.SortOrder.DescendingOrder

        def key(m: MigrationInfo) -> tuple:
            value = self._sort_value(m, col)
            # Empty values first when ascending; the version breaks ties so the order is stable.
            return (value is not None, value if value is not None else 0, version_key(m.version))

        try:
            return sorted(rows, key=key, reverse=reverse)
        except TypeError:  # mixed types in a column: compare as text
            return sorted(rows, key=lambda m: (str(self._sort_value(m, col) or ""), version_key(m.version)),
                          reverse=reverse)

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

    def info(self, version: str) -> MigrationInfo | None:
        """The row of a version, as the last refresh read it (a run's overlay aside)."""
        i = self._row_of.get(version)
        return None if i is None else self._rows[i]

    def version_of(self, name: str) -> str | None:
        """The version of the row named `name` (progress events name migrations; layouts' versions vary)."""
        return self._version_by_name.get(name)

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
        self.dataChanged.emit(self.index(i, 0), self.index(i, _NCOLS - 1))

    # --- Qt model API -----------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Rows (0 under a valid parent: a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Columns (0 under a valid parent)."""
        return 0 if parent.isValid() else _NCOLS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(
                HEADERS):
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, sort value, row object, badge, colour or tooltip of a cell.

        Qt asks for ~10 roles per visible cell on every repaint, so this is the hot path: plain
        int roles, a column list instead of the enum, early exits for the roles not served.
        """
        role = int(role)
        if role not in _SERVED:
            return None
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        m = self._rows[row]
        col = _COLUMNS[index.column()]
        if role == _DISPLAY:
            return self._display(m, col)
        if role == _SORT:
            return self._sort_value(m, col)
        if role == _ROW:
            return m
        if role == _BADGE:
            if col is not Column.STATE:
                return None
            text = self._overlay.get(m.version, m.state.value)
            return text, state_colour(text, badge=True)  # a DBA reads the column by colour first
        if role == _FOREGROUND:
            if (col is Column.ROLLBACK and m.rollback_kind == "manual") or m.state is State.FAILED:
                return QColor(current().error)
            return None
        if role == _TOOLTIP:
            return self._tooltip(m, col)
        if role == _ALIGN and col is Column.TIME:
            return _RIGHT
        return None

    def _display(self, m: MigrationInfo, col: Column) -> str:
        match col:
            case Column.STATE:
                return self._overlay.get(m.version, m.state.value)
            case Column.VERSION:
                return m.version
            case Column.NAME:
                return visible(m.title or m.name)  # the file's header: controls shown
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
                return version_key(m.version)  # golang-migrate's 10 after 2
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
        text = self._tooltip_text(m, col)
        return visible(text) if text else text

    def _tooltip_text(self, m: MigrationInfo, col: Column) -> str | None:
        if m.failure is not None:
            where = f"{m.failure.file}:{m.failure.line}: " if m.failure.file and m.failure.line else ""
            return f"{where}{m.failure.message}"
        if col is Column.BATCH and m.batch_id:
            return m.batch_id
        if col is Column.ROLLBACK and m.rollback_note:
            return m.rollback_note
        if col is Column.NAME:  # whole: the cell is cut in its middle when long
            return f"{m.title}\n{m.name}" if m.title else m.name
        if m.state is State.MODIFIED:
            return "the file changed after it was applied (checksum mismatch)"
        if m.state is State.MISSING:
            return "in the history, but its file is gone"
        return None


class MigrationFilterProxy(QSortFilterProxyModel):
    """Filters the migration list by state and by text (the model sorts itself: see MigrationTableModel.sort)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._states: frozenset[str] | None = None  # None: every state
        self._text = ""
        self.setSortRole(SORT_ROLE)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the source model itself; the proxy keeps its order (no Python lessThan per comparison)."""
        model = self.sourceModel()
        if isinstance(model, MigrationTableModel):
            model.sort(column, order)
        else:
            super().sort(column, order)

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
