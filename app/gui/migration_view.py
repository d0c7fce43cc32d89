"""The migration list widget: filter bar, table view with state badges, behind the filter proxy."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, QRectF, QSettings, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.status import MigrationInfo, State
from app.gui.migration_model import BADGE_ROLE, ROW_ROLE, Column, MigrationFilterProxy, MigrationTableModel
from app.gui.table_fit import ElideDistinct, fit_columns

_Index = QModelIndex | QPersistentModelIndex

STATE_FILTERS = (
    ("All states", None),
    ("Pending or failed", {"pending", "failed"}),
    ("Applied", {"applied"}),
    ("Needs attention (modified, missing, failed)", {"modified", "missing", "failed"}),
    *((s.value.capitalize(), {s.value}) for s in State if s is not State.APPLIED),  # "Applied" is above
)


_WHITE = QColor("white")
# The most of the list's width a column of long texts takes (cut in its middle, whole in the tooltip):
# the columns beside it (state, version, times, rollback) stay whole at the default size.
_SHARES = {Column.BATCH: 0.12}


class BadgeDelegate(QStyledItemDelegate):
    """Paints the state as a coloured rounded badge (no per-row widgets: 10k rows stay cheap)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Row background (selected or alternate), then the badge; no initStyleOption round trip."""
        badge = index.data(BADGE_ROLE)
        if not badge:
            super().paint(painter, option, index)
            return
        text, colour = badge
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        elif option.features & QStyleOptionViewItem.ViewItemFeature.Alternate:
            painter.fillRect(option.rect, option.palette.alternateBase())
        fm = option.fontMetrics
        w = fm.horizontalAdvance(text) + 14
        h = fm.height() + 2
        r = QRectF(option.rect.left() + 4, option.rect.center().y() - h / 2 + 1, w, h)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawRoundedRect(r, h / 2, h / 2)
        painter.setPen(_WHITE)
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Room for the badge."""
        size = super().sizeHint(option, index)
        return QSize(size.width() + 18, size.height())


class MigrationList(QWidget):
    """Filter bar over the table.

    Signals: selected(MigrationInfo or None).
    """

    selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = MigrationTableModel(self)
        self.proxy = MigrationFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setDynamicSortFilter(False)  # progress repaints rows; it must not re-sort 10k rows each time
        self.state_filter = QComboBox()
        for label, _ in STATE_FILTERS:
            self.state_filter.addItem(label)
        self.state_filter.currentIndexChanged.connect(self._state_changed)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by version or name…")
        self.search.setAccessibleName("Filter migrations")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        bar = QHBoxLayout()
        bar.addWidget(self.state_filter)
        bar.addWidget(self.search, 1)
        self.table = QTableView()
        self.table.setAccessibleName("Migrations")
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(Column.STATE, BadgeDelegate(self.table))
        # Cut keeping its start, its end and the words that tell it from the others ("batch 07").
        self.names = ElideDistinct(self.table)
        self.table.setItemDelegateForColumn(Column.NAME, self.names)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.VERSION, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.table.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: no per-row size queries
        vh.setDefaultSectionSize(QFontMetrics(self.font()).height() + 8)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setHighlightSections(False)
        hh.setSectionResizeMode(Column.NAME, QHeaderView.ResizeMode.Stretch)  # the name takes what is left
        # Fitted to the rows until the user sizes a column (or one remembered sizes are restored).
        self.auto_fit = True
        self._fitting = False
        hh.sectionResized.connect(self._resized_by_hand)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.table)

    def set_rows(self, rows: list[MigrationInfo]) -> None:
        """New rows, in the chosen order; the selected version stays selected if it still exists."""
        keep = self.current()
        self.model.set_rows(rows)
        self.names.set_texts(self.model.index(r, Column.NAME).data() for r in range(self.model.rowCount()))
        hh = self.table.horizontalHeader()
        self.proxy.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())  # no dynamic sort: once per refresh
        if self.auto_fit:
            self.fit_columns()
        if keep is not None:
            self.select_version(keep.version)
        else:
            self.selected.emit(None)

    def fit_columns(self) -> None:
        """Each column as wide as its widest cell and title, the batch at most its share; the name
        takes the rest (cut in its middle when long, whole in its tooltip)."""
        self._fitting = True
        try:
            fitted = [c for c in Column if c is not Column.NAME]
            fit_columns(self.table, fitted, self.table.viewport().width(), _SHARES)
        finally:
            self._fitting = False

    @Slot(int, int, int)
    def _resized_by_hand(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and column != Column.NAME:  # the stretching name moves with every fit
            self.auto_fit = False

    def current(self) -> MigrationInfo | None:
        """The selected migration."""
        index = self.table.currentIndex()
        return index.data(ROW_ROLE) if index.isValid() else None

    def select_version(self, version: str) -> bool:
        """Select a migration by version (if shown)."""
        for row in range(self.proxy.rowCount()):
            idx = self.proxy.index(row, 0)
            m = idx.data(ROW_ROLE)
            if m is not None and m.version == version:
                self.table.setCurrentIndex(idx)
                self.table.scrollTo(idx)
                return True
        return False

    def save_view(self, settings: QSettings, key: str = "list") -> None:
        """Remember the columns (widths, order, sort) and the filter for the next start."""
        settings.setValue(f"{key}/header", self.table.horizontalHeader().saveState())
        settings.setValue(f"{key}/fitted", self.auto_fit)
        settings.setValue(f"{key}/filter", self.search.text())
        settings.setValue(f"{key}/state", STATE_FILTERS[self.state_filter.currentIndex()][0])

    def restore_view(self, settings: QSettings, key: str = "list") -> None:
        """The columns and filter as they were when the window last closed (nothing remembered: as built)."""
        header = settings.value(f"{key}/header")
        if isinstance(header, QByteArray) and self.table.horizontalHeader().restoreState(header):
            # Widths the user chose stay; fitted ones are fitted again to the rows of this start.
            self.auto_fit = settings.value(f"{key}/fitted", False, type=bool)
            hh = self.table.horizontalHeader()
            self.table.sortByColumn(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        text = settings.value(f"{key}/filter")
        if isinstance(text, str):
            self.search.setText(text)
        state = settings.value(f"{key}/state")
        labels = [label for label, _ in STATE_FILTERS]
        if state in labels:
            self.state_filter.setCurrentIndex(labels.index(state))

    @Slot(int)
    def _state_changed(self, i: int) -> None:
        self.proxy.set_states(STATE_FILTERS[i][1])

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.selected.emit(current.data(ROW_ROLE) if current.isValid() else None)
