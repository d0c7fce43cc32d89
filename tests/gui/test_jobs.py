"""Every job kind the window starts is in app.gui.jobs' registry, and each entry names a real handler."""

from __future__ import annotations

import re
from pathlib import Path

from app.gui.jobs import JOBS, MUTATING_KINDS, heading, verb
from app.gui.main_window import MainWindow

GUI = Path(__file__).parents[2] / "app" / "gui"


def test_every_started_kind_is_registered_with_a_handler() -> None:
    started = {m for f in GUI.glob("*.py") for m in re.findall(r'_start\("([a-z-]+)"', f.read_text())}
    assert len(started) >= 15
    assert sorted(started - set(JOBS)) == []
    for kind, job in JOBS.items():
        assert callable(getattr(MainWindow, job.shown, None)), f"{kind}: no method {job.shown}"
        assert verb(kind) == job.verb and heading(kind) == job.heading


def test_the_kinds_that_change_the_database() -> None:
    assert {"run", "rollback", "repair", "baseline", "import", "rollback-block", "shim"} == MUTATING_KINDS
    assert heading("no-such-kind") == "Failed" and verb("no-such-kind") == "no-such-kind"
