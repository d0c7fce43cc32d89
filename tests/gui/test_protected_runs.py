"""The desktop app protects as the CLI does: Run pending on a protected environment shows the plan,
asks for the name typed and takes the backup; an unprotected database gets a summary; the sandbox
runs at once. The engine checks the confirmation inside the lock (app.core.protection)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from app.core.backup import backup_folder
from app.core.connect import Target
from app.core.progress import Phase
from app.gui.main_window import MainWindow
from app.gui.run_dialog import RunDialog
from app.gui.sources import Source
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, asked, is_kind, open_window


def _backups(window: MainWindow) -> list:
    assert window.source is not None and window.source.target is not None
    folder = backup_folder(window.source.target)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_run_pending_on_a_protected_environment_needs_the_name_typed_and_backs_up_first(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int PRIMARY KEY);\n")
    migrations.add("index", "CREATE INDEX CONCURRENTLY users_id ON users (id);\n")
    window = make_window(name=f"production-eu-{database.name}", protected=True)
    dialog = asked(qtbot, window, window.act_run.trigger, RunDialog)
    assert not database.exists("public.users")  # the review ran nothing
    text = dialog.view.toPlainText()
    assert "20260101000001_users.sql" in text and "20260101000002_index.sql" in text
    assert "outside a transaction" in text
    assert dialog.backup.box.isChecked() and dialog.backup.mode() == "schema"
    assert not dialog.ok.isEnabled() and dialog.cancel_button.isDefault()  # Enter cancels until it matches
    qtbot.keyClicks(dialog.typed.field, "production-eu")
    dialog.accept()  # Enter with the wrong name is refused
    assert dialog.isVisible() and not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.typed.field, f"-{database.name}")
    assert dialog.ok.isEnabled() and dialog.ok.isDefault()

    messages: list[str] = []
    window.controller.progress.connect(lambda e: messages.append(e.message) if e.phase is Phase.MESSAGE else None)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        qtbot.keyClick(dialog.typed.field, Qt.Key.Key_Return)  # the keyboard path: type, Enter
    assert done.args[1] == "ok", window.last_error
    assert database.exists("public.users") and database.exists("public.users_id")
    backups = _backups(window)
    assert len(backups) == 1 and backups == [done.args[2].backup.path]
    assert "CREATE TABLE public.users (" not in backups[0].read_text()  # taken before the run
    assert any(m.startswith("backup (schema) written to") for m in messages)
    assert "written to" in window.log.text() and "confirmed: typed" in window.log.text()


def test_cancelling_the_confirmation_runs_nothing_and_takes_no_backup(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    name = f"prod-{database.name}"  # the backups folder is the environment's: one per test
    window = make_window(name=name, protected=True)
    dialog = asked(qtbot, window, window.run_pending, RunDialog)
    dialog.cancel_button.click()
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert "not confirmed: nothing ran" in window.log.text()
    assert not window.controller.busy
    assert not database.exists("public.users") and not database.exists("public._migrations")
    assert _backups(window) == []


def test_unticking_the_backup_is_warned_and_said_in_the_log(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    name = f"prod-{database.name}"  # the backups folder is the environment's: one per test
    window = make_window(name=name, protected=True)
    dialog = asked(qtbot, window, window.run_pending, RunDialog)
    assert dialog.backup.warning.isHidden()
    dialog.backup.box.click()
    assert not dialog.backup.warning.isHidden() and dialog.backup.mode() is None
    qtbot.keyClicks(dialog.typed.field, name)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        dialog.ok.click()
    assert done.args[1] == "ok", window.last_error
    assert database.exists("public.users") and _backups(window) == []
    assert f"warning: no backup before migrating protected environment {name}" in window.log.text()


def test_run_up_to_selected_confirms_only_what_runs(qtbot, make_window: WindowFactory, database: Database,
                                                   migrations: MigrationDir) -> None:
    for i in range(3):
        migrations.add(f"t{i}", f"CREATE TABLE t{i} (id int);\n")
    name = f"prod-{database.name}"  # the backups folder is the environment's: one per test
    window = make_window(name=name, protected=True)
    assert window.list.select_version("20260101000002")
    dialog = asked(qtbot, window, window.act_run_to.trigger, RunDialog)
    assert dialog.names == ["20260101000001_t0.sql", "20260101000002_t1.sql"]
    qtbot.keyClicks(dialog.typed.field, name)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        dialog.ok.click()
    assert done.args[1] == "ok", window.last_error
    assert database.exists("public.t1") and not database.exists("public.t2")


def test_a_migration_added_while_the_dialog_is_open_is_not_run_unseen(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    name = f"prod-{database.name}"  # the backups folder is the environment's: one per test
    window = make_window(name=name, protected=True)
    dialog = asked(qtbot, window, window.run_pending, RunDialog)
    late = migrations.add("late", "CREATE TABLE late (id int);\n")
    qtbot.keyClicks(dialog.typed.field, name)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        dialog.ok.click()
    assert done.args[1] == "failed"
    assert f"changed since it was confirmed (now also {late.name})" in str(done.args[2])
    assert window.error_panel.isVisible()
    assert not database.exists("public.users") and not database.exists("public.late")
    assert _backups(window) == []


def test_the_sandbox_runs_without_a_question(qtbot, settings, database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    source = Source("sandbox", "sandbox", "sandbox", "#2e7d32", False, database.dsn, migrations.path,
                    Target(database.dsn, "sandbox"), "sandbox")
    window = open_window(qtbot, settings, [], initial=source, show=False)
    asked: list[object] = []
    window.asking.connect(asked.append)
    with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):
        window.refresh()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as done:
        window.run_pending()
    assert done.args[1] == "ok", window.last_error
    assert asked == [] and database.exists("public.users")
    window.close()
