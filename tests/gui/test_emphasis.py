"""Cancel and a destructive OK are bold only while they can be pressed."""

from __future__ import annotations

from app.gui.progress_panel import ProgressPanel


def test_cancel_is_bold_only_while_it_can_be_pressed(qtbot) -> None:
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    button = panel.cancel_button
    assert not button.isEnabled() and not button.font().bold()
    panel.start("Running…")
    assert button.isEnabled() and button.font().bold()
    panel.cancelling()
    assert not button.isEnabled() and not button.font().bold()
    panel.stop("cancelled")
    assert not button.font().bold()


def test_a_destructive_ok_is_bold_only_while_enabled(qtbot) -> None:
    from app.core.protection import Action, Requirement
    from app.gui.maintenance_dialogs import RepairDialog

    need = Requirement(Action.REPAIR, "prod", "prod", protected=True, backup=None, summary=False)
    dialog = RepairDialog([], need, target="db.example.com/prod")
    qtbot.addWidget(dialog)
    dialog.ok.setEnabled(False)
    assert not dialog.ok.font().bold()
    dialog.ok.setEnabled(True)
    assert dialog.ok.font().bold()
