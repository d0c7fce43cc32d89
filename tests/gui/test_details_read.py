"""The selected migration's SQL is read off the UI thread (it was read on it at every row selected: a
folder on a network share froze the window), shown when it arrives, never a stale file's text."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.gui import details
from tests.conftest import MigrationDir
from tests.gui.conftest import DEADLINE_MS, WindowFactory


def test_the_file_is_read_on_a_thread_and_a_changed_selection_never_shows_the_old_one(
        qtbot, make_window: WindowFactory, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = migrations.add("slow_share", "CREATE TABLE on_a_slow_share (id int);\n")
    quick = migrations.add("quick", "CREATE TABLE quick (id int);\n")
    window = make_window()
    sql = window.details.sql
    readers: list[tuple[str, bool]] = []  # (file, read on the UI thread?)
    release = threading.Event()
    real = details.read_sql

    def read(path: Path | None) -> str | None:
        readers.append((path.name if path else "", threading.current_thread() is threading.main_thread()))
        if path == slow:
            release.wait(DEADLINE_MS / 1000)  # the share answers when the test says so
        return real(path)

    monkeypatch.setattr(details, "read_sql", read)
    shown: list[str] = []
    window.details.file_shown.connect(lambda m: shown.append(m.name))

    assert window.list.select_version(slow.name[:14])  # returns at once: the read waits on its thread
    assert sql.toPlainText() == "" and sql.placeholderText() == f"Reading {slow.name}…"
    with qtbot.waitSignal(window.details.file_shown, timeout=DEADLINE_MS,
                          check_params_cb=lambda m: m.name == quick.name):
        assert window.list.select_version(quick.name[:14])  # the user moved on before the share answered
    assert "CREATE TABLE quick" in sql.toPlainText()
    release.set()  # the slow read ends now: its text must not replace the selected file's
    qtbot.waitUntil(lambda: not window.details.reader._alive, timeout=DEADLINE_MS)
    qtbot.waitUntil(lambda: (slow.name, False) in readers, timeout=DEADLINE_MS)
    assert "CREATE TABLE quick" in sql.toPlainText() and "on_a_slow_share" not in sql.toPlainText()
    assert shown == [quick.name], shown
    assert readers and not any(on_ui for _, on_ui in readers), "no file read on the UI thread"
    # selecting the first again shows it, read again
    with qtbot.waitSignal(window.details.file_shown, timeout=DEADLINE_MS):
        assert window.list.select_version(slow.name[:14])
    assert "on_a_slow_share" in sql.toPlainText()


def test_a_line_asked_for_while_the_file_is_read_is_marked_when_it_arrives(
        qtbot, make_window: WindowFactory, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lint finding double-clicked selects its migration and marks the line: the mark waits for the text."""
    f = migrations.add("index_email", "-- Migration: index email\n\nCREATE INDEX users_email ON t (email);\n")
    window = make_window()
    release = threading.Event()
    real = details.read_sql

    def read(path: Path | None) -> str | None:
        release.wait(DEADLINE_MS / 1000)
        return real(path)

    monkeypatch.setattr(details, "read_sql", read)
    window.show_line(f, 3)
    assert window.details.reader.busy and window.details.sql.toPlainText() == ""
    with qtbot.waitSignal(window.details.file_shown, timeout=DEADLINE_MS):
        release.set()
    sql = window.details.sql
    assert sql.textCursor().blockNumber() == 2 and sql.extraSelections(), "line 3 marked once it is there"
