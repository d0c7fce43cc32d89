"""The Environments dialog shows and keeps every field of a profile (SSH hop, password command,
certificates, groups, database pattern): saving an edit never drops what the form holds."""

from __future__ import annotations

from pathlib import Path

from app.core import environments as envs
from tests.gui.conftest import DEADLINE_MS


def test_editing_a_profile_in_the_dialog_keeps_all_its_fields(qtbot, home: Path) -> None:
    from app.gui.environment_dialog import EnvironmentDialog

    before = envs.Profile("eu-prod", host="db.internal", database="app", user="deploy", sslmode="verify-full",
                          sslrootcert=str(home / "root.pem"), sslcert=str(home / "client.pem"),
                          sslkey=str(home / "client.key"), ssh="deploy@bastion.example.com",
                          password_command="aws rds generate-db-auth-token --hostname db.internal",
                          groups=("tenants", "eu"), databases="tenant_%", protected=True)
    envs.save_environment(before)
    dialog = EnvironmentDialog()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=DEADLINE_MS)
    dialog.list.setCurrentRow(0)
    assert dialog.ssh.text() == "deploy@bastion.example.com"
    assert dialog.password_command.text().startswith("aws rds")
    assert dialog.groups.text() == "tenants, eu" and dialog.databases.text() == "tenant_%"
    assert dialog.sslkey.text().endswith("client.key")
    dialog.colour.setText("#c62828")
    with qtbot.waitSignal(dialog.controller.finished, timeout=DEADLINE_MS,
                          check_params_cb=lambda k, o, p: k == "save") as saved:
        dialog.save_button.click()
    assert saved.args[1] == "ok", saved.args[2]
    after = envs.get_environment("eu-prod")
    assert after == envs.Profile(**{**before.__dict__, "colour": "#c62828"})
