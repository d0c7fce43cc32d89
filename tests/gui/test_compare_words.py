"""Every line the Compare view shows is in the app's words (words.in_app), not only its failures."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

from PySide6.QtWidgets import QLabel

from app.core.drift import DriftResult
from app.core.progress import Phase, ProgressEvent
from app.gui.compare_view import CompareDialog
from app.report.compare import Comparison, EnvironmentResult
from tests.gui.conftest import DEADLINE_MS

CLI = re.compile(r"`tidemark ")


def test_the_drift_checks_progress_verdicts_and_errors_say_the_apps_actions(qtbot) -> None:
    why = "no password: store it with `tidemark env edit staging`"
    unreachable = EnvironmentResult("staging", "staging", False, why, None, None, None, 0.0)
    comparison = Comparison(datetime.now(UTC), (unreachable,), (), (), (), (), 0.0)
    dialog = CompareDialog(comparison, ["prod: run `tidemark status` on it first"])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    said = lambda: " ".join(w.text() for w in dialog.findChildren(QLabel))  # noqa: E731
    assert not CLI.search(said()), said()
    assert "File ▸ Environments… (Edit)" in said() and "Environment ▸ Refresh (F5)" in said()

    go = threading.Event()
    replay = "20260101000002_b.sql failed: see `tidemark history`"
    outcome = SimpleNamespace(results=[("eu", DriftResult("eu", "2", "2", replay_error=replay,
                                                          notes=["run `tidemark status` first"]))],
                              errors=[("us", "no password: store it with `tidemark env edit us`")])

    def check(progress: object, _cancel: object) -> object:  # a drift check on the worker that says its steps
        progress(ProgressEvent(Phase.MESSAGE, 1, 1, message="locked: `tidemark migrate` runs elsewhere"))
        go.wait(DEADLINE_MS / 1000)
        return outcome

    with qtbot.waitSignal(dialog.controller.finished, timeout=DEADLINE_MS):
        dialog.controller.start("drift", check)
        qtbot.waitUntil(lambda: "Migrations ▸ Run pending" in dialog.step.text(), timeout=DEADLINE_MS)
        assert not CLI.search(dialog.step.text()), dialog.step.text()
        go.set()
    text = dialog.drift_headline.text()
    assert not CLI.search(text), text
    assert "Migrations ▸ History" in text and "File ▸ Environments… (Edit)" in text
