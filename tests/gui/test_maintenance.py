"""Repair and baseline from the app, with the CLI's rules: a reason, the typed name on a protected
environment, and baseline's check that the database has what the files create."""

from __future__ import annotations

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.gui.maintenance_dialogs import BaselineDialog, RepairDialog
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, asked, is_kind


def test_repair_shows_the_diff_and_needs_a_reason_and_the_name(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    f = migrations.add("t", "CREATE TABLE t (id int);\n")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()
    f.write_text("CREATE TABLE t (id int);\n-- ROLLBACK: DROP TABLE t;\n")
    window = make_window(name="prod-db", protected=True)
    assert window.list.select_version(f.name[:14])
    assert window.act_repair.isEnabled()
    dialog = asked(qtbot, window, window.act_repair.trigger)
    assert isinstance(dialog, RepairDialog)
    assert "+-- ROLLBACK: DROP TABLE t;" in dialog.diff.toPlainText()
    assert "rollback SQL will be stored" in dialog.diff.toPlainText()
    qtbot.keyClicks(dialog.typed.field, "prod-db")
    assert not dialog.ok.isEnabled()  # no reason yet
    qtbot.keyClicks(dialog.reason, "rollback added after review")
    assert dialog.ok.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("repair")) as done:
        dialog.ok.click()
    assert done.args[1] == "ok", window.last_error
    assert database.scalar("SELECT rollback_sql FROM public._migrations") == "DROP TABLE t;"
    assert database.scalar("SELECT reason FROM public._migration_audit WHERE event = 'repaired'") == \
        "rollback added after review"


def test_baseline_records_without_running_and_checks_the_database_first(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    migrations.add("u", "CREATE TABLE u (id int);\n")
    migrations.add("later", "CREATE TABLE later (id int);\n")
    database.execute("CREATE TABLE t (id int)")  # u is missing
    window = make_window(name="prod-db", protected=True)
    assert window.list.select_version("20260101000002")
    assert window.act_baseline.isEnabled()
    dialog = asked(qtbot, window, window.act_baseline.trigger)
    assert isinstance(dialog, BaselineDialog)
    assert dialog.names == ["20260101000001_t.sql", "20260101000002_u.sql"]
    qtbot.keyClicks(dialog.typed.field, "prod-db")
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("baseline")) as done:
        dialog.ok.click()
    assert done.args[1] == "failed"
    assert "lacks what these files create" in str(done.args[2]) and "u" in str(done.args[2])
    assert window.error_panel.isVisible() and "Baseline refused" in window.error_panel.title.text()
    assert not database.exists("public._migrations") or database.scalar("SELECT count(*) FROM public._migrations") == 0

    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    assert window.list.select_version("20260101000002")
    dialog = asked(qtbot, window, window.act_baseline.trigger)
    dialog.force.click()
    qtbot.keyClicks(dialog.typed.field, "prod-db")
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("baseline")) as done:
        dialog.ok.click()
    assert done.args[1] == "ok", window.last_error
    rows = database.query("SELECT name, baselined FROM public._migrations ORDER BY version")
    assert rows == [("20260101000001_t.sql", True), ("20260101000002_u.sql", True)]
    assert not database.exists("public.u") and not database.exists("public.later")  # nothing ran
