"""The migration table model and its filter proxy, without a window (Vorta's model tests, plus qtmodeltester)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QModelIndex, Qt

from app.core.status import Failure, MigrationInfo, State
from app.gui.migration_model import (
    BADGE_ROLE,
    ROW_ROLE,
    SORT_ROLE,
    Column,
    MigrationFilterProxy,
    MigrationTableModel,
    format_ms,
)


def _rows() -> list[MigrationInfo]:
    return [
        MigrationInfo("20260101000001", "20260101000001_create_users.sql", State.APPLIED, title="create users",
                      batch_id="b1", executed_at=datetime(2026, 1, 1, 10, 0, 0), execution_time_ms=1500,
                      rollback_kind="generated"),
        MigrationInfo("20260101000002", "20260101000002_add_email.sql", State.MODIFIED, title="add email",
                      batch_id="b1", executed_at=datetime(2026, 1, 1, 10, 0, 1), execution_time_ms=20,
                      rollback_kind="manual"),
        MigrationInfo("20260101000003", "20260101000003_orders.sql", State.FAILED, title="orders",
                      failure=Failure(datetime(2026, 1, 2), "division by zero", "m/x.sql", 3, 5, "22012")),
        MigrationInfo("20260101000004", "20260101000004_users_index.sql", State.PENDING, title="users index"),
    ]


def test_model_passes_qtmodeltester(qtmodeltester) -> None:
    model = MigrationTableModel()
    model.set_rows(_rows())
    qtmodeltester.check(model)
    proxy = MigrationFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_states({"applied", "pending"})
    qtmodeltester.check(proxy)


def test_each_column_text_sort_value_badge_and_tooltip() -> None:
    model = MigrationTableModel()
    model.set_rows(_rows())
    assert model.rowCount() == 4 and model.columnCount() == len(Column)
    assert model.rowCount(model.index(0, 0)) == 0  # flat: no children
    idx = lambda r, c: model.index(r, c)  # noqa: E731
    assert idx(0, Column.STATE).data() == "applied"
    assert idx(0, Column.NAME).data() == "create users"
    assert idx(0, Column.EXECUTED_AT).data() == "2026-01-01 10:00:00"
    assert idx(0, Column.TIME).data() == "1.5 s"
    assert idx(0, Column.TIME).data(SORT_ROLE) == 1500
    assert idx(3, Column.TIME).data() == "" and idx(3, Column.TIME).data(SORT_ROLE) is None
    assert idx(1, Column.ROLLBACK).data() == "manual"
    assert idx(1, Column.ROLLBACK).data(Qt.ItemDataRole.ForegroundRole).name() == "#c62828"
    assert idx(2, Column.STATE).data(BADGE_ROLE) == ("failed", "#c62828")
    assert idx(2, Column.NAME).data(Qt.ItemDataRole.ToolTipRole) == "m/x.sql:3: division by zero"
    assert idx(2, Column.VERSION).data(ROW_ROLE).version == "20260101000003"
    assert format_ms(125_000) == "2 min 05 s"


def test_proxy_filters_by_state_and_text_and_sorts_natively() -> None:
    model = MigrationTableModel()
    model.set_rows(_rows())
    proxy = MigrationFilterProxy()
    proxy.setSourceModel(model)

    def versions() -> list[str]:
        return [proxy.index(r, 0).data(ROW_ROLE).version[-1] for r in range(proxy.rowCount())]

    assert versions() == ["1", "2", "3", "4"]
    proxy.set_states({"pending", "failed"})
    assert versions() == ["3", "4"]
    proxy.set_text("USERS")  # case-insensitive, on name and title
    assert versions() == ["4"]
    proxy.set_states(None)
    assert versions() == ["1", "4"]
    proxy.set_text("")
    proxy.sort(Column.TIME, Qt.SortOrder.DescendingOrder)
    assert versions()[:2] == ["1", "2"]  # 1500 ms, 20 ms; migrations without a time after them
    proxy.sort(Column.TIME, Qt.SortOrder.AscendingOrder)
    assert versions()[-2:] == ["2", "1"]


def test_overlay_repaints_one_row_without_a_reset(qtbot) -> None:
    model = MigrationTableModel()
    model.set_rows(_rows())
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.set_overlay("20260101000004", "running")
    top_left, bottom_right = changed.args[:2]
    assert (top_left.row(), bottom_right.row()) == (3, 3)
    assert model.index(3, Column.STATE).data() == "running"
    assert model.index(3, Column.STATE).data(BADGE_ROLE)[0] == "running"
    model.set_overlay("20260101000004", None)
    assert model.index(3, Column.STATE).data() == "pending"
    assert resets == []
    assert not model.index(0, 0, QModelIndex()).parent().isValid()


def test_ten_thousand_rows_load_without_per_row_work(qtbot) -> None:
    from app.gui.migration_view import MigrationList

    rows = [MigrationInfo(f"2026{i:010d}", f"2026{i:010d}_m{i}.sql", State.APPLIED if i % 3 else State.PENDING,
                          title=f"migration {i}", execution_time_ms=i) for i in range(10_000)]
    view = MigrationList()
    qtbot.addWidget(view)
    view.set_rows(rows)
    view.resize(900, 600)
    view.show()
    assert view.proxy.rowCount() == 10_000
    assert view.select_version("20260000009999")
    view.state_filter.setCurrentIndex(1)  # pending or failed
    assert view.proxy.rowCount() == len([r for r in rows if r.state is State.PENDING])
    assert view.table.indexWidget(view.proxy.index(0, 0)) is None  # painted by a delegate, no widgets


def test_the_running_mark_finds_a_row_of_any_layout_by_name() -> None:
    from app.core.status import MigrationInfo, State
    from app.gui.migration_model import MigrationTableModel

    model = MigrationTableModel()
    model.set_rows([MigrationInfo("1.9", "V1.9__add_users.sql", State.PENDING),
                    MigrationInfo("20260101000001", "20260101000001_t.sql", State.PENDING)])
    assert model.version_of("V1.9__add_users.sql") == "1.9"
    assert model.version_of("20260101000001_t.sql") == "20260101000001"
    assert model.version_of("nope.sql") is None
