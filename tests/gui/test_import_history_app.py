"""Migrations ▸ Import history… in the app: what another tool applied is found, shown and recorded
as applied (running nothing), with the typed name on a protected environment."""

from __future__ import annotations

from app.core import layouts
from app.gui.import_history import ImportDialog
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, is_kind
from tests.test_import_history import _applied_by_the_tool, _flyway
from tests.test_layouts import PROJECTS, _write


def test_import_flyway_history_from_the_app(qtbot, make_window: WindowFactory, database: Database,
                                            migrations: MigrationDir) -> None:
    files, _, names = PROJECTS["flyway"]
    folder = _write(migrations.path, files)
    _applied_by_the_tool(database, folder, names[-2])
    _flyway(database, layouts.read(folder).files[:-1])
    before = database.query("SELECT * FROM flyway_schema_history ORDER BY 1")

    window = make_window(name="prod-db", protected=True)
    reasons = [r for r in window.snapshot.status.reasons if r.code == "other_history"]
    assert reasons and "Import history" in reasons[0].message
    assert window.act_import.isEnabled()
    assert window.act_import in window.menuBar().actions()[2].menu().actions(), "in the Migrations menu"

    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.act_import.trigger()
    dialog = asked.args[0]
    assert isinstance(dialog, ImportDialog)
    assert dialog.item.plan.imported == names[:-1]
    assert not dialog.ok.isEnabled(), "protected: the name first"
    qtbot.keyClicks(dialog.typed.field, "prod-db")
    assert dialog.ok.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("import")) as done:
        dialog.ok.click()
    assert done.args[1] == "ok", window.last_error
    with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):
        pass  # the refresh that follows a change
    status = window.snapshot.status
    assert [m.name for m in status.pending] == [names[-1]]
    assert not [r for r in status.reasons if r.code == "other_history"]
    assert database.query("SELECT * FROM flyway_schema_history ORDER BY 1") == before, "read, never changed"
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE reason = "
                           "'imported from flyway_schema_history'") == len(names) - 1


def test_nothing_to_import_says_so(qtbot, make_window: WindowFactory, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    window = make_window()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("import-review")):
        window.act_import.trigger()
    window.log.flush()
    assert "no other tool's history table in this database" in window.log.toPlainText()


def test_advice_names_the_app_action_not_the_cli_command(qtbot, make_window: WindowFactory,
                                                          database: Database, migrations: MigrationDir) -> None:
    """The engine's messages name CLI commands; the app says its own menu actions (app.gui.words)."""
    files, _, names = PROJECTS["flyway"]
    folder = _write(migrations.path, files)
    _applied_by_the_tool(database, folder, names[-2])
    _flyway(database, layouts.read(folder).files[:-1])
    window = make_window()
    assert "Migrations ▸ Import history from another tool…" in window.cards.reasons.text()
    assert "`tidemark" not in window.cards.reasons.text()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("review")) as done:
        window.act_run.trigger()  # Run pending plans first: the plan is refused as the run would be
    assert done.args[1] == "failed"
    shown = window.error_panel.title.text()
    assert "Migrations ▸ Import history from another tool…" in shown and "`tidemark" not in shown
