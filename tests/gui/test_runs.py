"""The main window against real PostgreSQL: run with progress, cancel, errors, rollback confirmation."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core.errors import ManualRollback, MigrationFailed
from app.core.progress import Phase
from app.core.runner import MigrationRunner
from app.core.status import State
from app.gui.rollback_dialog import RollbackDialog
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, confirm_run, is_kind, open_window


def _applied(database: Database) -> list[str]:
    if not database.exists("public._migrations"):
        return []
    return [r[0] for r in database.query("SELECT name FROM public._migrations ORDER BY version")]


def test_run_pending_streams_progress_and_shows_the_new_state(qtbot, make_window: WindowFactory,
                                                              database: Database, migrations: MigrationDir) -> None:
    migrations.add("create_users", "CREATE TABLE users (id int PRIMARY KEY);\nCREATE INDEX ON users (id);\n")
    migrations.add("add_email", "ALTER TABLE users ADD COLUMN email text;\n")
    migrations.add("create_orders", "CREATE TABLE orders (id int);\n")
    window = make_window()
    assert window.windowTitle() == "Tidemark — test-db"
    assert window.cards.cards["pending"].value.text() == "3"
    assert window.act_run.isEnabled()

    events = []
    window.controller.progress.connect(events.append)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as run_done:
        dialog = confirm_run(qtbot, window, window.act_run.trigger)
        assert not window.act_run.isEnabled() and not window.act_rb_last.isEnabled()  # disabled while it works
        assert window.progress.cancel_button.isEnabled()
    assert dialog.need.summary and not dialog.need.protected  # an unprotected database: the summary, OK/Cancel
    assert run_done.args[1] == "ok", window.last_error
    starts = [e for e in events if e.phase is Phase.MIGRATION_START]
    assert [(e.index, e.total) for e in starts] == [(1, 3), (2, 3), (3, 3)]
    assert any(e.phase is Phase.STATEMENT_DONE and e.line == 2 for e in events)  # per-statement progress
    assert "done: 3 migrations applied" in window.progress.bar.format()

    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    states = {m.name: m.state for m in window.list.model.rows()}
    assert set(states.values()) == {State.APPLIED}
    assert window.cards.cards["applied"].value.text() == "3"
    assert "[3/3] done" in window.log.text()
    assert _applied(database) == [p.name for p in sorted(migrations.path.glob("*.sql"))]
    assert "layout: tidemark (detected)" in window.banner.text()


def test_cancel_mid_statement_leaves_the_database_unchanged(qtbot, make_window: WindowFactory,
                                                            database: Database, migrations: MigrationDir) -> None:
    migrations.add("first", "CREATE TABLE first_t (id int);\n")
    migrations.add("slow", "CREATE TABLE slow_t (id int);\nSELECT pg_sleep(30);\n")
    window = make_window()
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"

    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as run_done:
        confirm_run(qtbot, window, window.run_pending)
        qtbot.waitUntil(lambda: database.scalar(sleeping) == 1, timeout=DEADLINE_MS)
        window.progress.cancel_button.click()
        assert window.progress.cancel_button.text() == "Cancelling…"
    assert run_done.args[1] == "cancelled"
    assert "cancelled" in window.progress.bar.format()
    assert "slow.sql was rolled back" in window.log.text()
    # The first migration committed before the cancel; nothing of the second remains.
    assert [n.split("_", 1)[1] for n in _applied(database)] == ["first.sql"]
    assert not database.exists("public.slow_t")
    assert database.scalar(sleeping) == 0
    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    assert window.act_run.isEnabled()  # idle again, the second still pending


def test_a_failing_migration_shows_the_server_error_with_file_and_line(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("ok", "CREATE TABLE a (id int);\n")
    bad = migrations.add("bad", "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1 / 0);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as run_done:
        confirm_run(qtbot, window, window.run_pending)
    assert run_done.args[1] == "failed"
    error = run_done.args[2]
    assert isinstance(error, MigrationFailed)
    panel = window.error_panel
    assert panel.isVisible()
    assert "Run failed" in panel.title.text()
    assert window.progress.bar.format().startswith(f"failed: {bad.name} failed")  # not its path and line first
    assert "division by zero" in panel.body.text()
    assert "22012" in panel.body.text()  # SQLSTATE
    assert panel.location.text().startswith(f"at {bad}:3")
    assert "INSERT INTO b VALUES (1 / 0);" in panel.sql.toPlainText()
    marked = panel.sql.extraSelections()
    assert marked and marked[0].cursor.blockNumber() == 2  # the offending line (3, 0-based 2) is marked
    assert "Traceback" not in window.log.text()
    assert not database.exists("public.b")
    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    failed = [m for m in window.list.model.rows() if m.state is State.FAILED]
    assert [m.name for m in failed] == [bad.name]
    assert window.list.current().name == bad.name  # selected, its details shown
    assert "division by zero" in window.details.info.toPlainText()
    assert window.error_panel.isVisible()  # the refresh after the failure keeps the error
    pending = window.cards.cards["pending"]  # 0 pending said alone hid that Run pending runs the failed one again
    assert (pending.value.text(), pending.sub.full) == ("0", "+1 to retry")  # short: the card is narrow
    assert pending.toolTip() == "Run pending runs the 1 failed migration again"


def _apply(database: Database, migrations: MigrationDir) -> None:
    from app.core.connect import Target

    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()


def test_rollback_on_a_protected_environment_needs_its_name_typed(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    migrations.add("one", "CREATE TABLE one_t (id int);\n")
    migrations.add("two", "CREATE TABLE two_t (id int);\nALTER TABLE one_t ADD COLUMN note text;\n")
    _apply(database, migrations)
    window = make_window(name="production-eu", protected=True)
    assert "PROTECTED" in window.banner.text()
    assert window.act_rb_last.isEnabled()

    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("plan", "ok")):
        window.plan_rollback(count=1)
    dialog = window.last_dialog
    assert isinstance(dialog, RollbackDialog)
    script = dialog.sql.toPlainText()
    assert "20260101000002_two.sql" in script and "DROP TABLE two_t" in script
    assert "ALTER TABLE one_t DROP COLUMN note" in script  # the column added to one_t is dropped too
    assert "Cannot be undone" in dialog.lost.text() and "note" in dialog.lost.text()
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.confirm, "production")
    assert not dialog.ok.isEnabled()
    dialog.accept()  # Enter with the wrong name: refused
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.confirm, "-eu")
    assert dialog.ok.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("rollback")) as done:
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    assert done.args[1] == "ok", window.last_error
    assert not database.exists("public.two_t")
    assert database.exists("public.one_t")
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'one_t' "
                           "AND column_name = 'note'") == 0


def test_rollback_to_selected_is_exclusive(qtbot, make_window: WindowFactory, database: Database,
                                           migrations: MigrationDir) -> None:
    for i in range(3):
        migrations.add(f"t{i}", f"CREATE TABLE t{i} (id int);\n")
    _apply(database, migrations)
    window = make_window()
    assert window.list.select_version("20260101000001")
    assert window.act_rb_to.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("plan", "ok")):
        window.act_rb_to.trigger()
    dialog = window.last_dialog
    assert dialog.confirm is None  # not protected: no typing
    names = [p.name for p in window.last_result.plan.planned]
    assert names == ["20260101000003_t2.sql", "20260101000002_t1.sql"]
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("rollback", "ok")):
        dialog.ok.click()
    assert database.exists("public.t0") and not database.exists("public.t1")


def test_a_manual_rollback_is_refused_with_how_to_fix_it(qtbot, make_window: WindowFactory, database: Database,
                                                         migrations: MigrationDir) -> None:
    migrations.add("keep", "CREATE TABLE keep_t (id int, old text);\n")
    migrations.add("drop_col", "ALTER TABLE keep_t DROP COLUMN old;\n")
    _apply(database, migrations)
    window = make_window()
    # The action says why before anything is tried; the engine refuses too if it is asked anyway.
    assert not window.act_rb_last.isEnabled()
    assert "the rollback of 20260101000002_drop_col.sql is manual" in window.act_rb_last.toolTip()
    assert window.list.select_version("20260101000001")
    assert not window.act_rb_to.isEnabled() and "manual" in window.act_rb_to.toolTip()
    # Asked anyway, the engine refuses and the window offers to write the rollback SQL into the file
    # (tests/gui/test_rollback_block.py); where it cannot (the file changed since), the refusal shows.
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.plan_rollback(count=1)
    from app.gui.rollback_block_dialog import RollbackBlockDialog

    assert isinstance(asked.args[0], RollbackBlockDialog)
    asked.args[0].reject()
    f = migrations.path / "20260101000002_drop_col.sql"
    f.write_text(f.read_text() + "-- edited\n")
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("plan")) as plan:
        window.plan_rollback(count=1)
    assert plan.args[1] == "failed" and isinstance(plan.args[2], ManualRollback)
    assert window.error_panel.isVisible()
    assert window.error_panel.title.text().startswith("Rollback refused: nothing was rolled back")
    assert "-- ROLLBACK:" in window.error_panel.title.text()
    assert window.last_dialog if hasattr(window, "last_dialog") else True
    assert not hasattr(window, "last_dialog") or not isinstance(window.last_dialog, RollbackDialog)
    assert _applied(database)[-1].endswith("drop_col.sql")


def test_status_of_an_unreachable_server_is_shown_with_a_retry(qtbot, settings, migrations: MigrationDir) -> None:
    from app.core.connect import Target
    from app.gui.sources import target_source

    source = target_source(Target("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", "test",
                                  environment="gone"), migrations.path, "gone")
    window = open_window(qtbot, settings, [], initial=source, show=False)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS) as done:
        window.refresh()
    assert done.args[:2] == ["status", "failed"]
    assert window.cards.cards["health"].value.text() == "unreachable"
    assert "Refresh" in window.cards.cards["health"].sub.full
    assert "cannot connect" in window.error_panel.title.text()
    assert window.act_refresh.isEnabled() and not window.act_run.isEnabled()


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_export_writes_a_report_file(qtbot, make_window: WindowFactory, database: Database,
                                     migrations: MigrationDir, tmp_path, fmt: str) -> None:
    pytest.importorskip("app.report.reporter")
    migrations.add("one", "CREATE TABLE one_t (id int);\n")
    _apply(database, migrations)
    window = make_window(name="staging")
    assert window.export_button.isEnabled()
    out = tmp_path / f"report.{fmt}"
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("export")) as done:
        window.export_report(out, fmt)
    assert done.args[1] == "ok", window.last_error
    text = out.read_text(encoding="utf-8")
    assert "20260101000001_one.sql" in text
    assert str(out) in window.log.text()


def test_closing_during_a_run_cancels_it_and_quits(qtbot, make_window: WindowFactory, database: Database,
                                                   migrations: MigrationDir) -> None:
    migrations.add("slow", "SELECT pg_sleep(30);\n")
    window = make_window()
    asked = []
    window.confirm_quit_during_run = lambda: asked.append(1) or True
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
    confirm_run(qtbot, window, window.run_pending)
    qtbot.waitUntil(lambda: database.scalar(sleeping) == 1, timeout=DEADLINE_MS)
    assert window.close()
    assert asked == [1]
    assert not window.controller._alive or all(r.thread.isFinished() for r in window.controller._alive.values())
    qtbot.waitUntil(lambda: database.scalar(sleeping) == 0, timeout=DEADLINE_MS)
    assert _applied(database) == []


def test_rehearse_action_reports_each_rollback_and_leaves_the_database_alone(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE users (id int PRIMARY KEY, email text)")
    migrations.add("index", "CREATE INDEX users_email_idx ON users (email);\n")
    migrations.add("forgets", "CREATE INDEX users_lower_idx ON users (lower(email));\n"
                   "-- ROLLBACK: SELECT 1;\n")  # a custom rollback that forgets the index
    window = make_window()
    assert window.act_rehearse.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=120_000, check_params_cb=is_kind("rehearse")) as done:
        window.act_rehearse.trigger()
    assert done.args[1] == "ok", window.last_error
    result = done.args[2]
    assert not result.ok
    assert [m.rollback for m in result.migrations] == ["verified", "differs"]
    text = window.last_dialog.view.toPlainText()
    assert "ROLLBACK DOES NOT RESTORE THE SCHEMA" in text and "users_lower_idx" in text
    assert not database.exists("public._migrations") and not database.exists("public.users_email_idx")


def test_each_row_says_applied_as_its_migration_commits_before_any_refresh(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    first = migrations.add("first", "CREATE TABLE first_t (id int);\n")
    slow = migrations.add("slow", "CREATE TABLE slow_t (id int);\nSELECT pg_sleep(30);\n")
    window = make_window()
    model = window.list.model
    state = lambda name: model.data(model.index(next(i for i, m in enumerate(model.rows()) if m.name == name), 0))  # noqa: E731
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
    refreshed: list[object] = []
    window.snapshot_shown.connect(refreshed.append)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")):
        confirm_run(qtbot, window, window.run_pending)
        qtbot.waitUntil(lambda: database.scalar(sleeping) == 1, timeout=DEADLINE_MS)
        qtbot.waitUntil(lambda: state(slow.name) == "running", timeout=DEADLINE_MS)
        assert state(first.name) == "applied", "committed: the row says so during the run"
        assert refreshed == [], "no refresh has run yet"
        window.progress.cancel_button.click()
    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    assert (state(first.name), state(slow.name)) == ("applied", "pending")


def test_a_rolled_back_row_says_pending_as_its_rollback_commits(qtbot, make_window: WindowFactory,
                                                                database: Database, migrations: MigrationDir) -> None:
    from app.core.progress import ProgressEvent

    done = migrations.add("made", "CREATE TABLE made_t (id int);\n")
    _apply(database, migrations)
    window = make_window()
    model = window.list.model
    state = lambda: model.data(model.index(0, 0))  # noqa: E731
    assert state() == "applied"
    window._on_progress(ProgressEvent(Phase.MIGRATION_START, 1, 1, done.name, message="rollback"))
    assert state() == "rolling back"
    window._on_progress(ProgressEvent(Phase.MIGRATION_DONE, 1, 1, done.name, message="rolled back"))
    assert state() == "pending"
