"""The worker and its controller on real QThreads: one terminal signal each, stale results dropped, bugs logged."""

from __future__ import annotations

import threading

import pytest

from app.core.errors import Cancelled, UsageError
from app.core.progress import CancelToken, Phase, ProgressEvent
from app.gui.crash import BugReport
from app.gui.worker import TaskController, event_line

DEADLINE_MS = 10_000


@pytest.fixture
def controller(qtbot):
    c = TaskController()
    yield c
    assert c.shutdown(5000)



def test_success_with_progress_in_order(qtbot, controller: TaskController) -> None:
    worker_threads = []

    def job(progress, cancel: CancelToken):
        worker_threads.append(threading.current_thread())
        progress(ProgressEvent(Phase.MIGRATION_START, 1, 2, "a.sql"))
        progress(ProgressEvent(Phase.MIGRATION_DONE, 1, 2, "a.sql", elapsed_ms=3))
        return "result"

    with qtbot.waitSignals([controller.progress, controller.progress, controller.finished], order="strict",
                           timeout=DEADLINE_MS,
                           check_params_cbs=[lambda e: e.phase is Phase.MIGRATION_START,
                                             lambda e: e.phase is Phase.MIGRATION_DONE,
                                             lambda k, o, p: (k, o, p) == ("job", "ok", "result")]):
        controller.start("job", job)
        assert controller.busy
    assert not controller.busy
    assert worker_threads and worker_threads[0] is not threading.main_thread()


def test_known_error_cancel_and_bug_each_end_in_one_signal(qtbot, controller: TaskController, tmp_path,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path))

    def known(progress, cancel):
        raise UsageError("bad input in x.sql:3")

    def cancelled(progress, cancel):
        raise Cancelled("cancelled: nothing more was run")

    def bug(progress, cancel):
        raise ZeroDivisionError("oops")

    with qtbot.waitSignal(controller.finished, timeout=DEADLINE_MS) as b:
        controller.start("known", known)
    assert b.args[:2] == ["known", "failed"] and isinstance(b.args[2], UsageError)
    with qtbot.waitSignal(controller.finished, timeout=DEADLINE_MS) as b:
        controller.start("cancelled", cancelled)
    assert b.args[:2] == ["cancelled", "cancelled"]
    with qtbot.waitSignal(controller.finished, timeout=DEADLINE_MS) as b:
        controller.start("bug", bug)
    report = b.args[2]
    assert isinstance(report, BugReport)
    assert str(report).startswith("internal error: ZeroDivisionError: oops")
    assert report.log_path is not None and "ZeroDivisionError" in report.log_path.read_text()
    assert "Traceback" in report.log_path.read_text()  # the log has it; the user's message does not
    assert "Traceback" not in str(report)


def test_a_newer_request_drops_the_stale_result(qtbot, controller: TaskController) -> None:
    release = threading.Event()

    def slow(progress, cancel: CancelToken):
        release.wait(10)
        progress(ProgressEvent(Phase.MESSAGE, message="late"))
        return "stale"

    def fast(progress, cancel):
        return "fresh"

    controller.start("first", slow)
    with qtbot.waitSignal(controller.finished, timeout=DEADLINE_MS) as b:
        controller.start("second", fast)
    assert b.args == ["second", "ok", "fresh"]
    with qtbot.assertNotEmitted(controller.finished), qtbot.assertNotEmitted(controller.progress):
        release.set()
        qtbot.waitUntil(lambda: len(controller._alive) == 0, timeout=DEADLINE_MS)


def test_cancel_from_the_gui_thread_reaches_a_busy_job(qtbot, controller: TaskController) -> None:
    started = threading.Event()

    def waits(progress, cancel: CancelToken):
        started.set()
        if cancel.wait(20):
            cancel.check()
        return "not cancelled"

    with qtbot.waitSignal(controller.finished, timeout=DEADLINE_MS) as b:
        controller.start("wait", waits)
        qtbot.waitUntil(started.is_set, timeout=DEADLINE_MS)
        controller.cancel()
    assert b.args[1] == "cancelled"


def test_event_lines() -> None:
    assert event_line(ProgressEvent(Phase.MIGRATION_START, 2, 5, "b.sql")) == "[2/5] running b.sql"
    assert event_line(ProgressEvent(Phase.MIGRATION_START, 1, 1, "b.sql", message="rollback")) == \
        "[1/1] rolling back b.sql"
    assert "line 7: CREATE TABLE t" in event_line(ProgressEvent(Phase.STATEMENT_DONE, migration="b.sql",
                                                                statement="CREATE TABLE t", line=7, elapsed_ms=2))
    assert event_line(ProgressEvent(Phase.HEARTBEAT)) is None
