"""The overview: every environment's health read concurrently; Run pending on a group with one
typed confirmation for its protected members, each target run on its own."""

from __future__ import annotations

from app.core import environments as envs
from app.core.backup import backup_folder
from app.core.connect import Target
from app.gui.overview import HEALTH, NOW, PENDING, FleetRunDialog, OverviewWindow
from app.gui.sources import environment_source
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, is_kind


def test_overview_reads_all_and_runs_a_group_with_one_confirmation(qtbot, saved: dict[str, Database],
                                                                   migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);\n")
    sources = [environment_source(p) for p in envs.list_environments()]
    window = OverviewWindow(sources)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")) as done:
        window.refresh()
    assert done.args[1] == "ok"
    assert all(window.rows[n].text(PENDING) == "2" and window.rows[n].text(HEALTH) for n in saved)
    # the headline says the targets' health (each has pending migrations), not that each read went "ok"
    assert {window.rows[n].text(HEALTH) for n in saved} == {"warning"}
    assert window.headline.text() == "Status: 3 with warnings (3 of 3 targets read)", window.headline.text()

    group = window.tree.topLevelItem(0)
    assert group.text(0) == "tenants"
    group.setSelected(True)
    assert window.run_button.isEnabled() and window.dry_button.isEnabled()
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as dry:
        window.dry_button.click()
    review = dry.args[0]
    assert review.ok.isHidden() and review.typed is None and "3 would run" in review.windowTitle()
    review.close()
    assert not any(db.exists("public.a") for db in saved.values()), "a dry run changes nothing"
    with qtbot.waitSignal(window.asking, timeout=DEADLINE_MS) as asked:
        window.run_button.click()
    dialog = asked.args[0]
    assert isinstance(dialog, FleetRunDialog)
    assert dialog.typed is not None and not dialog.ok.isEnabled()  # prod-ap is protected
    qtbot.keyClicks(dialog.typed.field, "prod-ap")
    assert not dialog.ok.isEnabled(), "the group's name, not one member's"
    dialog.typed.field.clear()
    qtbot.keyClicks(dialog.typed.field, "tenants")
    assert dialog.ok.isEnabled()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")) as ran:
        dialog.ok.click()
    assert ran.args[1] == "ok"
    assert [m.outcome.value for m in ran.args[2].members] == ["ok"] * 3
    assert all(db.exists("public.b") for db in saved.values())
    assert all(window.rows[n].text(NOW).startswith("done: 2 applied") for n in saved)
    assert len(list(backup_folder(Target("", "x", "prod-ap")).iterdir())) == 1, "the protected one backed up first"
    window.close()


def test_the_drift_column_shows_not_checked_whole(qtbot, saved: dict[str, Database], migrations: MigrationDir) -> None:
    from app.gui.fleet_actions import NOT_CHECKED
    from app.gui.overview import DRIFT

    migrations.add("a", "CREATE TABLE a (id int);\n")
    window = OverviewWindow([environment_source(p) for p in envs.list_environments()])
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        window.refresh()
    assert all(window.rows[n].text(DRIFT) == NOT_CHECKED for n in saved)
    # filled after the status read resized the columns: it was cut to "no…"
    needed = window.tree.fontMetrics().horizontalAdvance(NOT_CHECKED)
    assert window.tree.header().sectionSize(DRIFT) > needed


def test_overview_rows_have_room_around_their_text(qtbot) -> None:
    from PySide6.QtCore import Qt

    from app.gui.sizing import ROW_PADDING
    from app.gui.sources import Source

    sources = [Source(f"env:{n}", n, "environment", "#336699", groups=("tenants",)) for n in ("eu", "us")]
    window = OverviewWindow(sources)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    tree = window.tree
    row = tree.topLevelItem(0).child(0)
    height = tree.visualItemRect(row).height()
    assert height >= tree.fontMetrics().height() + ROW_PADDING, height
    window._set("eu", PENDING, "12")
    assert window.rows["eu"].textAlignment(PENDING) & Qt.AlignmentFlag.AlignRight, "counts right-aligned"


LONG = "backfill_customer_invoice_totals_batch_07_for_the_2019_accounts_migrated_from_legacy"


def test_every_column_is_readable_at_the_default_size_and_the_headline_counts_in_words(
        qtbot, saved: dict[str, Database], migrations: MigrationDir) -> None:
    from app.core.runner import MigrationRunner
    from app.gui.fleet_actions import NOT_CHECKED
    from app.gui.overview import DRIFT, LAST
    from app.gui.table_fit import ElideMiddle, wanted_width

    migrations.add("a", "CREATE TABLE a (id int);\n")
    long_file = migrations.add(LONG, "CREATE TABLE b (id int);\n")
    for name in ("eu", "us"):
        MigrationRunner(Target(saved[name].dsn, "test"), migrations.path).run_migrations()
    first = sorted(migrations.path.glob("*_a.sql"))[0]
    first.write_text("CREATE TABLE a (id int);\n-- changed after it was applied\n")  # eu and us: in error
    window = OverviewWindow([environment_source(p) for p in envs.list_environments()])
    qtbot.addWidget(window)
    assert (window.width(), window.height()) == (1000, 560)  # the default size: nothing remembered
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("status")):
        window.refresh()
    assert {window.rows[n].text(HEALTH) for n in ("eu", "us")} == {"error"}
    assert window.headline.text() == "Status: 2 in error, 1 with warnings (3 of 3 targets read)"
    tree, header = window.tree, window.tree.header()
    qtbot.waitUntil(lambda: header.sectionSize(LAST) > 0, timeout=DEADLINE_MS)
    # every column but the name shown whole: "not checked" was cut to "not chec"
    assert window.rows["eu"].text(DRIFT) == NOT_CHECKED
    for c in range(tree.columnCount()):
        if c != LAST:
            assert header.sectionSize(c) >= wanted_width(tree, c), (c, header.sectionSize(c))
    assert tree.horizontalScrollBar().maximum() == 0, "no sideways scroll"
    # the last migration gives way: cut in its middle, whole in its tooltip, still long enough to read
    last = window.rows["eu"]
    assert last.text(LAST) == long_file.name and last.toolTip(LAST) == long_file.name
    assert isinstance(tree.itemDelegateForColumn(LAST), ElideMiddle)
    width = header.sectionSize(LAST)
    assert tree.fontMetrics().horizontalAdvance(long_file.name) > width >= 24 * tree.fontMetrics().averageCharWidth()
    window.resize(1400, 560)
    qtbot.waitUntil(lambda: header.sectionSize(LAST) > width, timeout=DEADLINE_MS)  # a wider window: more of it
    window.close()
