"""The environment list follows environments.toml when the CLI changes it while the app runs."""

from __future__ import annotations

from app.core.environments import environments_file
from tests.conftest import run_cli
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def _names(window) -> list[str]:
    return [window.env_combo.itemText(i) for i in range(window.env_combo.count())]


def test_an_environment_added_and_changed_in_a_terminal_shows_up(qtbot, make_window: WindowFactory) -> None:
    before = environments_file().read_text() if environments_file().is_file() else None
    window = make_window()
    window.watch_environments()
    try:
        assert run_cli("env", "add", "follow-me", "--host", "db.example.com", "--database", "app",
                       "--no-protected").code == 0
        qtbot.waitUntil(lambda: "follow-me" in _names(window), timeout=DEADLINE_MS)
        assert _names(window).count("follow-me") == 1
        assert run_cli("env", "edit", "follow-me", "--protected").code == 0
        qtbot.waitUntil(lambda: "follow-me  (protected)" in _names(window), timeout=DEADLINE_MS)
        assert run_cli("env", "remove", "follow-me").code == 0
        qtbot.waitUntil(lambda: not any(n.startswith("follow-me") for n in _names(window)), timeout=DEADLINE_MS)
        assert "test-db" in _names(window)  # the window's own source stays
    finally:
        if before is None:
            environments_file().unlink(missing_ok=True)
        else:
            environments_file().write_text(before)
