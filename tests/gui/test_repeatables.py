"""The main window with a Flyway project (real PostgreSQL): repeatables are their own group below the
versioned list, and Run pending runs when only a changed repeatable is due."""

from __future__ import annotations

from app.core.connect import Target
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, confirm_run

_V1 = "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);\n"
_LABEL = "CREATE OR REPLACE FUNCTION label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT {} $$;\n"


def test_only_a_changed_repeatable_due_runs_from_run_pending(qtbot, make_window: WindowFactory, database: Database,
                                                             migrations: MigrationDir) -> None:
    (migrations.path / "V1__accounts.sql").write_text(_V1, encoding="utf-8")
    label = migrations.path / "R__label.sql"
    label.write_text(_LABEL.format("upper(t)"), encoding="utf-8")
    (migrations.path / "R__zeta_view.sql").write_text(
        "CREATE OR REPLACE VIEW zeta AS SELECT id, label(name) FROM accounts;\n", encoding="utf-8")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()

    window = make_window()
    assert window.repeatables.isVisible()
    assert [window.repeatables.state_of(n) for n in ("R__label.sql", "R__zeta_view.sql")] == ["up to date"] * 2
    assert not window.act_run.isEnabled(), "nothing is due"
    assert "up to date" in window.repeatables.heading.text()
    assert [m.name for m in window.list.model.rows()] == ["V1__accounts.sql"], "repeatables are not versioned rows"

    label.write_text(_LABEL.format("lower(t)"), encoding="utf-8")
    with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):
        window.refresh()
    assert window.repeatables.state_of("R__label.sql") == "changed"
    assert window.repeatables.state_of("R__zeta_view.sql") == "up to date"
    assert "1 due" in window.repeatables.heading.text()
    assert window.act_run.isEnabled(), "a changed repeatable alone is work for Run pending"
    assert window.act_rehearse.isEnabled()

    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS,
                          check_params_cb=lambda k, _o, _p: k == "run") as run_done:
        confirm_run(qtbot, window, window.act_run.trigger)
    assert run_done.args[1] == "ok", window.last_error
    assert "done: 1 migration applied" in window.progress.bar.format()
    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    assert window.repeatables.state_of("R__label.sql") == "up to date"
    row = window.repeatables.rows.index(next(r for r in window.repeatables.rows if r.name == "R__label.sql"))
    assert window.repeatables.table.item(row, 2).text() == "2", "its second run"
    assert not window.act_run.isEnabled()
    assert database.scalar("SELECT label('ABC')") == "abc"


def test_a_project_without_repeatables_shows_no_group(qtbot, make_window: WindowFactory,
                                                      migrations: MigrationDir) -> None:
    migrations.add("create_users", "CREATE TABLE users (id int);\n")
    window = make_window()
    assert not window.repeatables.isVisible()
    assert window.act_run.isEnabled()
