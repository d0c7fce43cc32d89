"""Messages in the app name the app's action (its menu path), not a CLI command (app/gui/words.py):
every `tidemark …` the engine writes that has an action here, and every place the app shows them."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.core import lint_rules
from app.core.errors import UsageError
from app.core.fleet import Outcome
from app.gui import words
from app.gui.words import in_app
from tests.conftest import Database, MigrationDir, run_cli
from tests.gui.conftest import DEADLINE_MS, is_kind

ROOT = Path(__file__).resolve().parents[2]
# CLI commands with no action in the app: said as they are (the command line is there too).
NO_ACTION = ("--help", "notify", "report", "sandbox")
COMMAND = re.compile(r"`tidemark [^`]*`")
CLI_WORDS = re.compile(r"\btidemark (?!" + "|".join(re.escape(c) for c in NO_ACTION) + r")[a-z-]+")


def _engine_commands() -> list[str]:
    """Every backquoted `tidemark …` in the engine's and the reports' sources."""
    found = set()
    for folder in ("app/core", "app/report"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(COMMAND.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def test_every_engine_command_with_an_app_action_is_said_as_its_menu_path() -> None:
    commands = _engine_commands()
    assert len(commands) > 20 and "`tidemark drift`" in commands
    unmapped = [c for c in commands if CLI_WORDS.search(in_app(f"see {c} first"))]
    assert unmapped == []


@pytest.mark.parametrize(("cli", "menu"), [
    ("`tidemark drift --env eu`", "Environment ▸ Compare… ▸ Schema ▸ Check drift against files"),
    ("`tidemark compare --envs a b`", "Environment ▸ Compare…"),
    ("`tidemark promote --from eu --to us`", "Environment ▸ Promote to…"),
    ("`tidemark history --env eu`", "Migrations ▸ History"),
    ("`tidemark status --env eu`", "Environment ▸ Refresh (F5)"),
])
def test_the_fleet_and_drift_commands_have_their_menu_paths(cli: str, menu: str) -> None:
    assert in_app(f"({cli} lists them)") == f"({menu} lists them)"


def test_the_lint_fix_names_no_cli_option() -> None:
    fix = lint_rules.RULES["missing-lock-timeout"].fix
    assert "migrate --lock-timeout" in fix  # the CLI's words (the engine is written once)
    assert in_app(fix) == "SET lock_timeout = '5s' at the top of the file"


def test_rendered_messages_say_the_apps_actions(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each place that shows an engine message: the lint table, Open DSN's problem, the environment
    dialog's result, the overview's fleet cells, the drift tooltip."""
    from app.gui import dialogs, environment_dialog, fleet_actions
    from app.gui.lint_view import LintDialog

    shown: list[str] = []
    finding = SimpleNamespace(path=Path("/m/1_a.sql"), line=3, rule="missing-lock-timeout", severity="warning",
                              message="takes ACCESS EXCLUSIVE", fix=lint_rules.RULES["missing-lock-timeout"].fix,
                              location="/m/1_a.sql:3", statement="ALTER TABLE t ADD c int")
    result = SimpleNamespace(files=[finding.path], errors=[], warnings=[finding], findings=[finding],
                             squawk_version=None, notes=["run `tidemark lint` again after a change"])
    lint = LintDialog(result, "eu", lambda *_: None)
    qtbot.addWidget(lint)
    shown += [lint.table.item(0, c).text() for c in range(lint.table.columnCount())]

    opened = dialogs.OpenDsnDialog(dsn="postgresql://x@h/db", folder=str(ROOT))
    qtbot.addWidget(opened)

    def refuse(*_a: object, **_k: object) -> None:
        raise UsageError("no password (store it with `tidemark env add`, or set PGPASSWORD)")

    monkeypatch.setattr("app.core.connect.resolve_target", refuse)
    opened.accept()
    shown.append(opened.problem.text())
    assert "File ▸ Environments…" in shown[-1]

    envs = environment_dialog.EnvironmentDialog()
    qtbot.addWidget(envs)
    envs._say("no password stored: `tidemark env edit eu --password-stdin`", error=True)
    shown.append(envs.result.text())
    assert "File ▸ Environments… (Edit)" in shown[-1]

    differences = [SimpleNamespace(key=f"table public.t{i}", what="only in the database") for i in range(14)]
    drift = SimpleNamespace(differences=differences, notes=[], replay_error=None)
    monkeypatch.setattr("app.report.drift.drift_headline", lambda res: "differs")
    tip = fleet_actions._drift_tip(drift)
    assert "`tidemark drift" in tip  # said once, in the CLI's words: the overview's cells translate
    shown.append(in_app(tip))
    member = SimpleNamespace(name="eu", outcome=Outcome.FAILED, result=None,
                             error="it failed: `tidemark status` shows the history")
    shown.append(in_app(fleet_actions.rehearsal_cell(member)[2]))
    assert [s for s in shown if CLI_WORDS.search(s)] == []


CHECK_MS = 4 * DEADLINE_MS  # a throwaway server for the check


def test_a_drift_tooltip_in_the_overview_names_no_cli_command(qtbot, saved: dict[str, Database],
                                                              migrations: MigrationDir) -> None:
    from app.core import environments as envs
    from app.gui.overview import DRIFT, OverviewWindow
    from app.gui.sources import environment_source

    migrations.add("a", "CREATE TABLE a (id int);\n")
    assert run_cli("migrate", "--env", "us").code == 0
    for i in range(8):  # 16 differences (a table and its column each): more than the tooltip lists
        saved["us"].execute(f"CREATE TABLE by_hand_{i} (id int)")
    window = OverviewWindow([environment_source(p) for p in envs.list_environments()])
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        window.refresh()
    window.tree.clearSelection()
    window.rows["us"].setSelected(True)
    with qtbot.waitSignal(window.job_done, timeout=CHECK_MS, check_params_cb=is_kind("drift")) as done:
        window.act_drift.trigger()
    assert done.args[1] == "ok"
    assert window.rows["us"].text(DRIFT) == "differs (16)"
    tip = window.rows["us"].toolTip(DRIFT)
    assert "… and 4 more (Environment ▸ Compare… ▸ Schema ▸ Check drift against files lists them all)" in tip
    texts = [tip, window.headline.text()] + [window.rows["us"].text(c) for c in range(window.tree.columnCount())]
    assert [t for t in texts if "tidemark " in t] == []
    window.close()


def test_the_fleet_run_dialog_says_why_a_target_cannot_be_planned_in_the_apps_words(
        qtbot, saved: dict[str, Database], migrations: MigrationDir) -> None:
    """Seen in the screenshots: Run pending on selected, with an applied file changed, listed each
    target's `tidemark repair NAME --reason …` (the plan's problems came through unchanged)."""
    from PySide6.QtWidgets import QTextBrowser

    from app.core import environments as envs
    from app.core.protection import Action, requirement
    from app.gui import fleet_tasks
    from app.gui.fleet_run_dialog import FleetRunDialog
    from app.gui.sources import environment_source

    changed = migrations.add("a", "CREATE TABLE a (id int);\n")
    assert run_cli("migrate", "--env", "us").code == 0
    changed.write_text("CREATE TABLE a (id int);\n-- reviewed\n", encoding="utf-8")
    expanded = fleet_tasks.expand([environment_source(p) for p in envs.list_environments()], None)
    plan = fleet_tasks.plan_run(expanded.members["us"])
    assert "us" in plan.problems
    assert "Migrations ▸ Repair changed…" in plan.problems["us"]
    assert "tidemark " not in plan.problems["us"]
    needs = {m.name: requirement(m.runner.target, Action.MIGRATE) for m in plan.members}
    dialog = FleetRunDialog(plan, needs, "us", None)
    qtbot.addWidget(dialog)
    shown = dialog.findChild(QTextBrowser).toPlainText()
    assert "cannot plan:" in shown and "Migrations ▸ Repair changed…" in shown
    assert "tidemark " not in shown


def test_words_keeps_one_table() -> None:
    """The menu paths are written in words.py only: the modules that show messages call in_app."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "app" / "gui").glob("*.py")}
    for name in ("overview.py", "dialogs.py", "environment_dialog.py", "lint_view.py",
                 "compare_view.py", "promote_dialog.py"):
        assert "in_app" in sources[name], name
    assert [n for n, s in sources.items() if n != "words.py" and "Check drift against files lists" in s] == []
    assert words.in_app("no command here") == "no command here"
