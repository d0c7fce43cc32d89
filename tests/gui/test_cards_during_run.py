"""The Applied and Pending cards count each migration as it commits, not at the refresh after the run."""

from __future__ import annotations

from app.core.connect import Target
from app.core.progress import Phase, ProgressEvent
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory, confirm_run, is_kind

SLEEPING = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"


def test_cards_count_each_migration_as_it_commits(qtbot, make_window: WindowFactory, database: Database,
                                                  migrations: MigrationDir) -> None:
    migrations.add("first", "CREATE TABLE first_t (id int);\n")
    migrations.add("second", "CREATE TABLE second_t (id int);\n")
    migrations.add("slow", "CREATE TABLE slow_t (id int);\nSELECT pg_sleep(30);\n")
    window = make_window()
    cards = window.cards.cards
    assert (cards["applied"].value.text(), cards["pending"].value.text()) == ("0", "3")
    refreshed: list[object] = []
    window.snapshot_shown.connect(refreshed.append)
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=is_kind("run")):
        confirm_run(qtbot, window, window.run_pending)
        qtbot.waitUntil(lambda: database.scalar(SLEEPING) == 1, timeout=DEADLINE_MS)
        qtbot.waitUntil(lambda: cards["applied"].value.text() == "2", timeout=DEADLINE_MS)
        assert cards["pending"].value.text() == "1", "the two committed ones left Pending"
        assert "3 pending" not in cards["health"].sub.text() and "before the run" in cards["health"].sub.text()
        assert refreshed == [], "no refresh has run yet"
        window.progress.cancel_button.click()
    qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS).wait()
    assert (cards["applied"].value.text(), cards["pending"].value.text()) == ("2", "1"), "the refresh agrees"


def test_cards_count_a_rollback_as_it_commits_and_once(qtbot, make_window: WindowFactory, database: Database,
                                                       migrations: MigrationDir) -> None:
    made = migrations.add("made", "CREATE TABLE made_t (id int);\n")
    MigrationRunner(Target(database.dsn, "test"), migrations.path).run_migrations()
    window = make_window()
    cards = window.cards.cards
    assert (cards["applied"].value.text(), cards["pending"].value.text()) == ("1", "0")
    for _ in range(2):  # a repeated report of the same commit moves nothing more
        window._on_progress(ProgressEvent(Phase.MIGRATION_DONE, 1, 1, made.name, message="rolled back"))
        assert (cards["applied"].value.text(), cards["pending"].value.text()) == ("0", "1")
