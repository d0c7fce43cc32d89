"""Open DSN: one entry per name in the environment list, however the database came (the dialog, the
remembered one, the command line, the CLI saving an environment meanwhile); nothing saved for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings

from app.core.connect import describe_dsn
from app.core.environments import environments_file
from app.gui import sources as src
from app.gui.dialogs import OpenDsnDialog
from app.gui.main_window import MainWindow
from app.gui.menus import fill_sources_menu
from tests.conftest import Database, MigrationDir, run_cli
from tests.gui.conftest import DEADLINE_MS, WindowFactory, open_window


def _names(window: MainWindow) -> list[str]:
    return [window.env_combo.itemText(i) for i in range(window.env_combo.count())]


def _open(qtbot, window: MainWindow, dsn: str, folder: Path, name: str = "") -> OpenDsnDialog:
    window.act_open.trigger()
    dialog = window.findChildren(OpenDsnDialog)[-1]
    qtbot.waitUntil(dialog.isVisible, timeout=DEADLINE_MS)
    dialog.dsn.setText(dsn)
    dialog.folder.setText(str(folder))
    dialog.name.setText(name)
    dialog.accept()
    return dialog


def test_opening_a_dsn_twice_lists_it_once_and_saves_no_environment(qtbot, make_window: WindowFactory,
                                                                     database: Database, migrations: MigrationDir,
                                                                     tmp_path: Path) -> None:
    before = environments_file().read_text() if environments_file().is_file() else None
    window = make_window()
    other = tmp_path / "other-folder"
    other.mkdir()
    _open(qtbot, window, database.dsn, migrations.path, "reporting")
    _open(qtbot, window, database.dsn, other, "reporting")  # the same name again, another folder
    assert _names(window).count("reporting") == 1
    assert window.source is not None and window.source.name == "reporting" and window.source.kind == "dsn"
    assert window.source.migrations_dir == other, "the latest opening is the entry"
    _open(qtbot, window, database.dsn, migrations.path)  # no name: listed under the connection's form
    assert _names(window).count(describe_dsn(database.dsn)) == 1
    menu = window.sources_menu
    fill_sources_menu(window, menu)
    shown = [a.text() for a in menu.actions()]
    assert len(shown) == len(set(shown)) == len(_names(window))
    after = environments_file().read_text() if environments_file().is_file() else None
    assert after == before, "Open DSN writes no saved environment"
    assert not any(s.kind == "environment" for s in window.sources())


def test_the_remembered_and_the_command_lines_dsn_of_one_name_are_one_entry(qtbot, settings: QSettings,
                                                                          database: Database,
                                                                          migrations: MigrationDir,
                                                                          tmp_path: Path) -> None:
    from app.gui.settings import remember_dsn

    remember_dsn(settings, database.dsn, tmp_path, "reporting", False)
    initial = src.dsn_source(database.dsn, migrations.path, name="reporting")  # `--dsn … --name reporting`
    window = open_window(qtbot, settings, [], initial=initial, show=False)
    assert _names(window) == ["reporting"]
    assert window.source is not None and window.source.migrations_dir == migrations.path, "the command line wins"


def test_a_saved_environments_name_is_not_taken_by_a_dsn(qtbot, settings: QSettings, saved: dict[str, Database],
                                                         migrations: MigrationDir) -> None:
    sources, _ = src.list_sources()
    window = open_window(qtbot, settings, sources)
    dialog = _open(qtbot, window, saved["us"].dsn, migrations.path, "eu")
    assert dialog.isVisible() and "a saved environment is called 'eu'" in dialog.problem.text()
    dialog.name.setText("scratch")
    dialog.accept()
    assert not dialog.isVisible() and _names(window).count("scratch") == 1

    window.watch_environments()
    assert run_cli("env", "add", "scratch", "--host", "db.example.com", "--database", "app",
                   "--no-protected").code == 0  # the CLI, meanwhile
    qtbot.waitUntil(lambda: window._find("env:scratch") is not None, timeout=DEADLINE_MS)
    assert _names(window).count("scratch") == 1, "the saved environment is what the name means"
    assert "the database opened as 'scratch'" in window.log.text()


def test_a_command_line_dsn_named_like_a_saved_environment_is_exit_2(saved: dict[str, Database]) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "app.gui.app", "--self-test", "--dsn", "postgresql://x@localhost/x",
                           "--name", "eu"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("tidemark-gui: error: --name 'eu' is a saved environment's name: open it with "
                                   "--environment eu, or give this database another --name")
