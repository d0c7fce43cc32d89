"""Notifications: a webhook or a Slack channel told that a run finished or failed, a rollback ran,
drift was found, or a run waits for the migration lock.

The engine calls `announce` at the end of the operations it notifies about (app.core.runner's
migrate and rollback, app.core.drift's check; `LockWaitAlarm` while a run waits for the lock),
so the CLI, the desktop app and fleets (one message per target, from that target's own run) all
notify alike. Sending never changes a result and never raises: a delivery that fails is one
warning line (by the notification's name, never its URL) and an audit note in the target's
history. It waits at most the notification's timeout (default 5 s, a retry included), all the
notifications of an event at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.core.notify.config import EVENTS, KINDS, Notification, for_target, url_of
from app.core.notify.send import BODIES, Delivery, Message, Posting

if TYPE_CHECKING:
    from app.core.connect import Target

NOTE_TIMEOUT_S = 3.0  # the audit note's connection and INSERT, after the deliveries

Say = Callable[[str], None]


def announce(target: Target, notifications: list[Notification], msg: Message, say: Say) -> list[Delivery]:
    """Send `msg` to the notifications that asked for its event; the failures said and noted. Never raises."""
    chosen = [n for n in notifications if msg.event in n.events]
    if not chosen:
        return []
    try:
        return _announce(target, chosen, msg, say)
    except Exception as exc:  # a bug here must not turn a run's result into another one
        say(f"warning: notifications not sent: internal error ({type(exc).__name__})")
        return []


def _announce(target: Target, chosen: list[Notification], msg: Message, say: Say) -> list[Delivery]:
    postings: list[Posting | Delivery] = []
    for n in chosen:
        url, problem = url_of(n.name)
        if url is None:
            postings.append(Delivery(n.name, problem=problem))
        else:
            postings.append(Posting(n.name, url, BODIES[n.kind](msg, n.name), n.timeout_s))
    deliveries = [p.result() if isinstance(p, Posting) else p for p in postings]
    failed = [(n, d) for n, d in zip(chosen, deliveries, strict=True) if not d.ok]
    if failed:
        noted = _note(target, failed, msg)
        for n, d in failed:
            tail = "noted in the audit trail" if noted else f"no audit note ({noted_problem(noted)})"
            say(f"warning: notification {n.name!r} ({n.kind}, {msg.event}) not delivered: {d.problem}; {tail}")
    return deliveries


def noted_problem(noted: bool | str) -> str:
    """Why no audit note was written."""
    return noted if isinstance(noted, str) else "not written"


def test_message(target_name: str, target_display: str) -> Message:
    """The message `tidemark notify test` sends."""
    return Message("test", target_name, target_display, "test",
                   details=("a test message from `tidemark notify test`: nothing ran",))


test_message.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _note(target: Target, failed: list[tuple[Notification, Delivery]], msg: Message) -> bool | str:
    """An audit row per failed delivery in the target's history (when it has the table); True when written,
    else the reason. Bounded like the deliveries: on a thread, waited for at most NOTE_TIMEOUT_S."""
    box: list[bool | str] = []

    def write() -> None:
        try:
            box.append(_write_notes(target, failed, msg))
        except Exception as exc:  # unreachable server, no privilege: the warning says so, the run goes on
            from app.core.errors import TidemarkError

            box.append(exc.message.splitlines()[0] if isinstance(exc, TidemarkError) else
                       f"cannot write it: {type(exc).__name__}")

    worker = threading.Thread(target=write, name="tidemark-notify-note", daemon=True)
    worker.start()
    worker.join(NOTE_TIMEOUT_S)
    return box[0] if box else f"the target did not answer within {NOTE_TIMEOUT_S:g} s"


def _write_notes(target: Target, failed: list[tuple[Notification, Delivery]], msg: Message) -> bool | str:
    from app.core import history
    from app.core.connect import connect

    with connect(target, connect_timeout=max(2, int(NOTE_TIMEOUT_S))) as conn:
        audit = history.place_of(conn).audit  # the target's history schema (place.py), not always public
        exists = conn.execute(f"SELECT to_regclass('{audit}') IS NOT NULL").fetchone()
        if not (exists and exists[0]):
            return "the target has no history tables yet"
        actor = history.Actor.current()
        for n, d in failed:
            reason = f"notification {n.name!r} ({n.kind}, event {msg.event}) not delivered: {d.problem}"
            conn.execute(history.audit_sql(conn, actor, history.Event.NOTIFY_FAILED, batch_id=msg.batch_id,
                                           reason=reason))
    return True


class LockWaitAlarm:
    """Polled while a run waits for the migration lock: sends "lock-wait" once to each notification
    whose `lock_wait` seconds have passed. Returns False, so it can sit in lock.acquire's should_stop."""

    def __init__(self, target: Target, notifications: list[Notification], say: Say, holder: str) -> None:
        self.target, self.say, self.holder = target, say, holder
        self.waiting = [n for n in notifications if "lock-wait" in n.events]
        self.started = time.monotonic()

    def __call__(self) -> bool:
        if not self.waiting:
            return False
        waited = time.monotonic() - self.started
        due = [n for n in self.waiting if waited >= n.lock_wait_s]
        if due:
            self.waiting = [n for n in self.waiting if n not in due]
            error = f"waiting {waited:.0f} s for the migration lock ({self.holder})"
            announce(self.target, due, Message("lock-wait", self.target.environment, self.target.display(), "waiting",
                                               duration_ms=round(waited * 1000), error=error), self.say)
        return False


__all__ = ["EVENTS", "KINDS", "Delivery", "LockWaitAlarm", "Message", "Notification", "announce", "for_target",
           "test_message", "url_of"]
