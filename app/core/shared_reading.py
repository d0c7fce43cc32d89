"""One read of a migrations folder for a whole fleet: targets that share the folder share its Reading.

Reading a folder (discovery, checks, SHA-256 of every file, the layout's parse) costs the same for
every target, and a fleet of 500 schema targets would otherwise do it 500 times. The first target
to ask reads it; the others asking meanwhile wait for that read, then all get the same Reading
(frozen file records: nothing downstream changes them). A read whose placeholders needed the
server's own facts (`${flyway:user}`...) is that target's alone and is never shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.layouts import Reading


class SharedReadings:
    """Readings by (folder, placeholder values); thread-safe, one read per key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Hashable, threading.Lock] = {}
        self._done: dict[Hashable, Reading] = {}
        self.reads = 0  # how many folder reads happened (the bench and the tests count them)

    def get(self, key: Hashable, read: Callable[[], tuple[Reading, bool]]) -> Reading:
        """The Reading for `key`; `read()` gives a fresh one and whether it may be shared."""
        with self._lock:
            if key in self._done:
                return self._done[key]
            one = self._keys.setdefault(key, threading.Lock())
        with one:  # a second target waits for the first's read instead of reading too
            with self._lock:
                if key in self._done:
                    return self._done[key]
            reading, shareable = read()
            with self._lock:
                self.reads += 1
                if shareable:
                    self._done[key] = reading
            return reading
