"""The engine's results as notification messages: one context manager around a migrate or a
rollback (`reporting`), and the drift check's message. The runner and app.core.drift call these;
they build the Message and leave sending to app.core.notify.announce."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.errors import Cancelled, MigrationFailed, TidemarkError, redact
from app.core.notify import Notification, Say, announce
from app.core.notify.send import Message

if TYPE_CHECKING:
    from app.core.connect import Target
    from app.core.drift import DriftResult

DETAILS_MAX = 20  # drift differences in a message; the rest are counted


@dataclass
class Report:
    """What the run inside `reporting` gives back: its result."""

    result: Any = None

    def done(self, result: Any) -> Any:
        """Record the result (and hand it back)."""
        self.result = result
        return result


@contextmanager
def reporting(target: Target, notifications: list[Notification], action: str, say: Say,
              batch_id: str | None = None) -> Iterator[Report]:
    """Around a migrate (`action` "migrate": events finished/failed) or a rollback ("rollback": event
    rollback, ok or failed). A failure is announced, then raised on unchanged; Ctrl-C and Cancel are not
    announced (someone is there to see them)."""
    report = Report()
    started = time.monotonic()
    try:
        yield report
    except Cancelled:
        raise
    except TidemarkError as exc:
        if notifications:
            event = "failed" if action == "migrate" else "rollback"
            done = _names(getattr(exc, "completed", None))
            failing = _failing(exc)
            announce(target, notifications, Message(
                event, target.environment, target.display(), "failed", tuple(done + failing),
                round((time.monotonic() - started) * 1000), redact(exc.message), batch_id=batch_id), say)
        raise
    if notifications and report.result is not None:
        r = report.result
        event = "finished" if action == "migrate" else "rollback"
        if event == "rollback" and not r.rolled_back:
            return  # nothing was rolled back: nothing to tell
        announce(target, notifications, Message(
            event, target.environment, target.display(), "ok", tuple(_names(r)), round(r.total_ms),
            batch_id=r.batch_id), say)


def _names(result: object) -> list[str]:
    items = getattr(result, "applied", None) or getattr(result, "rolled_back", None) or []
    return [m.name for m in items]


def _failing(exc: TidemarkError) -> list[str]:
    if isinstance(exc, MigrationFailed) and exc.info.file is not None:
        return [exc.info.file.name]
    return []


def drift_found(target: Target, notifications: list[Notification], result: DriftResult, say: Say) -> None:
    """Announce a drift check that did not agree (differences, or files that do not replay)."""
    if result.ok or not notifications:
        return
    lines = [f"{d.key}: {d.what}" for d in result.differences[:DETAILS_MAX]]
    if len(result.differences) > DETAILS_MAX:
        lines.append(f"and {len(result.differences) - DETAILS_MAX} more")
    if result.replay_error is not None:
        error = f"the files do not replay: {result.replay_error}"
    else:
        k = len(result.differences)
        error = f"{k} object{'s' if k != 1 else ''} differ{'s' if k == 1 else ''} from what the files produce"
    announce(target, notifications, Message(
        "drift", target.environment, target.display(), "drift", tuple(result.replayed), result.total_ms,
        redact(error), tuple(redact(x) for x in lines)), say)
