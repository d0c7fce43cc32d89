"""The overview cards: counts per state, health with its reasons, last batch, execution times."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.core.status import MigrationStatus, State
from app.core.text import counted as count
from app.core.text import visible
from app.gui.migration_model import format_ms
from app.gui.sizing import never_widens
from app.gui.theme import state_colour
from app.gui.words import in_app


class FittedLabel(QLabel):
    """One line that ends in "…" when it does not fit its width (not cut mid-letter at the edge).

    `full` is the whole text; the label shows as much of it as fits, and says it all in its tooltip
    when cut."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # Qt's name
        """Keep the whole text and show what fits."""
        self.full = text
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight, width) if width > 0 else self.full
        super().setText(shown)
        super().setToolTip(self.full if shown != self.full else "")


class Card(QFrame):
    """A title, a big value and a small line under it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(0)
        self.title = QLabel(title.upper())
        self.title.setObjectName("cardTitle")
        self.value = QLabel("–")
        self.value.setObjectName("cardValue")
        self.sub = FittedLabel("")
        self.sub.setObjectName("cardSub")
        for w in (self.title, self.value, self.sub):
            lay.addWidget(never_widens(w))  # a long batch or migration name must not widen the window

    def set(self, value: str, sub: str = "", colour: str | None = None, tooltip: str = "") -> None:
        """Show a value (optionally coloured) and the line under it."""
        self.value.setText(value)
        self.value.setStyleSheet(f"color: {colour};" if colour else "")
        self.sub.setText(sub)
        self.setToolTip(tooltip)


class OverviewCards(QWidget):
    """The row of cards over the migration list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.cards: dict[str, Card] = {}
        for key, title in (("health", "Health"), ("applied", "Applied"), ("pending", "Pending"),
                           ("modified", "Modified"), ("missing", "Missing"), ("failed", "Failed"),
                           ("batch", "Last batch"), ("time", "Execution time")):
            card = Card(title)
            self.cards[key] = card
            lay.addWidget(card, 2 if key in ("health", "batch", "time") else 1)
        self._counts: dict[str, int] = {}  # per state, as last shown: a run moves them one by one
        self._moved: set[str] = set()  # versions moved since the status was read
        self._health: tuple[str, str | None, str] = ("–", None, "")  # value, colour, tooltip of the last status
        self.reasons = QLabel("")
        self.reasons.setObjectName("healthReasons")
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def clear(self, text: str = "–") -> None:
        """Show no data (before the first refresh, or for an unreachable server)."""
        self._counts, self._moved = {}, set()
        for card in self.cards.values():
            card.set(text)
        self.reasons.setText("")

    def show_status(self, status: MigrationStatus) -> None:
        """Fill every card from a status."""
        health = status.health
        reasons = status.reasons
        messages = [in_app(r.message) for r in reasons]
        first = messages[0] if reasons else "all migrations applied, nothing wrong found"
        more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
        self._health = (health.value, state_colour(health.value),
                        "\n".join(f"{r.level.value}: {m}" for r, m in zip(reasons, messages, strict=True)))
        self.cards["health"].set(self._health[0], _elide(first, 60) + more, *self._health[1:])
        self.reasons.setText(visible("\n".join(f"• {m}" for m in messages[:6])) if reasons else
                             "Nothing wrong found: no pending, modified, missing or failed migration, and no "
                             "invalid index or slow migration.")
        self._counts = {state.value: status.count(state) for state in State}
        self._moved = set()
        self._show_counts()
        applied = [m for m in status.migrations if m.is_applied and m.executed_at]
        if applied:
            last = max(applied, key=lambda m: (m.executed_at, m.version))
            in_batch = [m for m in applied if m.batch_id == last.batch_id]
            self.cards["batch"].set(count(len(in_batch), "migration"),
                                    last.executed_at.strftime("%Y-%m-%d %H:%M") if last.executed_at else "",
                                    tooltip=f"batch {last.batch_id}")
        else:
            self.cards["batch"].set("none", "nothing applied yet")
        times = [m for m in status.migrations if m.execution_time_ms is not None]
        if times:
            total = sum(m.execution_time_ms or 0 for m in times)
            slow = max(times, key=lambda m: m.execution_time_ms or 0)
            self.cards["time"].set(format_ms(total), f"slowest: {_elide(slow.title or slow.name, 24)} "
                                   f"{format_ms(slow.execution_time_ms)}", tooltip=slow.name)
        else:
            self.cards["time"].set("–", "no timings yet")

    def moved(self, version: str, before: str, after: str) -> None:
        """One migration committed during a run (applied, or rolled back to pending): count it at once,
        not at the refresh after the run. `before` is its state at that refresh: counted once."""
        if before == after or version in self._moved or before not in self._counts or after not in self._counts:
            return
        if not self._moved:  # its reasons ("2 pending migrations") are the refresh's: say they are being changed
            value, colour, tooltip = self._health
            self.cards["health"].set(value, "as before the run: read again when it ends", colour, tooltip)
        self._moved.add(version)
        self._counts[before] = max(0, self._counts[before] - 1)
        self._counts[after] += 1
        self._show_counts()

    def _show_counts(self) -> None:
        for state in State:
            n = self._counts[state.value]
            colour = state_colour(state.value) if n and state is not State.APPLIED else None
            self.cards[state.value].set(str(n), "", colour)
        failed, pending = self._counts[State.FAILED.value], self._counts[State.PENDING.value]
        if failed:  # Run pending runs them again (the overview's Pending column counts them too)
            self.cards["pending"].set(str(pending), f"+{failed} to retry", state_colour("pending") if pending else None,
                                      f"Run pending runs the {count(failed, 'failed migration')} again")


def _elide(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
