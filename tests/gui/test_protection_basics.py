"""The app's small protection rules: "prod" names protected by default, the Run pending shortcut,
and a rehearsal headline that claims only what every rollback did."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from app.core.rehearse import RehearsalResult, RehearsedMigration


def test_new_environment_named_prod_is_protected_until_unticked(qtbot) -> None:
    from app.gui.environment_dialog import EnvironmentDialog

    dialog = EnvironmentDialog()
    qtbot.addWidget(dialog)
    dialog.new_environment()
    qtbot.keyClicks(dialog.name, "eu-prod")
    assert dialog.protected.isChecked() and dialog.profile().protected
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, "staging")
    assert not dialog.protected.isChecked()
    dialog.protected.click()  # the user's choice wins from here on
    qtbot.keyClicks(dialog.name, "-notprod")
    assert dialog.protected.isChecked()
    dialog.protected.click()
    qtbot.keyClicks(dialog.name, "x")
    assert not dialog.protected.isChecked()


def test_open_dsn_named_production_is_protected_by_default(qtbot) -> None:
    from app.gui.dialogs import OpenDsnDialog

    dialog = OpenDsnDialog()
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.name, "Production")
    assert dialog.protected.isChecked()


def test_run_pending_has_ctrl_shift_r(make_window) -> None:
    window = make_window()
    assert window.act_run.shortcut() == QKeySequence("Ctrl+Shift+R")


def _result(*rollbacks: str) -> RehearsalResult:
    r = RehearsalResult("db", "15.1", "18.1")
    r.migrations = [RehearsedMigration(f"2026010100000{i}", f"m{i}", "", True, rollback=k)
                    for i, k in enumerate(rollbacks, start=1)]
    return r


def test_rehearsal_headline_claims_exact_restores_only_when_each_was_verified() -> None:
    from app.report.rehearsal import rehearsal_headline

    assert rehearsal_headline(_result("verified", "verified")).endswith("every rollback restored the schema exactly")
    said = rehearsal_headline(_result("verified", "manual"))
    assert "every rollback restored" not in said and "1 manual" in said and "not tried" in said
    assert "nothing was rehearsed" in rehearsal_headline(_result())
