"""Environment ▸ Supabase status and Install Supabase shim… in the app, on real PostgreSQL: both
histories side by side, the shim through app.core.protection's rule (typed name on a protected
environment, no path around it), the database read on the worker while the window stays live."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from PySide6.QtCore import Qt, QTimer

from app.core.protection import Action, ProtectionRequired, confirm, requirement
from app.gui import supabase_dialog
from app.gui.supabase_dialog import ShimDialog, SupabaseStatusDialog
from tests.conftest import Database, MigrationDir, run_cli
from tests.gui.a11y import assert_named
from tests.gui.conftest import DEADLINE_MS, WindowFactory, asked, is_kind, mnemonic_clashes

EVIL = "demo\x1b[2J\u202e"
SHOWN = "demo\\x1b[2J\\u202e"


def _environment_menu(window):
    return window.menuBar().actions()[3].menu()


def _status(qtbot, window) -> SupabaseStatusDialog:
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("supabase-status")) as done:
        window.act_supabase.trigger()
    assert done.args[1] == "ok", window.last_error
    dialog = window.last_dialog
    assert isinstance(dialog, SupabaseStatusDialog)
    return dialog


def test_the_actions_are_in_the_environment_menu_with_their_words(qtbot, make_window: WindowFactory) -> None:
    window = make_window()
    menu = _environment_menu(window)
    assert menu.title() == "E&nvironment"
    entries = menu.actions()
    assert window.act_supabase in entries and window.act_shim in entries
    assert window.act_supabase.text() == "Supa&base status"  # Alt+N, B
    assert window.act_shim.text() == "&Install Supabase shim…"  # Alt+N, I
    assert mnemonic_clashes(window.menuBar()) == []
    assert "Supabase CLI" in window.act_supabase.statusTip()
    assert "auth.users" in window.act_shim.statusTip()
    assert window.act_supabase.isEnabled() and window.act_shim.isEnabled()
    dialog = _status(qtbot, window)
    assert_named(dialog)
    dialog.close()


def test_status_shows_a_version_both_histories_recorded(qtbot, make_window: WindowFactory, database: Database,
                                                          migrations: MigrationDir, tmp_path: Path) -> None:
    both = migrations.add("create_todos", "CREATE TABLE todos (id int PRIMARY KEY);\n")
    r = run_cli("migrate", "--supabase-history", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 0, r.stderr
    only_file = migrations.add("todo_title", "ALTER TABLE todos ADD COLUMN title text;\n")
    database.execute("INSERT INTO supabase_migrations.schema_migrations (version, name) "
                     "VALUES ('20250101000000', 'theirs')")
    config = tmp_path / "supabase" / "config.toml"  # beside the migrations folder's parent
    config.parent.mkdir()
    # TOML's escapes: the file holds no raw control, the value read from it does (EVIL)
    config.write_text('project_id = "demo\\u001b[2J\\u202e"\n[db]\nport = 54322\nmajor_version = 15\n',
                      encoding="utf-8")

    window = make_window()
    dialog = _status(qtbot, window)
    assert dialog.row_texts() == [
        ["20250101000000", "20250101000000_theirs", "MISSING", "applied", "-"],
        [both.name[:14], both.name, "yes", "applied", "applied"],
        [only_file.name[:14], only_file.name, "yes", "-", "-"],
    ]
    assert [dialog.table.horizontalHeaderItem(i).text() for i in range(5)] == [
        "Version", "Migration", "File", "Supabase CLI", "Tidemark"]
    shown = dialog.config.text()
    assert f"Supabase project {SHOWN}, PostgreSQL 15, local port 54322" in shown
    assert "\x1b" not in shown and "\u202e" not in shown, "the file's text is never drawn raw"
    assert dialog.database.text().startswith("database: ")
    assert dialog.auth.text() == "auth.users: none (Environment ▸ Install Supabase shim… installs the shim)"
    assert not dialog.history.isVisibleTo(dialog), "the Supabase CLI's table is there"
    assert dialog.advice.text() == ("1 applied by the Supabase CLI only: Migrations ▸ Import history from another "
                                    "tool… records them without running anything")
    assert "`tidemark" not in "".join(w.text() for w in (dialog.auth, dialog.advice))
    assert "Supabase status: 3 versions" in window.progress.bar.format()


def test_status_reads_on_the_worker_while_the_window_stays_live(qtbot, make_window: WindowFactory,
                                                                 database: Database) -> None:
    database.execute("CREATE SCHEMA supabase_migrations; "
                     "CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, name text)")
    window = make_window()
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    holder = psycopg.connect(database.dsn)  # a transaction holding the table: the worker's read waits for it
    # Were the read on the GUI thread, the trigger below would never return: this lets go at the
    # deadline, so that mistake fails the test (nothing left waiting) instead of hanging it.
    release = threading.Timer(DEADLINE_MS / 1000, holder.rollback)
    try:
        holder.execute("LOCK TABLE supabase_migrations.schema_migrations IN ACCESS EXCLUSIVE MODE")
        release.start()
        with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS,
                              check_params_cb=is_kind("supabase-status")) as done:
            window.act_supabase.trigger()
            qtbot.waitUntil(lambda: database.scalar(waiting) == 1, timeout=DEADLINE_MS)
            # The read is stuck in the server; the GUI thread still runs its timers and takes input.
            ticked: list[int] = []
            QTimer.singleShot(0, lambda: ticked.append(1))
            qtbot.waitUntil(lambda: ticked == [1], timeout=DEADLINE_MS)
            assert window.controller.busy and window.progress.cancel_button.isVisibleTo(window)
            assert not window.act_supabase.isEnabled() and not window.act_shim.isEnabled()
            release.cancel()
            holder.rollback()
    finally:
        release.cancel()
        holder.close()
    assert done.args[1] == "ok", window.last_error
    assert window.act_supabase.isEnabled()


def test_a_broken_config_is_one_line_in_the_window(qtbot, make_window: WindowFactory, tmp_path: Path) -> None:
    config = tmp_path / "supabase" / "config.toml"
    config.parent.mkdir()
    config.write_text('project_id = "x"\n[db\n', encoding="utf-8")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("supabase-status")) as done:
        window.act_supabase.trigger()
    assert done.args[1] == "failed"
    said = window.progress.bar.format()
    assert said.startswith("failed: ") and "config.toml: not valid TOML" in said and "\n" not in said
    assert window.error_panel.isVisible() and "Cannot read the Supabase status" in window.error_panel.title.text()


def test_shim_on_a_protected_environment_needs_its_name_typed(qtbot, make_window: WindowFactory,
                                                              database: Database) -> None:
    window = make_window(name="prod-db", protected=True)

    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim-review")) as review:
        dialog = asked(qtbot, window, window.act_shim.trigger, ShimDialog)
    review = review.args[2]
    said = dialog.head.text()  # what it installs, as the CLI's description says it
    assert "auth.users, auth.uid()/role()/email()/jwt()" in said and "not Supabase" in said and "prod-db" in said
    assert_named(dialog)
    assert not dialog.ok.isEnabled(), "protected: the name first"
    qtbot.keyClicks(dialog.typed.field, "prod")
    assert not dialog.ok.isEnabled()
    qtbot.keyClick(dialog.typed.field, Qt.Key.Key_Return)  # Enter presses Cancel until the name matches
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=DEADLINE_MS)
    assert dialog.result() == 0
    window.log.flush()
    assert "Supabase shim on prod-db not confirmed: nothing was installed" in window.log.text()
    assert not database.exists("auth.users")

    # No path around the rule: no confirmation, a mistyped one, or one for another action: the engine refuses.
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim")) as done:
        supabase_dialog.started(window, review, None)
    assert done.args[1] == "failed" and isinstance(done.args[2], ProtectionRequired)
    assert window.progress.bar.format().startswith("failed: prod-db is a protected environment")
    need = requirement(review.target, Action.SHIM)
    with pytest.raises(ProtectionRequired, match="did not match"):
        confirm(need, typed="prod")  # a mistyped name confirms nothing
    other = confirm(requirement(review.target, Action.MIGRATE), typed="prod-db")
    with (qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS),  # the refresh after the refusal
          qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim")) as done):
        supabase_dialog.started(window, review, other)
    assert done.args[1] == "failed" and "needs its own" in str(done.args[2])
    assert not database.exists("auth.users")

    dialog = asked(qtbot, window, window.act_shim.trigger, ShimDialog)
    qtbot.keyClicks(dialog.typed.field, "prod-db")
    assert dialog.ok.isEnabled()
    with (qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS),  # the refresh after the change
          qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim")) as done):
        qtbot.keyClick(dialog.typed.field, Qt.Key.Key_Return)  # type, Enter: the keyboard path
    assert done.args[1] == "ok", window.last_error
    assert done.args[2].installed
    assert database.exists("auth.users") and database.scalar("SELECT to_regprocedure('auth.uid()') IS NOT NULL")
    assert window.progress.bar.format().startswith("Supabase shim installed (a shim, not Supabase)")

    # Again: nothing to install, so nothing to confirm; the outcome says why.
    with (qtbot.assertNotEmitted(window.asking),  # outer: checked after the review came back
          qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim-review")) as again):
        window.act_shim.trigger()
    assert again.args[1] == "ok"
    assert window.progress.bar.format().startswith("the Supabase shim is already installed")


def test_shim_is_skipped_where_auth_users_exists(qtbot, make_window: WindowFactory, database: Database) -> None:
    database.execute("CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY)")
    window = make_window(name="prod-db", protected=True)
    with (qtbot.assertNotEmitted(window.asking),  # outer: checked after the review came back
          qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim-review")) as done):
        window.act_shim.trigger()
    assert done.args[1] == "ok"
    said = window.progress.bar.format()
    assert said.startswith("auth.users exists: this looks like a Supabase database; the shim was not installed")
    window.log.flush()
    assert "Install Supabase shim on prod-db: auth.users exists" in window.log.text()
    assert database.scalar("SELECT to_regprocedure('auth.uid()') IS NULL")
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=DEADLINE_MS)
    assert _status(qtbot, window).auth.text() == "auth.users: present (Supabase's own)"


def test_a_shim_the_server_refuses_says_why_in_the_window(qtbot, make_window: WindowFactory,
                                                          database: Database) -> None:
    database.execute("CREATE SCHEMA auth; CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql AS 'SELECT 1::text'")
    window = make_window()
    dialog = asked(qtbot, window, window.act_shim.trigger, ShimDialog)
    assert dialog.typed is None and dialog.ok.isEnabled(), "not protected: the explanation and OK/Cancel"
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("shim")) as done:
        dialog.ok.click()
    assert done.args[1] == "failed"
    said = window.progress.bar.format()
    assert said.startswith("failed: the Supabase shim was not installed") and "return type" in said
    assert window.error_panel.isVisible() and "Supabase shim not installed" in window.error_panel.title.text()
    assert not database.exists("auth.users")


def test_status_keeps_every_column_in_view_under_long_names(qtbot, make_window: WindowFactory,
                                                            migrations: MigrationDir) -> None:
    """Seen in the screenshots: long migration names pushed File, Supabase CLI and Tidemark past the
    dialog's right edge (the states the dialog is for), in rows twice a line's height."""
    for i in range(3):
        migrations.add(f"backfill_customer_invoice_totals_batch_{i:02d}_for_the_2019_accounts_migrated_from_legacy",
                       "SELECT 1;\n")
    window = make_window()
    dialog = _status(qtbot, window)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.sectionViewportPosition(4) + header.sectionSize(4) <= table.viewport().width(),
                    timeout=5_000)
    for c in (0, 2, 3, 4):  # the version and the states are whole
        assert header.sectionSize(c) >= header.sectionSizeFromContents(c).width()
    assert not table.horizontalScrollBar().isVisible()
    assert table.rowHeight(0) <= dialog.fontMetrics().height() + 8
    name = table.item(0, 1)
    assert name.toolTip() == name.text()  # cut in the middle on screen, whole on hover
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle


def test_status_without_config_says_where_it_looked(qtbot, settings, database: Database, tmp_path: Path) -> None:
    """It said "no supabase/config.toml here": the app has no "here" (no working directory of its own)."""
    from app.core.connect import Target
    from app.gui.sources import target_source
    from tests.gui.conftest import open_window

    project = tmp_path / f"billing{EVIL}"
    folder = project / "migrations"
    folder.mkdir(parents=True)
    (folder / "20260101000001_one.sql").write_text("CREATE TABLE one (id int);\n", encoding="utf-8")
    for i in range(3):  # names alike at both ends: the cut keeps what tells them apart
        (folder / f"2026010200000{i}_backfill_customer_invoice_totals_batch_{i:02d}_for_the_2019_accounts_"
                  "migrated_from_legacy.sql").write_text("SELECT 1;\n", encoding="utf-8")
    source = target_source(Target(database.dsn, "test", environment="billing"), folder, "billing")
    window = open_window(qtbot, settings, [], initial=source)
    with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):
        window.refresh()
    dialog = _status(qtbot, window)
    shown = str(tmp_path / f"billing{SHOWN}")
    assert dialog.config.text() == (f"no supabase/config.toml: looked for {shown}/config.toml and "
                                    f"{shown}/supabase/config.toml")
    assert "\x1b" not in dialog.config.text() and "\u202e" not in dialog.config.text()
    from PySide6.QtWidgets import QStyleOptionViewItem

    from app.gui.supabase_dialog import MIGRATION

    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    for row in range(1, 4):
        index = table.model().index(row, MIGRATION)
        option = QStyleOptionViewItem()
        table.initViewItemOption(option)
        option.rect = table.visualRect(index)
        table.itemDelegateForColumn(MIGRATION).initStyleOption(option, index)
        assert f"batch_{row - 1:02d}" in option.text and option.text.endswith(".sql"), option.text
    window.close()
