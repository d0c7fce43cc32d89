"""The overview's Check drift, Rehearse and Promote on real databases (throwaway servers for the checks)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QTextBrowser

from app.core import environments as envs
from app.core.fleet import Outcome
from app.gui.fleet_actions import NOT_CHECKED
from app.gui.menus import OVERVIEW_SHORTCUTS
from app.gui.overview import DRIFT, NOW, FleetRunDialog, OverviewWindow
from app.gui.promote_dialog import PromoteDialog
from app.gui.sources import environment_source
from tests.conftest import Database, MigrationDir, run_cli
from tests.gui.conftest import DEADLINE_MS, is_kind

CHECK_MS = 4 * DEADLINE_MS  # a throwaway server per target, two at a time
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier



def _open(qtbot) -> OverviewWindow:
    window = OverviewWindow([environment_source(p) for p in envs.list_environments()])
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        window.refresh()
    return window


def _select(window: OverviewWindow, *names: str) -> None:
    window.tree.clearSelection()
    for n in names:
        window.rows[n].setSelected(True)


def _applied(db: Database) -> list[str]:
    if not db.exists("public._migrations"):
        return []
    return [r[0][15:] for r in db.query("SELECT name FROM public._migrations ORDER BY version")]


def test_every_overview_action_has_a_menu_entry_and_its_own_shortcut(qtbot, saved: dict[str, Database]) -> None:
    window = _open(qtbot)
    menu = window.menu_bar.actions()[0].menu()
    entries = {a.text().replace("&", "") for a in menu.actions() if a.text()}
    assert {"Check drift on selected", "Rehearse selected", "Promote selected to…", "Cancel",
            "Run pending on selected…", "Dry run on selected", "Refresh"} <= entries
    keys = [getattr(window, n).shortcut().toString() for n in OVERVIEW_SHORTCUTS]
    assert all(keys) and len(set(keys)) == len(keys)
    assert {window.rows[n].text(DRIFT) for n in saved} == {NOT_CHECKED}, "drift is only checked on demand"
    assert not window.act_drift.isEnabled() and not window.act_promote.isEnabled(), "nothing selected"
    _select(window, "eu", "us")
    assert window.act_drift.isEnabled() and window.act_rehearse.isEnabled()
    assert not window.act_promote.isEnabled(), "promote follows one source"
    window.close()


def test_check_drift_on_a_group_fills_the_drift_column(qtbot, saved: dict[str, Database],
                                                       migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    for name in ("eu", "us"):
        assert run_cli("migrate", "--env", name).code == 0
    saved["us"].execute("CREATE TABLE made_by_hand (id int)")
    window = _open(qtbot)
    window.tree.topLevelItem(0).setSelected(True)  # the group
    with qtbot.waitSignal(window.job_done, timeout=CHECK_MS, check_params_cb=is_kind("drift")) as done:
        window.act_drift.trigger()
        assert window.rows["eu"].text(DRIFT) == "checking…" and window.act_cancel.isEnabled()
    assert done.args[1] == "ok"
    assert window.rows["eu"].text(DRIFT) == "agrees"
    assert window.rows["us"].text(DRIFT) == "differs (2)"  # the table and its column
    assert "table public.made_by_hand" in window.rows["us"].toolTip(DRIFT)
    assert window.rows["prod-ap"].text(DRIFT) == "agrees", "nothing applied, nothing else there"
    assert "2 of 3 agree" in window.headline.text()
    window.close()


def test_cancel_stops_every_check_and_leaves_them_not_checked(qtbot, saved: dict[str, Database],
                                                               migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    window = _open(qtbot)
    window.fleet_actions.parallel = 1  # one at a time: the later ones have not started when Cancel comes
    window.tree.topLevelItem(0).setSelected(True)
    with qtbot.waitSignal(window.job_done, timeout=CHECK_MS, check_params_cb=is_kind("drift")) as done:
        window.act_drift.trigger()
        qtbot.waitUntil(lambda: any(window.rows[n].text(NOW).startswith("drift: ") for n in saved),
                        timeout=DEADLINE_MS)
        qtbot.keyClick(window.tree, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)  # Cancel
    result = done.args[2]
    outcomes = [m.outcome for m in result.members]
    assert outcomes.count(Outcome.NOT_STARTED) >= 2, outcomes
    for m in result.members:
        if m.outcome is not Outcome.OK:
            assert window.rows[m.name].text(DRIFT) == NOT_CHECKED
    assert window.refresh_button.isEnabled() and not window.act_cancel.isEnabled(), "idle again"
    window.close()


def test_rehearse_selected_shows_each_verdict_and_writes_nothing(qtbot, saved: dict[str, Database],
                                                                 migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);\n")
    saved["eu"].execute("CREATE TABLE b (id int)")  # b cannot run on eu
    window = _open(qtbot)
    _select(window, "eu", "us")
    with qtbot.waitSignal(window.job_done, timeout=CHECK_MS, check_params_cb=is_kind("rehearse")) as done:
        qtbot.keyClick(window.tree, Qt.Key.Key_H, CTRL_SHIFT)  # Rehearse selected
    assert done.args[1] == "ok"
    assert {m.name: m.outcome for m in done.args[2].members} == {"eu": Outcome.FAILED, "us": Outcome.OK}
    assert window.rows["eu"].text(NOW).startswith("Rehearsal FAILED")
    assert window.rows["us"].text(NOW).startswith("Rehearsal passed")
    assert "20260101000002_b.sql" in window.rows["eu"].toolTip(NOW)
    assert window.rows["prod-ap"].text(NOW) == "", "not selected, not rehearsed"
    assert not saved["us"].exists("public.a") and _applied(saved["eu"]) == [], "nothing written to the targets"
    window.close()


def _promote(qtbot, window: OverviewWindow, source: str, destination: str):
    _select(window, source)
    assert window.act_promote.isEnabled()
    window.activateWindow()  # back from the last dialog (offscreen, no window manager does it)
    qtbot.waitUntil(window.isActiveWindow, timeout=DEADLINE_MS)
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        qtbot.keyClick(window.tree, Qt.Key.Key_P, CTRL_SHIFT)  # Promote selected to…
    chooser = asked.args[0]
    assert isinstance(chooser, PromoteDialog)
    chooser.combo.setCurrentIndex(chooser.combo.findText(destination))
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        chooser.ok.click()
    return asked.args[0]


def test_promote_shows_what_would_run_confirms_and_runs(qtbot, saved: dict[str, Database],
                                                        migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);\n")
    assert run_cli("migrate", "--env", "eu").code == 0
    c = migrations.add("c", "CREATE TABLE c (id int);\n")  # pending on eu: not promoted
    window = _open(qtbot)
    dialog = _promote(qtbot, window, "eu", "us")
    assert isinstance(dialog, FleetRunDialog) and "Promote from eu to us" in dialog.windowTitle()
    shown = dialog.findChild(QTextBrowser).toPlainText()
    assert "20260101000001_a.sql, 20260101000002_b.sql" in shown and "_c.sql" not in shown
    assert dialog.typed is None and dialog.ok.isEnabled(), "us is not protected"
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("promote")) as ran:
        dialog.ok.click()
    assert ran.args[1] == "ok" and [m.outcome for m in ran.args[2].members] == [Outcome.OK]
    assert _applied(saved["us"]) == ["a.sql", "b.sql"]
    assert window.rows["us"].text(NOW) == "done: 2 applied"
    assert "Promote from eu to us (up to 20260101000002_b.sql)" in window.headline.text()

    qtbot.waitUntil(lambda: not window.controller.busy, timeout=DEADLINE_MS)  # the refresh after a run
    dialog = _promote(qtbot, window, "eu", "prod-ap")  # protected: its name typed, as the CLI asks
    assert dialog.typed is not None and not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.typed.field, "prod-ap")
    assert dialog.ok.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("promote")):
        dialog.ok.click()
    assert _applied(saved["prod-ap"]) == ["a.sql", "b.sql"]

    qtbot.waitUntil(lambda: not window.controller.busy, timeout=DEADLINE_MS)
    c.write_text("CREATE TABLE c (id bigint);\n")
    assert run_cli("migrate", "--env", "us").code == 0
    c.write_text("CREATE TABLE c (id text);\n")  # changed after it was applied on us
    refused = _promote(qtbot, window, "us", "group tenants")
    assert isinstance(refused, QDialog) and not isinstance(refused, FleetRunDialog)
    assert "us has 1 modified (20260101000003_c.sql)" in refused.reasons.toPlainText()
    assert _applied(saved["eu"]) == ["a.sql", "b.sql"], "nothing ran"
    window.close()


def test_the_fleet_confirmation_is_the_typed_name_widget_with_the_fleets_text(qtbot) -> None:
    from types import SimpleNamespace

    from app.core.protection import Action, Requirement
    from app.gui.confirm_widgets import TypedName
    from app.gui.fleet_tasks import FleetPlan

    members = [SimpleNamespace(name=n) for n in ("eu", "prod-ap")]
    needs = {m.name: Requirement(Action.MIGRATE, f"key-{m.name}", m.name, m.name == "prod-ap", None, False)
             for m in members}
    plan = FleetPlan(members, {"eu": ["1_a.sql"], "prod-ap": ["1_a.sql"]}, {})  # type: ignore[arg-type]
    dialog = FleetRunDialog(plan, needs, "tenants")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    typed = dialog.typed
    assert isinstance(typed, TypedName), "the same widget as every other typed confirmation"
    assert typed.field.accessibleName() == "Type tenants to confirm" and typed.field.placeholderText() == "tenants"
    assert "1 protected:" in typed.findChild(QLabel).text() and "prod-ap" in typed.findChild(QLabel).text()
    qtbot.waitUntil(typed.field.hasFocus)
    qtbot.keyClicks(typed.field, "prod-ap")
    assert not dialog.ok.isEnabled(), "a member's name is not the fleet's"
    typed.field.clear()
    qtbot.keyClicks(typed.field, "tenants")
    assert dialog.ok.isEnabled() and dialog.ok.isDefault()
    confs = dialog.confirmations()  # what protection.confirm_all demands: the fleet's name typed
    assert confs["key-prod-ap"].by == "typed 'tenants'"
    with qtbot.waitSignal(dialog.accepted, timeout=DEADLINE_MS):
        qtbot.keyClick(typed.field, Qt.Key.Key_Return)  # type, Enter: the keyboard path


def test_run_with_nothing_to_run_is_disabled_and_says_why(qtbot, saved: dict[str, Database],
                                                          migrations: MigrationDir) -> None:
    """Seen in the screenshots: the button read "Run on 0" when every selected target was up to date."""
    changed = migrations.add("a", "CREATE TABLE a (id int);\n")
    for name in saved:
        assert run_cli("migrate", "--env", name, "--yes").code == 0  # prod-ap is protected
    window = _open(qtbot)
    _select(window, "eu", "prod-ap")
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_button.click()
    dialog = asked.args[0]
    assert isinstance(dialog, FleetRunDialog)
    assert not dialog.ok.isEnabled() and dialog.ok.text() == "&Run" and dialog.typed is None
    reason = "Nothing to run: all 2 targets are up to date (no pending migrations)."
    assert dialog.reason.isVisibleTo(dialog) and dialog.reason.text() == reason == dialog.ok.toolTip()
    assert dialog.cancel_button.isDefault()
    dialog.reject()
    # one target cannot be planned (an applied file changed): said in the app's words, with its name
    changed.write_text("CREATE TABLE a (id int);\n-- reviewed\n", encoding="utf-8")  # no refresh: the plan reads
    _select(window, "eu")
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_button.click()
    dialog = asked.args[0]
    assert not dialog.ok.isEnabled()
    assert dialog.reason.text() == "Nothing to run: the target could not be planned (the reason is beside it above)."
    shown = dialog.findChild(QTextBrowser).toPlainText()
    assert "Migrations ▸ Repair changed…" in shown and "tidemark " not in shown
    dialog.reject()
    _select(window, "eu", "us")
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_button.click()
    assert asked.args[0].reason.text() == ("Nothing to run: none of the 2 targets could be planned "
                                           "(the reasons are beside them above).")
    asked.args[0].reject()
    window.close()


def test_a_file_added_after_the_refresh_is_planned_and_run_as_it_is_now(qtbot, saved: dict[str, Database],
                                                                        migrations: MigrationDir) -> None:
    """The overview's members kept the folder as read at the last refresh: a plan must read it again."""
    migrations.add("a", "CREATE TABLE a (id int);\n")
    window = _open(qtbot)
    late = migrations.add("b", "CREATE TABLE b_old (id int);\n")
    late.write_text("CREATE TABLE b_new (id int);\n", encoding="utf-8")
    _select(window, "eu")
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_button.click()
    dialog = asked.args[0]
    assert "20260101000002_b.sql" in dialog.findChild(QTextBrowser).toPlainText()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")):
        dialog.ok.click()
    assert _applied(saved["eu"]) == ["a.sql", "b.sql"]
    assert saved["eu"].exists("b_new") and not saved["eu"].exists("b_old")
    window.close()


def test_the_run_button_counts_its_targets_in_words(qtbot, saved: dict[str, Database],
                                                     migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    assert run_cli("migrate", "--env", "us").code == 0
    window = _open(qtbot)
    _select(window, "eu", "us")
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_button.click()
    dialog = asked.args[0]
    assert dialog.ok.isEnabled() and dialog.ok.text() == "&Run on 1 target"
    assert not dialog.reason.isVisibleTo(dialog)
    assert "eu: 1 migration: " in dialog.findChild(QTextBrowser).toPlainText()
    dialog.reject()
    window.close()
