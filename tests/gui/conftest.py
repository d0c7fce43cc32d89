"""GUI test fixtures: a main window on a test database, settings in a temp file, Qt noise ignored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QSettings

from app.core import environments as envs
from app.core.connect import Target
from app.gui.main_window import MainWindow
from app.gui.sources import target_source
from tests.conftest import Database, MigrationDir, Server, fresh_database

# The offscreen platform warns that it cannot propagate size hints; it says nothing about our code.
QT_NOISE = "propagateSizeHints"
DEADLINE_MS = 30_000  # a deadline for waits on real PostgreSQL work, not a timing assertion


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the offscreen plugin's warning in every GUI test (qt_log_level_fail=WARNING is on)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(QT_NOISE))


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """QSettings in a temp INI file: tests never touch the user's settings."""
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


WindowFactory = Callable[..., MainWindow]


def is_kind(kind: str, outcome: str | None = None) -> Callable[[str, str, object], bool]:
    """For waitSignal's check_params_cb on a job_done(kind, outcome, payload): this kind (and outcome)."""
    def check(k: str, o: str, _payload: object) -> bool:
        return k == kind and (outcome is None or o == outcome)

    return check


@pytest.fixture
def saved(tmp_path: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[dict[str, Database]]:
    """Three saved environments (eu, us, prod-ap) in group tenants, each on a fresh database, in a
    TIDEMARK_HOME of the test's own; the keyring answers nothing (passwords from PGPASSWORD)."""
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with ExitStack() as stack:
            dbs = {}
            for name in ("eu", "us", "prod-ap"):
                db = stack.enter_context(fresh_database(pg_server))
                dsn, _ = envs.split_password(db.dsn)
                envs.save_environment(envs.Profile(name, dsn=dsn, migrations_dir=str(migrations.path),
                                                   groups=("tenants",)))
                dbs[name] = db
            yield dbs
    finally:
        keyring.set_keyring(previous)


def confirm_run(qtbot: Any, window: MainWindow, start: Callable[[], object], typed: str | None = None) -> Any:
    """Start a run (`start`), wait for its confirmation dialog and accept it, typing the name if it asks."""
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        start()
    dialog = asked.args[0]
    if getattr(dialog, "typed", None) is not None:
        qtbot.keyClicks(dialog.typed.field, typed if typed is not None else dialog.need.name)
    assert dialog.ok.isEnabled()
    dialog.ok.click()
    return dialog


@pytest.fixture
def make_window(qtbot: object, settings: QSettings, database: Database, migrations: MigrationDir
                ) -> Iterator[WindowFactory]:
    """Build a main window on the test database and wait for its first status."""
    windows: list[MainWindow] = []

    def make(*, name: str = "test-db", protected: bool = False, wait: bool = True) -> MainWindow:
        target = Target(database.dsn, "test", environment=name, protected=protected)
        source = target_source(target, migrations.path, name)
        window = MainWindow(settings, sources=[], initial=source, auto_refresh=False)
        window.confirm_quit_during_run = lambda: True  # no modal question in tests
        qtbot.addWidget(window)  # type: ignore[attr-defined]
        windows.append(window)
        window.show()
        if wait:
            with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):  # type: ignore[attr-defined]
                window.refresh()
        return window

    yield make
    for w in windows:
        w.close()
