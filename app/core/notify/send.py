"""Building a message's body (one function per kind, in BODIES) and posting it within a hard deadline.

Posting uses urllib (no dependency) on a daemon worker thread: urllib's timeout bounds each socket
operation, not the whole exchange (a receiver that trickles bytes, a slow DNS lookup), so the
caller waits on the thread until the deadline and then leaves it behind. One retry, only when
time is left and the failure may pass (no connection, 429, 5xx). Nothing here ever raises into a
run; a problem is a Delivery with `problem` set, in words that never hold the URL.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app import __version__

SLACK_HEADER_MAX = 150  # Slack's limit for a header block's plain text
SLACK_SECTION_MAX = 3000  # ... and for a section's text (longer: 400 Bad Request)
_TITLES = {"finished": "migrate finished", "failed": "migrate failed", "rollback": "rollback",
           "drift": "drift found", "lock-wait": "waiting for the migration lock", "test": "test message"}


@dataclass(frozen=True)
class Message:
    """What happened, as every kind of notification tells it."""

    event: str  # one of config.EVENTS, or "test"
    environment: str | None  # the saved environment's name; None for a --dsn / DATABASE_URL target
    target: str  # user@host:port/db (never a password)
    result: str  # "ok", "failed", "drift", "waiting", "test"
    migrations: tuple[str, ...] = ()
    duration_ms: int | None = None
    error: str | None = None
    details: tuple[str, ...] = ()  # a few lines more (drift's differences)
    batch_id: str | None = None
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool_version: str = __version__

    @property
    def title(self) -> str:
        """`migrate failed on staging`."""
        return f"Tidemark: {_TITLES.get(self.event, self.event)} on {self.environment or self.target}"


def webhook_body(msg: Message, name: str) -> dict[str, Any]:
    """The generic webhook's JSON document (documented in the README; fields only ever added)."""
    return {"event": msg.event, "environment": msg.environment, "target": msg.target,
            "migrations": list(msg.migrations), "result": msg.result, "duration_ms": msg.duration_ms,
            "error": msg.error, "details": list(msg.details), "batch_id": msg.batch_id,
            "tool": "tidemark", "tool_version": msg.tool_version, "time": msg.time, "notification": name}


def slack_body(msg: Message, name: str) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification's fallback) and Block Kit blocks."""
    lines = [f"*Target:* {_slack(msg.target)}", f"*Result:* {_slack(msg.result)}"]
    if msg.duration_ms is not None:
        lines.append(f"*Duration:* {msg.duration_ms / 1000:.1f} s")
    if msg.migrations:
        shown = ", ".join(msg.migrations[:10]) + (f" and {len(msg.migrations) - 10} more" if len(msg.migrations) > 10
                                                  else "")
        lines.append(f"*Migrations:* {_slack(shown)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(msg.title, SLACK_HEADER_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), SLACK_SECTION_MAX)}},
    ]
    more = ([msg.error] if msg.error else []) + list(msg.details)
    if more:
        text = "```" + _slack(_cut("\n".join(more), SLACK_SECTION_MAX - 6)) + "```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_SECTION_MAX)}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": _slack(f"tidemark {msg.tool_version} · {msg.time} · {name}")}]})
    fallback = msg.title + (f": {msg.error.splitlines()[0]}" if msg.error else "")
    return {"text": _slack(fallback), "blocks": blocks}


BODIES: dict[str, Callable[[Message, str], dict[str, Any]]] = {"webhook": webhook_body, "slack": slack_body}


def _slack(text: str) -> str:
    # Slack reads & < > as markup (`<!channel>` pings everyone): text from files and servers is escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


@dataclass(frozen=True)
class Delivery:
    """How one post went: the receiver's status code, or the problem (never the URL)."""

    name: str
    status: int | None = None
    problem: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """True when the receiver answered 2xx."""
        return self.problem is None and self.status is not None and 200 <= self.status < 300


class Posting:
    """One POST under way on its worker thread; `result()` waits for it, never past its deadline."""

    def __init__(self, name: str, url: str, body: dict[str, Any], timeout_s: float) -> None:
        self.name, self.timeout_s = name, timeout_s
        self.deadline = time.monotonic() + timeout_s
        self._box: list[Delivery] = []
        self._worker = threading.Thread(target=lambda: self._box.append(_attempts(name, url, body, self.deadline)),
                                        name=f"tidemark-notify-{name}", daemon=True)
        self._worker.start()

    def result(self) -> Delivery:
        """The delivery, or "no answer" at the deadline (the thread is left to end on its socket timeout)."""
        self._worker.join(max(0.0, self.deadline - time.monotonic()))
        if self._box:
            return self._box[0]
        return Delivery(self.name, problem=f"no answer within {self.timeout_s:g} s", attempts=1)


def post(name: str, url: str, body: dict[str, Any], timeout_s: float) -> Delivery:
    """POST the body as JSON, the whole exchange within `timeout_s` (the caller's time is never longer)."""
    return Posting(name, url, body, timeout_s).result()


def _attempts(name: str, url: str, body: dict[str, Any], deadline: float) -> Delivery:
    data = json.dumps(body).encode("utf-8")
    last = Delivery(name, problem="not sent")
    for attempt in (1, 2):
        left = deadline - time.monotonic()
        if left <= 0.05:
            break
        status, problem, again = _once(url, data, left)
        last = Delivery(name, status, problem, attempt)
        if last.ok or not again:
            break
    return last


def _once(url: str, data: bytes, timeout: float) -> tuple[int | None, str | None, bool]:
    """(status, problem, worth a retry) of one POST."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": f"tidemark/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(65536)
            return answer.status, None, False
    except urllib.error.HTTPError as exc:
        return exc.code, f"the receiver answered {exc.code}", exc.code == 429 or exc.code >= 500
    except urllib.error.URLError as exc:
        return None, f"cannot connect ({_reason(exc.reason)})", True
    except TimeoutError:
        return None, f"no answer within {timeout:.0f} s", False
    except (OSError, ValueError, http_errors()) as exc:
        return None, f"the exchange failed ({_reason(exc)})", True


def http_errors() -> type[Exception]:
    """http.client's base error (a receiver that breaks the protocol)."""
    import http.client

    return http.client.HTTPException


def _reason(reason: object) -> str:
    # Words only, never the exception's text as a whole: some name the address they tried.
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__
