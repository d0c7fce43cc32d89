"""Engine work on a QThread: a worker object and the controller that owns its thread.

The pattern of STYLE.md §4: a parentless worker moved to a `QThread`, terminal signals quit
the thread, and `thread.finished` drops our references (Python owns both; see
`_thread_finished` for why not deleteLater); Cancel calls
`token.cancel()` straight from the GUI thread (the worker's thread is busy in `run()`, so a
queued call would arrive after the work ends).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.core.errors import Cancelled, MigrationFailed, TidemarkError
from app.core.progress import CancelToken, Phase, ProgressCallback, ProgressEvent
from app.gui.crash import BugReport

Job = Callable[[ProgressCallback, CancelToken], object]


def _send_cancel(token: CancelToken) -> None:
    """token.cancel() (sets the flag, then sends the server's cancel request) on a daemon thread."""
    threading.Thread(target=token.cancel, name="tidemark-cancel", daemon=True).start()


def event_line(event: ProgressEvent) -> str | None:
    """The log panel's line for a progress event (None: nothing worth a line)."""
    match event.phase:
        case Phase.CONNECTED:
            return f"connected to {event.message}"
        case Phase.LOCK_WAIT | Phase.MESSAGE:
            return f"  {event.message}" if event.migration else event.message
        case Phase.MIGRATION_START:
            verb = "rolling back" if event.message == "rollback" else "running"
            return f"[{event.index}/{event.total}] {verb} {event.migration}"
        case Phase.STATEMENT_DONE:
            return f"    {event.elapsed_ms:9.1f} ms  line {event.line}: {event.statement}"
        case Phase.MIGRATION_DONE:
            return (f"[{event.index}/{event.total}] done {event.migration} ({event.elapsed_ms:.0f} ms, "
                    f"{event.run_elapsed_ms / 1000:.1f} s elapsed)")
    return None


def read_failing_file(error: object) -> None:
    """Give a failed migration its file's text (`error.source`), for the error panel to show.

    Called on the worker's thread: the UI thread never waits on a disk (a network share, a slow
    checkout); the panel shows what it is handed, or the failing statement alone."""
    from app.gui.details import read_sql

    if isinstance(error, MigrationFailed) and error.source is None and error.info.file is not None:
        error.source = read_sql(Path(error.info.file))


class Worker(QObject):
    """Runs one job on its thread.

    Signals: progress(ProgressEvent), log_line(str), succeeded(result), failed(TidemarkError or
    BugReport), cancelled().
    """

    progress = Signal(object)
    log_line = Signal(str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, job: Job, token: CancelToken) -> None:
        super().__init__()
        self._job = job
        self._token = token

    def _report(self, event: ProgressEvent) -> None:
        # Runs on the worker thread: only frozen dataclasses and strings cross to the GUI.
        self.progress.emit(event)
        line = event_line(event)
        if line is not None:
            self.log_line.emit(line)

    @Slot()
    def run(self) -> None:
        """Run the job and emit exactly one terminal signal."""
        try:
            result = self._job(self._report, self._token)
        except Cancelled as exc:
            self.log_line.emit(str(exc))
            self.cancelled.emit()
        except TidemarkError as exc:
            if self._token.cancelled:
                # A cancel that landed as a lost connection or a server error is still a cancel.
                self.log_line.emit(f"cancelled: {exc}")
                self.cancelled.emit()
            else:
                read_failing_file(exc)
                self.failed.emit(exc)
        except Exception as exc:  # a bug: never let it die silently in the thread
            self.failed.emit(BugReport.capture(exc))
        else:
            self.succeeded.emit(result)


class _Relay(QObject):
    """Lives on the GUI thread and forwards one job's signals with its request number.

    Not `sender()`: with queued delivery it is not reliable once the worker's thread has ended.
    """

    def __init__(self, controller: TaskController, request: int) -> None:
        super().__init__()  # parentless: owned by Python through Running, like the thread and worker
        self._c = controller
        self.request = request

    def _live(self) -> TaskController | None:
        # Queued signals can arrive after the window (and its controller) closed: drop them.
        c = self._c
        return c if shiboken6.isValid(c) and not c.closed else None

    @Slot(object)
    def progress(self, event: ProgressEvent) -> None:
        """Forward progress."""
        if (c := self._live()) is not None:
            c._progress(self.request, event)

    @Slot(str)
    def log_line(self, line: str) -> None:
        """Forward a log line."""
        if (c := self._live()) is not None:
            c._log_line(self.request, line)

    @Slot(object)
    def succeeded(self, result: object) -> None:
        """Forward success."""
        if (c := self._live()) is not None:
            c._finish(self.request, "ok", result)

    @Slot(object)
    def failed(self, error: object) -> None:
        """Forward failure."""
        if (c := self._live()) is not None:
            c._finish(self.request, "failed", error)

    @Slot()
    def cancelled(self) -> None:
        """Forward cancellation."""
        if (c := self._live()) is not None:
            c._finish(self.request, "cancelled", None)

    @Slot()
    def thread_finished(self) -> None:
        """The thread is done: the controller drops its references."""
        if (c := self._live()) is not None:
            c._thread_finished(self.request)


@dataclass
class Running:
    """A job in flight: its thread, worker, token and request number."""

    request: int
    kind: str
    thread: QThread
    worker: Worker
    token: CancelToken
    relay: _Relay
    resend: QTimer | None = None


class TaskController(QObject):
    """Starts jobs on threads, one busy job at a time per controller, and drops stale results.

    Signals: busy_changed(), progress(ProgressEvent), log_line(str),
    finished(kind, outcome, payload) where outcome is "ok", "failed" or "cancelled".
    """

    busy_changed = Signal()
    progress = Signal(object)
    log_line = Signal(str)
    finished = Signal(str, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._numbers = itertools.count(1)
        self._current: Running | None = None  # the job whose results we want
        self._alive: dict[int, Running] = {}  # every thread not yet finished (references held)
        self.closed = False  # after shutdown(): nothing starts, nothing is reported

    @property
    def busy(self) -> bool:
        """True while the current job runs."""
        return self._current is not None

    @property
    def current_kind(self) -> str | None:
        """The kind of job running ('run', 'rollback', 'status'...)."""
        return self._current.kind if self._current else None

    def start(self, kind: str, job: Job) -> int:
        """Start a job; a job already running is cancelled and its results dropped."""
        if self.closed:
            raise RuntimeError("the task controller was shut down")
        if self._current is not None:
            self.cancel()
            self._forget_current()
        request = next(self._numbers)
        token = CancelToken()
        thread = QThread()
        worker = Worker(job, token)
        worker.moveToThread(thread)
        relay = _Relay(self, request)
        running = Running(request, kind, thread, worker, token, relay)
        self._alive[request] = running
        thread.started.connect(worker.run)
        for terminal in (worker.succeeded, worker.failed, worker.cancelled):
            terminal.connect(thread.quit)
        worker.progress.connect(relay.progress)
        worker.log_line.connect(relay.log_line)
        worker.succeeded.connect(relay.succeeded)
        worker.failed.connect(relay.failed)
        worker.cancelled.connect(relay.cancelled)
        thread.finished.connect(relay.thread_finished)
        self._current = running
        thread.start()
        self.busy_changed.emit()
        return request

    def cancel(self) -> None:
        """Ask the current job to stop (sends PostgreSQL a cancel for the running statement).

        The token is set from here, not through the worker's (busy) event loop. The server-side
        cancel request is a network round trip, so it is sent from a short-lived thread: the GUI
        never waits on it. It is repeated every half second until the job ends, because a cancel
        that lands between two statements interrupts nothing.
        """
        running = self._current
        if running is None:
            return
        _send_cancel(running.token)
        if running.resend is None:
            timer = QTimer()  # Python-owned (see _thread_finished)
            timer.setInterval(500)
            timer.timeout.connect(self._resend_cancel)
            running.resend = timer
            timer.start()

    @Slot()
    def _resend_cancel(self) -> None:
        running = self._current
        if running is not None and running.token.cancelled:
            _send_cancel(running.token)

    @staticmethod
    def _stop_resend(running: Running) -> None:
        if running.resend is not None:
            running.resend.stop()
            running.resend = None

    def _forget_current(self) -> None:
        # Results of the old job are dropped from now on (its request is no longer current).
        running = self._current
        if running is None:
            return
        self._stop_resend(running)
        self._current = None

    def _is_current(self, request: int) -> Running | None:
        if self._current is not None and self._current.request == request:
            return self._current
        return None

    def _progress(self, request: int, event: ProgressEvent) -> None:
        if self._is_current(request):
            self.progress.emit(event)

    def _log_line(self, request: int, line: str) -> None:
        if self._is_current(request):
            self.log_line.emit(line)

    def _finish(self, request: int, outcome: str, payload: object) -> None:
        running = self._is_current(request)
        if running is None:
            return  # a stale result: the user moved on
        self._stop_resend(running)
        self._current = None
        self.busy_changed.emit()
        self.finished.emit(running.kind, outcome, payload)

    def _thread_finished(self, request: int) -> None:
        running = self._alive.get(request)
        if running is None:
            return
        # `finished` is emitted from inside QThread's finish(); wait for that to end before Python
        # lets go of the wrappers (the wait is over in microseconds). No deleteLater anywhere:
        # Python owns thread, worker and relay, and a deferred delete of a Python-owned object
        # races with its wrapper (SIGBUS in ~QObject, seen with PySide6 6.12).
        running.thread.wait()
        del self._alive[request]  # the last references: Python deletes thread, worker and relay

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, quit the threads and wait for them; True if all stopped in time."""
        ok = True
        self.closed = True
        for running in list(self._alive.values()):
            _send_cancel(running.token)
        for running in list(self._alive.values()):
            running.thread.quit()
            ok = running.thread.wait(timeout_ms) and ok
        self._forget_current()
        return ok
