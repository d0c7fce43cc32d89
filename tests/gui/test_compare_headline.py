"""Compare's headline never says "all agree" while schema drift is listed under it."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QLabel

from app.gui.compare_view import CompareDialog
from app.report.compare import Comparison, DriftItem


def _headline(qtbot, drift: tuple) -> str:
    comparison = Comparison(datetime.now(UTC), (), (), (), drift, (), 0.0)
    dialog = CompareDialog(comparison, [])
    qtbot.addWidget(dialog)
    return " ".join(w.text() for w in dialog.findChildren(QLabel))


def test_drift_is_not_agreement(qtbot) -> None:
    item = DriftItem("index public.users_email", "removed", "staging", "production", "CREATE INDEX ...", None)
    text = _headline(qtbot, (item,))
    assert "all agree" not in text and "the schemas do not" in text and "users_email" in text
    assert "all agree" in _headline(qtbot, ())


def test_the_chosen_environments_are_remembered(qtbot, make_window) -> None:
    from PySide6.QtCore import Qt

    from app.gui.compare_view import ChooseEnvironmentsDialog

    window = make_window()
    window.compare_dialog()
    dialog = next(d for d in window.findChildren(ChooseEnvironmentsDialog) if d.isVisible())
    for i in range(dialog.list.count()):
        dialog.list.item(i).setCheckState(Qt.CheckState.Unchecked)
    dialog.list.item(0).setCheckState(Qt.CheckState.Checked)
    chosen = [s.key for s in dialog.chosen()]
    dialog.accept()
    assert window.settings.value("compare/chosen") in (chosen, chosen[0])
    window.compare_dialog()
    again = [d for d in window.findChildren(ChooseEnvironmentsDialog) if d.isVisible()][-1]
    assert [s.key for s in again.chosen()] == chosen
    again.reject()


def test_no_empty_band_for_the_drift_check_or_export_lines_until_they_say_something(qtbot) -> None:
    comparison = Comparison(datetime.now(UTC), (), (), (), (), (), 0.0)
    dialog = CompareDialog(comparison, [])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert not dialog.drift_headline.isVisible() and not dialog.status.isVisible()
    dialog.drift_headline.setText("staging agrees with its files")
    assert dialog.drift_headline.isVisible()
    dialog.drift_headline.setText("")  # a new check starts
    assert not dialog.drift_headline.isVisible()
