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


def test_bold_survives_the_button_moving_into_a_dialog(qtbot) -> None:
    """A button box filled, then laid out in the dialog: the re-polish in its new parent reset the font."""
    from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QVBoxLayout

    from app.gui import theme
    from app.gui.emphasis import bold_while_enabled

    theme.apply(QApplication.instance(), "light")  # the style sheet: what re-polishes the button
    dialog = QDialog()
    qtbot.addWidget(dialog)
    box = QDialogButtonBox()
    ok = box.addButton("&Roll back 2", QDialogButtonBox.ButtonRole.AcceptRole)
    ok.setObjectName("dangerButton")
    bold_while_enabled(ok)
    QVBoxLayout(dialog).addWidget(box)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert ok.font().bold()


def test_the_danger_button_is_painted_flat_in_its_colour_with_white_text(qtbot) -> None:
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication, QPushButton

    from app.gui import theme

    for t in (theme.LIGHT, theme.DARK):
        theme.apply(QApplication.instance(), t.name)
        button = QPushButton("Roll back 2")
        button.setObjectName("dangerButton")
        qtbot.addWidget(button)
        button.show()
        qtbot.waitExposed(button)
        image = button.grab().toImage()
        face = image.pixelColor(4, image.height() // 2)  # left of the text, inside the border
        assert face == QColor(t.danger_button), (t.name, face.name())
        assert theme.contrast("#ffffff", face.name()) >= 4.5
    theme.apply(QApplication.instance(), "light")
