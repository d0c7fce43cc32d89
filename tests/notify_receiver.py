"""A real HTTP receiver on loopback for the notification tests: records each POST; can answer a given
status, or hang (hold the request open) until the test ends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    """One request."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """The server and what it got. `status`: the answer; `hang`: hold each request until released."""

    server: ThreadingHTTPServer
    status: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    seen_in_process_list: list[str] = field(default_factory=list)  # secrets found in /proc/*/cmdline
    watch_for: str | None = None
    released: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        """The URL of a path on this receiver."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def wait(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Wait (on a condition, with a deadline) until `count` requests arrived."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the receiver got {len(self.received)} requests, not {count}")
                self.arrived.wait(left)
            return list(self.received)


def _process_lists(secret: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if secret.encode() in cmdline.read_bytes():
                found.append(str(cmdline))
        except OSError:  # a process that ended meanwhile
            continue
    return found


def serve() -> Iterator[Receiver]:
    """Start a receiver on 127.0.0.1 (a free port); stopped after (hanging requests released first)."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            r = holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if r.watch_for:  # while the run waits on us: is the URL anywhere in the process list?
                r.seen_in_process_list.extend(_process_lists(r.watch_for))
            with r.arrived:
                r.received.append(Received(self.path, dict(self.headers), body))
                r.arrived.notify_all()
            if r.hang:
                r.released.wait(60)
                return
            self.send_response(r.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    holder.append(receiver)
    thread = threading.Thread(target=server.serve_forever, name="notify-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
