"""The Compare window on real servers: schema differences side by side (Up/Down follows), the export
(HTML and JSON, written on the worker, "could not open" told), and the drift check against the files
(worker thread, progress, Cancel, "agrees with its files" only when checked and agreeing)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMenuBar

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.gui.compare_view import CompareDialog
from app.gui.menus import keyed_actions
from app.gui.sources import target_source
from app.paths import resources_dir
from tests.conftest import Database, MigrationDir, fresh_database
from tests.gui.conftest import DEADLINE_MS, mnemonic_clashes

HAND_CHANGES = ("DROP INDEX users_email_idx;"
                "ALTER TABLE users ADD COLUMN nickname text;"
                "CREATE OR REPLACE FUNCTION greet(who text) RETURNS text LANGUAGE sql\n"
                "AS $$ SELECT 'hello ' || who $$;")


@pytest.fixture
def other(database: Database) -> Iterator[Database]:
    """A second database on the same server: the "staging" of the comparison."""
    with fresh_database(database.server) as db:
        yield db


def _migrate_both(database: Database, other: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n")
    migrations.add("email_index", "CREATE INDEX users_email_idx ON users (email);\n")
    migrations.add("greet", "CREATE FUNCTION greet(who text) RETURNS text LANGUAGE sql\n"
                   "AS $$ SELECT 'hi ' || who $$;\n")
    for db in (database, other):
        MigrationRunner(Target(db.dsn, "test"), migrations.path).run_migrations()


def _open_compare(qtbot, make_window, other: Database, migrations: MigrationDir) -> CompareDialog:
    window = make_window(name="production")
    staging = target_source(Target(other.dsn, "test", environment="staging"), migrations.path, "staging")
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS) as done:
        window.compare([staging, window.source])
    assert done.args[:2] == ["compare", "ok"], done.args[2]
    dialog = window.last_dialog
    assert isinstance(dialog, CompareDialog)
    return dialog


def window_drift_keys(dialog: CompareDialog) -> str:
    """The main window's Check drift keys (the Compare window's parent)."""
    return dialog.parent().act_drift.shortcut().toString()


def _wait_job(qtbot, dialog: CompareDialog, start, kind: str) -> tuple[str, object]:
    with qtbot.waitSignal(dialog.controller.finished, timeout=DEADLINE_MS * 4,
                          check_params_cb=lambda k, o, p: k == kind) as finished:
        start()
    return finished.args[1], finished.args[2]


def test_drift_between_environments_side_by_side_and_up_down_follows(
        qtbot, make_window, database: Database, other: Database, migrations: MigrationDir) -> None:
    _migrate_both(database, other, migrations)
    database.execute(HAND_CHANGES)
    dialog = _open_compare(qtbot, make_window, other, migrations)
    panel = dialog.differences
    keys = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert keys == ["column public.users.nickname", "function public.greet(text)", "index public.users_email_idx"]
    # the first is shown; the wording is the CLI's (app/schema_words.py)
    assert panel.words.text() == "production has column public.users.nickname; staging lacks it"
    assert panel.diff.left.title.text() == "<b>staging</b>" and panel.diff.right.title.text() == "<b>production</b>"
    assert not panel.pair.isVisibleTo(dialog)  # one comparison per object: nothing to choose
    # the columns say each environment's health beside its name, on one line
    headers = [dialog.model.headerData(c, Qt.Orientation.Horizontal) for c in range(dialog.model.columnCount())]
    assert headers == ["Migration", "staging (healthy)", "production (healthy)"]
    assert dialog.model.headerData(2, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole).startswith(
        "production: health healthy\n")
    assert panel.diff.left.text.toPlainText() == "" and "text" in panel.diff.right.text.toPlainText()
    assert panel.diff.right.marked_lines() == [0]
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_Down)
    assert panel.current().key == "function public.greet(text)"
    assert panel.words.text() == "production and staging define function public.greet(text) differently"
    left, right = panel.diff.left.text.toPlainText(), panel.diff.right.text.toPlainText()
    assert "'hi '" in left and "'hello '" in right
    changed = [n for n, (a, b) in enumerate(zip(left.splitlines(), right.splitlines(), strict=True)) if a != b]
    assert changed and panel.diff.left.marked_lines() == changed == panel.diff.right.marked_lines()
    assert len(left.splitlines()) > len(changed), "only the changed lines are highlighted"
    qtbot.keyClick(panel.list, Qt.Key.Key_Down)
    assert panel.words.text() == "production lacks index public.users_email_idx; staging has it"
    assert panel.diff.right.text.toPlainText() == "" and panel.diff.right.text.placeholderText() == "(lacks it)"
    qtbot.keyClick(panel.list, Qt.Key.Key_Up)
    assert panel.current().key == "function public.greet(text)"
    # the headline never says "all agree" while drift is listed
    assert "all agree" not in dialog.summary.text() and "3 catalog objects" in dialog.summary.text()


def test_export_html_and_json_on_the_worker_with_the_default_name(
        qtbot, make_window, database: Database, other: Database, migrations: MigrationDir,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    _migrate_both(database, other, migrations)
    database.execute("ALTER TABLE users ADD COLUMN nickname text;")
    dialog = _open_compare(qtbot, make_window, other, migrations)
    dialog.settings.setValue("export/folder", str(tmp_path))
    dialog.act_open_after.setChecked(False)
    offered: list[str] = []

    def save_as(_parent, _title, default, _filter):  # the OS file dialog, answered as a user who accepts the name
        offered.append(default)
        return default, ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    outcome, payload = _wait_job(qtbot, dialog, lambda: qtbot.keyClick(dialog, Qt.Key.Key_E,
                                                                        Qt.KeyboardModifier.ControlModifier), "export")
    assert outcome == "ok", payload
    assert re.fullmatch(re.escape(str(tmp_path)) + r"/tidemark-compare-\d{8}-\d{4}\.html", offered[0])
    page = Path(offered[0]).read_text(encoding="utf-8")
    assert "production has column public.users.nickname; staging lacks it" in page
    assert "HTML comparison written to" in dialog.status.text()

    dialog.act_open_after.setChecked(True)
    dialog.open_file = lambda _path: False  # the desktop has no application for the file
    outcome, payload = _wait_job(qtbot, dialog, dialog.act_export_json.trigger, "export")
    assert outcome == "ok", payload
    assert offered[1].endswith(".json")
    doc = json.loads(Path(offered[1]).read_text(encoding="utf-8"))
    schema = json.loads((resources_dir() / "compare.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert [d["key"] for d in doc["drift"]] == ["column public.users.nickname"]
    assert "could not open" in dialog.status.text() and "the comparison is written" in dialog.status.text()
    # a folder that cannot be written: told in the window, nothing written
    outcome, _ = _wait_job(qtbot, dialog, lambda: dialog.export_to(tmp_path / "none" / "x.json", "json"), "export")
    assert outcome == "failed" and "none" in dialog.status.text()


def test_drift_check_against_the_files_on_the_worker(
        qtbot, make_window, database: Database, other: Database, migrations: MigrationDir) -> None:
    _migrate_both(database, other, migrations)
    database.execute(HAND_CHANGES)
    dialog = _open_compare(qtbot, make_window, other, migrations)
    assert dialog.which.itemText(0) == "every environment"
    assert dialog.act_check_drift.shortcut().toString() == "Ctrl+Shift+F" == window_drift_keys(dialog)
    keys = [a.shortcut().toString() for a in keyed_actions(dialog)]
    assert len(keys) >= 6 and len(keys) == len(set(keys)), "no two actions of the Compare window share a key"
    assert mnemonic_clashes(dialog.findChild(QMenuBar)) == []

    def start() -> None:
        qtbot.keyClick(dialog, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        assert dialog.controller.busy and dialog.cancel_button.isVisibleTo(dialog)  # the UI thread is free
        assert not dialog.check_button.isEnabled()

    outcome, payload = _wait_job(qtbot, dialog, start, "drift")
    assert outcome == "ok", payload
    headline = dialog.drift_headline.text()
    assert "staging agrees with its files (3 applied migrations replayed" in headline
    assert "production: 3 objects differ from what its files produce" in headline
    assert "production agrees" not in headline
    assert not dialog.cancel_button.isVisibleTo(dialog)
    from_files = [d for d in dialog.differences.items if d.origin == "files"]
    assert {d.key for d in from_files} == {"index public.users_email_idx", "column public.users.nickname",
                                           "function public.greet(text)"}
    index = next(d for d in from_files if d.key.startswith("index"))
    assert index.words == "production lacks index public.users_email_idx; the files create it"
    assert index.left_title == "what production's files produce" and index.right is None
    # the same side-by-side view shows it
    panel = dialog.differences
    panel.select(index)
    assert panel.current() == index
    assert "users_email_idx" in panel.diff.left.text.toPlainText()
    # the environment compare's drift is kept beside the file drift, but each object is listed once
    # (it was listed twice: once for staging against production, once for production against its files)
    listed = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert listed == ["column public.users.nickname", "function public.greet(text)", "index public.users_email_idx"]
    assert any(d.origin == "environments" for d in panel.items)
    # the row says both findings and the chooser picks the pair of definitions side by side
    assert panel.words.text() == ("production lacks index public.users_email_idx; staging has it<br>"
                                  "production lacks index public.users_email_idx; the files create it")
    assert panel.pair.isVisibleTo(dialog)
    assert [panel.pair.itemText(i) for i in range(panel.pair.count())] == [
        "staging and production", "production and its files"]
    panel.pair.setCurrentIndex(0)
    assert panel.diff.left.title.text() == "<b>staging</b>" and panel.current().origin == "environments"
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_Up)
    assert panel.current().key == "function public.greet(text)" and panel.pair.count() == 2
    # a second check replaces the files' differences, not adds to them
    dialog.which.setCurrentIndex(dialog.which.findText("staging"))
    outcome, _ = _wait_job(qtbot, dialog, dialog.check_button.click, "drift")
    assert outcome == "ok"
    assert [d for d in dialog.differences.items if d.origin == "files"] == []
    assert panel.list.count() == 3 and not panel.pair.isVisibleTo(dialog)  # one comparison each: no chooser
    assert dialog.drift_headline.text().startswith("<span") and "staging agrees" in dialog.drift_headline.text()


def test_cancelled_drift_check_says_so_and_never_agrees(
        qtbot, make_window, database: Database, other: Database, migrations: MigrationDir) -> None:
    _migrate_both(database, other, migrations)
    dialog = _open_compare(qtbot, make_window, other, migrations)

    def start_and_cancel() -> None:
        dialog.act_check_drift.trigger()
        assert dialog.act_cancel.isEnabled()
        dialog.cancel_button.click()

    outcome, _ = _wait_job(qtbot, dialog, start_and_cancel, "drift")
    assert outcome == "cancelled"
    assert "cancelled" in dialog.drift_headline.text() and "agrees" not in dialog.drift_headline.text()
    assert dialog.check_button.isEnabled() and not dialog.cancel_button.isVisibleTo(dialog)


def test_the_schema_panel_says_why_it_lists_nothing(qtbot, make_window, database: Database, other: Database,
                                                    migrations: MigrationDir) -> None:
    from types import SimpleNamespace

    from app.gui.compare_view import no_drift_words

    _migrate_both(database, other, migrations)
    migrations.add("later", "CREATE TABLE later (id int);\n")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()
    dialog = _open_compare(qtbot, make_window, other, migrations)
    panel = dialog.differences
    assert panel.list.count() == 0
    # it showed three empty panes: the migrations differ, so no two schemas were compared
    assert panel.words.text().startswith("No schemas compared: schemas are compared only between environments")
    agreeing = SimpleNamespace(drift_groups=(("eu", "us", "ap"), ("dev",)))
    assert no_drift_words(agreeing) == ("No schema drift: eu, us and ap have the same migrations applied and "
                                        "the same schema.")
