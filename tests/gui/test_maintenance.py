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


def test_repair_shades_the_diffs_removed_and_added_lines_in_both_themes(qtbot) -> None:
    """Seen in the screenshots: the diff was shown as SQL alone, its + and - lines unshaded (and the
    ---/+++ file lines read as SQL comments and keywords). Changed lines are shaded as Compare's are;
    the file lines above the first @@ are not."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    from app.core.protection import Action, requirement
    from app.core.results import RepairCandidate
    from app.gui import theme
    from app.gui.marks import recolour_all

    diff = ("--- 20260101000001_t.sql (applied)\n+++ 20260101000001_t.sql (on disk)\n@@ -1,2 +1,2 @@\n"
            " CREATE TABLE t (id int);\n-ALTER TABLE t ADD COLUMN a int;\n+ALTER TABLE t ADD COLUMN b int;\n")
    c = RepairCandidate("20260101000001", "20260101000001_t.sql", diff, False, "x", "y")
    dialog = RepairDialog([c], requirement(Target("postgresql:///x", "test", environment="staging"), Action.REPAIR),
                          target="staging")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    lines = dialog.diff.toPlainText().splitlines()
    marks = {s.cursor.block().blockNumber(): s.format.background().color().name()
             for s in dialog.diff.extraSelections()}
    removed, added = lines.index("-ALTER TABLE t ADD COLUMN a int;"), lines.index("+ALTER TABLE t ADD COLUMN b int;")
    assert marks == {removed: theme.LIGHT.diff_old_bg, added: theme.LIGHT.diff_new_bg}

    def row_colour(number: int) -> str:
        view = dialog.diff
        rect = view.blockBoundingGeometry(view.document().findBlockByNumber(number)).translated(view.contentOffset())
        image = view.viewport().grab().toImage()
        return image.pixelColor(image.width() - 5, int(rect.center().y())).name()

    assert row_colour(added) == theme.LIGHT.diff_new_bg  # shaded to the right edge, as painted
    app = QApplication.instance()
    theme.apply(app, "dark")
    try:
        recolour_all()  # as View ▸ Theme does
        qtbot.waitUntil(lambda: row_colour(removed) == QColor(theme.DARK.diff_old_bg).name(), timeout=5_000)
    finally:
        theme.apply(app, "light")
