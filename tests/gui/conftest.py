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
from app.gui.sources import Source, target_source
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
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A TIDEMARK_HOME of the test's own (under tmp_path, which is yielded); the keyring answers nothing."""
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield tmp_path
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def saved(home: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[dict[str, Database]]:
    """Three saved environments (eu, us, prod-ap) in group tenants, each on a fresh database, in the
    test's own home (passwords from PGPASSWORD)."""
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    with ExitStack() as stack:
        dbs = {}
        for name in ("eu", "us", "prod-ap"):
            db = stack.enter_context(fresh_database(pg_server))
            dsn, _ = envs.split_password(db.dsn)
            envs.save_environment(envs.Profile(name, dsn=dsn, migrations_dir=str(migrations.path),
                                               groups=("tenants",)))
            dbs[name] = db
        yield dbs


def read_by_worker(error: Any) -> Any:
    """A failed migration as the worker hands it over: with its file's text read (returns it)."""
    from app.gui.worker import read_failing_file

    read_failing_file(error)
    return error


def mnemonic_clashes(bar: Any) -> list[list[str]]:
    """The menus (of a menu bar, and the bar itself) in which two entries share an Alt letter."""
    from PySide6.QtWidgets import QMenu

    menus = [bar]
    for menu in menus:
        menus += [a.menu() for a in menu.actions() if isinstance(a.menu(), QMenu)]
    clashes = []
    for menu in menus:
        texts = [a.text().replace("&&", "") for a in menu.actions()]
        letters = [t[t.index("&") + 1].lower() for t in texts if "&" in t]
        if len(letters) != len(set(letters)):
            clashes.append(texts)
    return clashes


def asked(qtbot: Any, window: Any, start: Callable[[], object], of: type | None = None) -> Any:
    """Call `start` and return the dialog the window's `asking` signal opens (of that class, if given)."""
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as signal:
        start()
    dialog = signal.args[0]
    assert of is None or isinstance(dialog, of), type(dialog)
    return dialog


def confirm_run(qtbot: Any, window: MainWindow, start: Callable[[], object], typed: str | None = None) -> Any:
    """Start a run (`start`), wait for its confirmation dialog and accept it, typing the name if it asks."""
    dialog = asked(qtbot, window, start)
    if getattr(dialog, "typed", None) is not None:
        qtbot.keyClicks(dialog.typed.field, typed if typed is not None else dialog.need.name)
    assert dialog.ok.isEnabled()
    dialog.ok.click()
    return dialog


def open_window(qtbot: Any, settings: QSettings, sources: list[Source] | None = None, *,
                initial: Source | None = None, show: bool = True) -> MainWindow:
    """A main window that reads nothing by itself (the test refreshes), closed after the test."""
    window = MainWindow(settings, sources=sources, initial=initial, auto_refresh=False)
    window.confirm_quit_during_run = lambda: True  # type: ignore[method-assign]  # no modal question in tests
    qtbot.addWidget(window)
    if show:
        window.show()
    return window


@pytest.fixture
def make_window(qtbot: object, settings: QSettings, database: Database, migrations: MigrationDir
                ) -> Iterator[WindowFactory]:
    """Build a main window on the test database and wait for its first status."""
    windows: list[MainWindow] = []

    def make(*, name: str = "test-db", protected: bool = False, wait: bool = True) -> MainWindow:
        target = Target(database.dsn, "test", environment=name, protected=protected)
        source = target_source(target, migrations.path, name)
        window = open_window(qtbot, settings, [], initial=source)
        windows.append(window)
        if wait:
            with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):  # type: ignore[attr-defined]
                window.refresh()
        return window

    yield make
    for w in windows:
        w.close()
