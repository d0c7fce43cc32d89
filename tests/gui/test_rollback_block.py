"""A manual rollback in the app: write its rollback SQL into the file and record it, in one step."""

from __future__ import annotations

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.gui.rollback_block_dialog import RollbackBlockDialog
from app.gui.rollback_dialog import RollbackDialog
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, asked, is_kind


def _manual(database: Database, migrations: MigrationDir):
    database.execute("CREATE TABLE settings (key text, value text); CREATE FUNCTION audit() RETURNS trigger "
                     "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER audit BEFORE INSERT ON settings "
                     "FOR EACH ROW EXECUTE FUNCTION audit()")  # a trigger fires on the insert: its rollback is manual
    migrations.add("t", "CREATE TABLE t (id int);\n")
    f = migrations.add("theme", "INSERT INTO settings VALUES ('theme', 'dark');\n")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()
    return f


def test_write_the_rollback_then_roll_back(qtbot, make_window: WindowFactory, database: Database,
                                          migrations: MigrationDir) -> None:
    f = _manual(database, migrations)
    before = f.read_text()
    window = make_window(name="prod-db", protected=True)
    assert not window.act_rb_last.isEnabled() and "Write rollback SQL" in window.act_rb_last.toolTip()
    assert window.act_rb_sql.isEnabled() and window.act_rb_sql.shortcut().toString() == "Ctrl+Shift+K"
    dialog = asked(qtbot, window, window.act_rb_sql.trigger)
    assert isinstance(dialog, RollbackBlockDialog) and dialog.plan.name == f.name
    assert not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.sql, "DELETE FROM settings WHERE key = 'theme';")
    diff = dialog.diff.toPlainText()
    assert "+-- ROLLBACK BEGIN" in diff and "+-- DELETE FROM settings WHERE key = 'theme';" in diff
    qtbot.keyClicks(dialog.reason, "the demo row, by its key")
    assert not dialog.ok.isEnabled(), "a protected environment: its name typed first"
    qtbot.keyClicks(dialog.typed.field, "prod-db")
    assert dialog.ok.isEnabled()
    assert f.read_text() == before, "nothing is written before the button"
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("rollback-block")) as done:
        dialog.ok.click()
    assert done.args[1] == "ok", window.last_error
    assert f.read_text().endswith("-- ROLLBACK BEGIN\n-- DELETE FROM settings WHERE key = 'theme';\n-- ROLLBACK END\n")
    assert database.query("SELECT rollback_kind, rollback_sql FROM public._migrations WHERE name = %s", (f.name,)) \
        == [("custom", "DELETE FROM settings WHERE key = 'theme';")]
    assert database.scalar("SELECT reason FROM public._migration_audit WHERE event = 'repaired'") == \
        "the demo row, by its key"

    qtbot.waitUntil(lambda: window.act_rb_last.isEnabled(), timeout=DEADLINE_MS)  # the refresh after it
    rollback = asked(qtbot, window, lambda: window.plan_rollback(count=1))
    assert isinstance(rollback, RollbackDialog)
    assert "DELETE FROM settings WHERE key = 'theme';" in rollback.sql.toPlainText()


def test_a_rollback_planned_past_a_manual_one_offers_the_block(qtbot, make_window: WindowFactory, database: Database,
                                                               migrations: MigrationDir) -> None:
    f = _manual(database, migrations)
    window = make_window()
    dialog = asked(qtbot, window, lambda: window.plan_rollback(count=2))
    assert isinstance(dialog, RollbackBlockDialog) and dialog.plan.name == f.name
    assert "line 1" in dialog.plan.why_manual
    dialog.reject()
    assert database.scalar("SELECT count(*) FROM public._migrations") == 2, "nothing was rolled back"
    assert "ROLLBACK" not in f.read_text()


def test_the_block_dialog_shades_the_lines_it_adds_and_keeps_its_markers_whole(
        qtbot, make_window: WindowFactory, database: Database, migrations: MigrationDir) -> None:
    """Seen in the screenshots: the heading broke "-- ROLLBACK BEGIN" after its "--", and the file's
    diff was shown as SQL alone, the lines to be added unshaded."""
    from PySide6.QtWidgets import QLabel

    from app.gui import theme

    _manual(database, migrations)
    window = make_window()
    dialog = asked(qtbot, window, window.act_rb_sql.trigger)
    assert isinstance(dialog, RollbackBlockDialog)
    heading = next(label for label in dialog.findChildren(QLabel) if "Nothing was rolled back" in label.text())
    # A line may break after a "-" whatever follows it (a no-break space too: Qt broke "-- | ROLLBACK
    # BEGIN" so), so the markers are named without their "--", each word joined to the next.
    assert "<code>ROLLBACK&nbsp;BEGIN</code>" in heading.text() and "<code>ROLLBACK&nbsp;END</code>" in heading.text()
    assert "--" not in heading.text().split("Write the SQL", 1)[1].split("records it", 1)[0]
    assert dialog.diff.extraSelections() == []  # nothing written yet: no change to shade
    qtbot.keyClicks(dialog.sql, "DELETE FROM settings WHERE key = 'theme';")
    lines = dialog.diff.toPlainText().splitlines()
    shaded = {s.cursor.block().blockNumber(): s.format.background().color().name()
              for s in dialog.diff.extraSelections()}
    added = [i for i, line in enumerate(lines) if line.startswith("+") and not line.startswith("+++")]
    assert len(added) == 3 and shaded == {i: theme.current().diff_new_bg for i in added}
    dialog.reject()
