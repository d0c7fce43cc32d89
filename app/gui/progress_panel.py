"""Live progress: bar (n of N), current migration and statement, elapsed time, Cancel, and the log."""

from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import redact
from app.core.progress import Phase, ProgressEvent
from app.core.text import visible
from app.gui.emphasis import bold_while_enabled
from app.gui.sizing import never_widens
from app.gui.words import in_app

LOG_MAX_LINES = 5000
LOG_MIN_LINES = 5  # the log keeps this many lines in view when the error panel takes room above
SHOWN_FROM_MS = 100  # the elapsed time is shown from 0.1 s on (one decimal: less reads as "0.0 s")
FLUSH_MS = 80  # the log and labels repaint at most ~12 times a second, whatever the event rate


class LogPanel(QPlainTextEdit):
    """The log: lines are buffered and appended in batches, so 1000 events/s cost one repaint per tick."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(LOG_MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # A long line (a server error with its path, a statement) wraps: read without scrolling sideways,
        # and the window never widens for it. A path or SQL without spaces breaks anywhere.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setPlaceholderText("The log of runs, rollbacks and refreshes appears here.")
        self.setAccessibleName("Log")
        frame = 2 * self.frameWidth() + int(2 * self.document().documentMargin())
        self.setMinimumHeight(LOG_MIN_LINES * self.fontMetrics().lineSpacing() + frame + 4)
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)

    @Slot(str)
    def add(self, line: str) -> None:
        """Queue a line (timestamped, passwords redacted)."""
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        self._pending.append(f"{stamp}  {visible(redact(in_app(line)))}")  # file and server text: controls shown
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def flush(self) -> None:
        """Append the queued lines in one edit."""
        if not self._pending:
            self._timer.stop()
            return
        lines = self._pending[-LOG_MAX_LINES:]
        self._pending.clear()
        self.appendPlainText("\n".join(lines))
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def text(self) -> str:
        """Everything shown and queued (tests read it)."""
        self.flush()
        return self.toPlainText()


class ProgressPanel(QWidget):
    """The run's progress and its Cancel button.

    Signals: cancel_requested().
    """

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setFormat("idle")
        self.bar.setValue(0)
        self.migration = QLabel("")
        self.migration.setObjectName("progressMigration")
        self.migration.setTextFormat(Qt.TextFormat.PlainText)
        # Long error lines must not widen the window: the label is elided to its width instead.
        never_widens(self.migration)
        self.statement = QLabel("")
        self.statement.setObjectName("progressStatement")
        self.statement.setTextFormat(Qt.TextFormat.PlainText)
        # The log's fixed font, already loaded: a style-sheet "monospace" family costs a font
        # lookup (~0.1 s) on the first statement of the first run, a visible stall.
        self.statement.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        never_widens(self.statement)
        self.elapsed = QLabel("")
        self.elapsed.setMinimumWidth(80)
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        bold_while_enabled(self.cancel_button)
        self.cancel_button.clicked.connect(self._cancel)
        top = QHBoxLayout()
        top.addWidget(self.bar, 1)
        top.addWidget(self.elapsed)
        top.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(top)
        # What runs, under the bar: shown only while a job reports migrations (or cancels), so an idle
        # window has no empty band and a refresh does not make the log jump. The window never resizes
        # for it: it is in a scroll area, and the log's pane gives the room.
        self.detail = QWidget()
        dl = QVBoxLayout(self.detail)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.setSpacing(2)
        dl.addWidget(self.migration)
        dl.addWidget(self.statement)
        self.detail.hide()
        lay.addWidget(self.detail)
        self._clock = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(100)
        self._tick.timeout.connect(self._show_elapsed)
        self._last: ProgressEvent | None = None
        self._step: ProgressEvent | None = None
        self._paint = QTimer(self)
        self._paint.setSingleShot(True)
        self._paint.setInterval(FLUSH_MS)
        self._paint.timeout.connect(self._show_last)

    def start(self, what: str) -> None:
        """A job begins: busy bar, clock running, Cancel enabled."""
        self._last = self._step = None
        # Not Qt's busy mode (range 0, 0): its animation repaints the window behind the bar at
        # 60 Hz, which cost more UI time than the whole run's progress. The text says it instead.
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat(what)
        self.migration.setText(what)
        self.statement.setText("")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.elapsed.setText("")
        self._clock.start()
        self._tick.start()

    def cancelling(self) -> None:
        """Cancel was pressed: say so until the job ends."""
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.migration.setText("Cancelling: asking the server to stop the running statement…")
        self.detail.show()

    def stop(self, text: str) -> None:
        """The job ended: show the outcome."""
        self._tick.stop()
        self._paint.stop()
        if self._last is not None:
            self._show_last()
        # The part done stays what it was ("1 of 2" cancelled: half), now out of 100: the value
        # alone, kept from the run's own range, drew a 1 % sliver.
        low, high = self.bar.minimum(), self.bar.maximum()
        done = (self.bar.value() - low) / (high - low) if high > low and self.bar.value() >= low else 0.0
        self.bar.setRange(0, 100)
        self.bar.setValue(100 if text.startswith("done") or text.startswith("up to date") else round(done * 100))
        # The outcome is said once, on the bar (the whole text in its tooltip, and in the log below);
        # the lines under it are for what runs, and empty when nothing does.
        text = visible(text)
        first = text.splitlines()[0] if text else text
        self.bar.setFormat(first if len(first) <= 120 else first[:119] + "…")  # cut said, not mid-word silently
        self.bar.setToolTip(text)
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        if self._clock.isValid():
            self._show_elapsed()
            self._clock.invalidate()  # the job's time stays; a later outcome without a job keeps it
        self.migration.setText("")
        self.statement.setText("")
        self.detail.hide()

    @Slot(object)
    def on_event(self, event: ProgressEvent) -> None:
        """Keep the latest event (and the latest migration start or end: a statement's event says no
        "n of N", and the repaint shows only the newest); repaint at most every FLUSH_MS."""
        self._last = event
        if event.phase in (Phase.MIGRATION_START, Phase.MIGRATION_DONE) and event.total:
            self._step = event
        if not self._paint.isActive():
            self._paint.start()

    @Slot()
    def _show_last(self) -> None:
        e = self._last
        if e is None:
            return
        if e.migration or e.phase is Phase.LOCK_WAIT:
            self.detail.show()
        step = self._step
        if step is not None:
            done = step.index if step.phase is Phase.MIGRATION_DONE else step.index - 1
            self.bar.setRange(0, step.total)
            self.bar.setValue(max(0, done))
            self.bar.setFormat(f"{max(0, done)} of {step.total}")
        if e.migration and e.phase in (Phase.MIGRATION_START, Phase.MIGRATION_DONE, Phase.STATEMENT_DONE):
            of, verb = "", "running"
            if step is not None and step.migration == e.migration:
                of = f"  ({step.index} of {step.total})"
                verb = "rolling back" if step.message == "rollback" else "running"
                if step.phase is Phase.MIGRATION_DONE:
                    verb = "finished"
            self.migration.setText(visible(f"{verb} {e.migration}{of}"))
        if e.phase is Phase.STATEMENT_DONE:
            done_text = f"last statement done: line {e.line}: {e.statement} ({e.elapsed_ms:.0f} ms)"
            self.statement.setText(visible(done_text))
        elif e.phase is Phase.MIGRATION_START:
            self.statement.setText("statements running on the server… (Cancel stops the running one)")
        elif e.phase is Phase.LOCK_WAIT:
            self.statement.setText(visible(e.message or ""))

    @Slot()
    def _show_elapsed(self) -> None:
        ms = self._clock.elapsed()
        # Nothing until there is a duration to read: no "0.0 s" before the first job, or after a quick one.
        self.elapsed.setText(f"{ms / 1000:.1f} s" if ms >= SHOWN_FROM_MS else "")

    @Slot()
    def _cancel(self) -> None:
        self.cancel_requested.emit()
