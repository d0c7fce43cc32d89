"""A theme switch repaints the coloured cells of the fleet overview and of the lint findings at once,
not when they are next filled."""

from __future__ import annotations

from app.core import environments as envs
from app.gui import theme
from app.gui.overview import HEALTH, OverviewWindow
from app.gui.sources import environment_source
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, is_kind
from tests.gui.test_theme_switch import light_again  # noqa: F401 - the fixture


def test_overview_cells_take_the_new_theme_at_the_switch(qtbot, make_window: WindowFactory,
                                                         saved: dict[str, Database], migrations: MigrationDir,
                                                         light_again: None) -> None:  # noqa: F811
    migrations.add("a", "CREATE TABLE a (id int);\n")
    window = make_window()
    overview = OverviewWindow([environment_source(p) for p in envs.list_environments()])
    qtbot.addWidget(overview)
    overview.show()
    with qtbot.waitSignal(overview.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        overview.refresh()
    cell = overview.rows["eu"]
    health = cell.text(HEALTH)
    assert cell.foreground(HEALTH).color().name() == theme.state_colour(health)
    for choice, expected in (("dark", theme.DARK), ("light", theme.LIGHT)):
        window.theme_actions[choice].trigger()
        assert theme.current() is expected
        assert cell.foreground(HEALTH).color().name() == theme.state_colour(health), choice


def test_lint_severities_take_the_new_theme_at_the_switch(qtbot, make_window: WindowFactory, database: Database,
                                                          migrations: MigrationDir, light_again: None) -> None:  # noqa: F811
    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    migrations.add("index_email", "CREATE INDEX users_email ON users (email);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("lint")):
        window.act_lint.trigger()
    severity = window.last_dialog.table.item(0, 0)
    role = "error" if severity.text() == "error" else "warn"
    assert severity.foreground().color().name() == getattr(theme.LIGHT, role)
    for choice, expected in (("dark", theme.DARK), ("light", theme.LIGHT)):
        window.theme_actions[choice].trigger()
        assert severity.foreground().color().name() == getattr(expected, role), choice
