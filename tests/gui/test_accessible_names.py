"""Every interactive control of the main window and its main dialogs has a name a screen reader reads out
(its accessibleName, or the text or buddy label Qt exposes as one)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.core import environments as envs
from tests.conftest import Database, MigrationDir
from tests.gui.a11y import assert_named
from tests.gui.conftest import DEADLINE_MS, WindowFactory, confirm_run, is_kind


def test_the_main_window_and_its_run_rollback_lint_and_history_dialogs(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    migrations.add("one", "CREATE TABLE one_t (id int);\n")
    migrations.add("index_email", "CREATE INDEX users_email ON users (email);\n")
    window = make_window(name="production", protected=True)
    window.list.select_version(window.snapshot.status.migrations[0].version)
    window.act_find.trigger()  # the find bar too, where it shows
    for i in range(window.details.count()):
        window.details.setCurrentIndex(i)
        assert_named(window, window.details.tabText(i))

    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_pending(target=window.snapshot.status.migrations[0].version)
    assert_named(asked.args[0])
    asked.args[0].reject()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=DEADLINE_MS)

    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("lint")):
        window.act_lint.trigger()
    assert_named(window.last_dialog)
    window.last_dialog.close()

    confirm_run(qtbot, window, lambda: window.run_pending(target=window.snapshot.status.migrations[0].version))
    qtbot.waitUntil(lambda: not window.controller.busy and bool(window.snapshot.status.applied), timeout=DEADLINE_MS)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("plan")):
        window.plan_rollback(count=1)
    assert_named(window.last_dialog)
    window.last_dialog.reject()

    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("history")):
        window.show_history()
    assert_named(window.last_dialog)
    window.last_dialog.close()


def test_the_environments_open_dsn_compare_and_overview_dialogs(qtbot, home: Path, migrations: MigrationDir) -> None:
    from app.gui.compare_view import ChooseEnvironmentsDialog, CompareDialog
    from app.gui.dialogs import OpenDsnDialog
    from app.gui.environment_dialog import EnvironmentDialog
    from app.gui.overview import OverviewWindow
    from app.gui.sources import environment_source
    from app.report.compare import Comparison, DriftItem

    envs.save_environment(envs.Profile("eu-prod", host="db.internal", database="app", user="deploy",
                                       migrations_dir=str(migrations.path), protected=True, groups=("eu",)))
    envs.save_environment(envs.Profile("staging", host="db.internal", database="staging", user="deploy",
                                       migrations_dir=str(migrations.path)))
    environments = EnvironmentDialog()
    qtbot.addWidget(environments)
    environments.show()
    qtbot.waitUntil(lambda: environments.list.count() == 2, timeout=DEADLINE_MS)
    environments.list.setCurrentRow(0)
    assert_named(environments)

    sources = [environment_source(p) for p in envs.list_environments()]
    drift = DriftItem("index public.users_email", "removed", "staging", "eu-prod", "CREATE INDEX ...", None)
    for dialog in (OpenDsnDialog(), ChooseEnvironmentsDialog(sources, sources[0]), OverviewWindow(sources),
                   CompareDialog(Comparison(datetime.now(UTC), (), (), (), (drift,), (), 0.0), [])):
        qtbot.addWidget(dialog)
        dialog.show()
        assert_named(dialog, type(dialog).__name__)
