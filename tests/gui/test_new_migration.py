"""File ▸ New migration… (Ctrl+N) writes the next file in the project's layout and selects it."""

from __future__ import annotations

from tests.conftest import MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def test_new_migration_writes_the_file_and_selects_it(qtbot, make_window: WindowFactory,
                                                      migrations: MigrationDir) -> None:
    migrations.add("first", "CREATE TABLE first_t (id int);\n")
    window = make_window()
    assert window.act_new.shortcut().toString() == "Ctrl+N"
    window.act_new.trigger()
    dialog = window.last_dialog
    with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "new") as done:
        dialog.setTextValue("Add orders table")
        dialog.accept()
    assert done.args[1] == "ok", window.last_error
    created = done.args[2].paths[0]
    assert created.parent == migrations.path and created.name.endswith("_add_orders_table.sql")
    assert "-- Migration: Add orders table" in created.read_text()
    window.editor_offer.close()  # the question whether to open it in the editor
    qtbot.waitUntil(lambda: window.list.current() is not None and window.list.current().name == created.name,
                    timeout=DEADLINE_MS)
    assert window.cards.cards["pending"].value.text() == "2"
