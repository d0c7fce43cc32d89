"""The environment dialog with a real keyring, the compare view, and the packaged `--self-test`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql
from PySide6.QtCore import Qt

from app.core.connect import Target
from app.gui.sources import target_source
from tests import keyring_service
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, open_window

secret_service = pytest.fixture(scope="module")(keyring_service.secret_service)


@pytest.fixture
def real_keyring(secret_service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """The Secret Service backend, an own config folder, and no password from libpq's files."""
    keyring = pytest.importorskip("keyring")
    pytest.importorskip("app.core.environments")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring_service.backend(secret_service))
    try:
        yield keyring
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def login(database: Database) -> Iterator[tuple[str, str]]:
    """A role with a run-time password that may migrate the test database: (url without password, password)."""
    user = "tmgui_" + uuid.uuid4().hex[:8]
    password = secrets.token_urlsafe(18)
    with psycopg.connect(database.server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(sql.Identifier(database.name),
                                                                                  sql.Identifier(user)))
    database.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {user}")
    params = conninfo.conninfo_to_dict(database.dsn)
    url = f"postgresql://{user}@{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{database.name}"
    try:
        yield url, password
    finally:
        with database.connect() as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(user)))
        with psycopg.connect(database.server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def test_environment_dialog_stores_the_password_in_the_keyring_only(
        qtbot, real_keyring, login, settings, migrations: MigrationDir, tmp_path: Path) -> None:
    from app.core.environments import environments_file
    from app.gui.environment_dialog import EnvironmentDialog

    url, password = login
    migrations.add("one", "CREATE TABLE gui_one (id int);\n")
    dialog = EnvironmentDialog()
    qtbot.addWidget(dialog)
    name = "staging-" + uuid.uuid4().hex[:6]
    qtbot.keyClicks(dialog.name, name)
    dialog.dsn.setText(url)
    dialog.folder.setText(str(migrations.path))
    qtbot.keyClicks(dialog.password, password)
    with qtbot.waitSignal(dialog.controller.finished, timeout=DEADLINE_MS,
                          check_params_cb=lambda k, o, p: k == "save") as saved:
        dialog.save_button.click()
    assert saved.args[1] == "ok", saved.args[2]
    assert dialog.password.text() == ""  # typed once
    assert real_keyring.get_password("tidemark", name) == password
    assert password not in environments_file().read_text(encoding="utf-8")
    assert "password stored in the OS keyring" in dialog.result.text()

    with qtbot.waitSignal(dialog.controller.finished, timeout=DEADLINE_MS,
                          check_params_cb=lambda k, o, p: k == "test") as tested:
        dialog.test_button.click()  # no password typed: the stored one is used
    assert tested.args[1] == "ok", tested.args[2]
    assert "connected to" in dialog.result.text()

    # The main window lists it and reads its status with the keyring's password.
    window = open_window(qtbot, settings, show=False)
    env = next(s for s in window.sources() if s.name == name)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS) as status:
        window.set_source(env)
    assert status.args[:2] == ["status", "ok"], status.args[2]
    assert window.windowTitle() == f"Tidemark — {name}"
    assert window.cards.cards["pending"].value.text() == "1"
    assert password not in window.log.text()

    dialog.confirm_remove = lambda _name: True
    with qtbot.waitSignal(dialog.controller.finished, timeout=DEADLINE_MS,
                          check_params_cb=lambda k, o, p: k == "remove") as removed:
        dialog.remove_button.click()
    assert removed.args[1] == "ok", removed.args[2]
    assert real_keyring.get_password("tidemark", name) is None
    assert dialog.list.count() == 0


def test_compare_shows_the_matrix_with_differences(qtbot, make_window, database: Database,
                                                   migrations: MigrationDir) -> None:
    pytest.importorskip("app.report.compare")
    from app.core.runner import MigrationRunner
    from app.gui.compare_view import CompareDialog

    migrations.add("one", "CREATE TABLE c_one (id int);\n")
    migrations.add("two", "CREATE TABLE c_two (id int);\n")
    other = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(database.server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    try:
        other_dsn = database.server.dsn(other)
        MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()
        MigrationRunner(Target(other_dsn, "test"), migrations.path).run_migrations(target="20260101000001")
        window = make_window(name="dev")
        staging = target_source(Target(other_dsn, "test", environment="staging"), migrations.path, "staging")
        with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS) as done:
            window.compare([window.source, staging])
        assert done.args[:2] == ["compare", "ok"], done.args[2]
        dialog = window.last_dialog
        assert isinstance(dialog, CompareDialog)
        model = dialog.model
        assert model.headerData(1, Qt.Orientation.Horizontal).startswith("dev")
        assert model.headerData(2, Qt.Orientation.Horizontal).startswith("staging")
        rows = {model.index(r, 0).data(): (model.index(r, 1).data(), model.index(r, 2).data())
                for r in range(model.rowCount())}
        assert rows["20260101000002_two.sql"] == ("applied", "pending")
        assert rows["20260101000001_one.sql"] == ("applied", "applied")
        dialog.only.setChecked(True)
        assert dialog.proxy.rowCount() == 1
    finally:
        with psycopg.connect(database.server.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other)))


def test_self_test_flag_opens_the_window_offscreen_and_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "TIDEMARK_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "app.gui.app", "--self-test"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "self-test ok"
    assert proc.stderr == ""
