"""When the server asks for a password nobody gave, the app asks for it (again, with the reason,
when a typed one is refused) and keeps it in memory only."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from app.core.connect import Target
from app.core.environments import split_password
from app.gui.password_dialog import PasswordDialog
from app.gui.sources import target_source
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, open_window


def test_a_missing_password_is_asked_for_and_a_wrong_one_again(
        qtbot, settings, database: Database, migrations: MigrationDir, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not database.server.password:
        pytest.skip("this server takes no password")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    dsn, _ = split_password(database.dsn)
    migrations.add("t", "CREATE TABLE t (id int);\n")
    source = target_source(Target(dsn, "--dsn", environment="no-password"), migrations.path, "no-password")
    window = open_window(qtbot, settings, [], initial=source)
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.refresh()
    dialog = asked.args[0]
    assert isinstance(dialog, PasswordDialog)
    assert not dialog.save.isEnabled(), "a DSN has no keyring entry: memory only"
    qtbot.keyClicks(dialog.password, "wrong-" + database.server.password)
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as again:
        dialog.accept()
    second = again.args[0]
    assert "password was refused" in " ".join(w.text() for w in second.findChildren(QLabel))
    qtbot.keyClicks(second.password, database.server.password)
    with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):
        second.accept()
    assert window.cards.cards["pending"].value.text() == "1"
    assert database.server.password not in window.log.text()
    window.close()
