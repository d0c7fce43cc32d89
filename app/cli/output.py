"""Where the CLI writes: injectable streams, a terminal progress bar, JSON documents."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from app.core.errors import redact
from app.core.progress import Phase, ProgressEvent
from app.core.text import json_safe, visible


@dataclass
class Streams:
    """stdin/stdout/stderr and the environment, replaceable in tests (as HTTPie's Environment)."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    env: dict[str, str] | None = None

    @property
    def stdout_tty(self) -> bool:
        """True when stdout is an interactive terminal."""
        return _isatty(self.stdout)

    @property
    def stdin_tty(self) -> bool:
        """True when stdin is an interactive terminal."""
        return _isatty(self.stdin)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    """Human text on stdout (or stderr when stdout carries JSON), errors on stderr."""

    def __init__(self, streams: Streams, *, json_mode: bool = False, quiet: bool = False,
                 stdout_taken: bool = False) -> None:
        self.streams = streams
        self.json_mode = json_mode
        self.stdout_taken = stdout_taken or json_mode  # a document (JSON, JUnit...) owns stdout
        self.quiet = quiet
        self._bar_shown = False
        self._closed: set[int] = set()  # streams whose reader went away (`| head`)

    def _write(self, stream: TextIO, text: str) -> None:
        """Write, and keep working when the reader has gone: `tidemark migrate | head` must not
        abort a migration half-way because a pipe closed."""
        if id(stream) in self._closed:
            return
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            self._closed.add(id(stream))
            _silence(stream)

    @property
    def _human(self) -> TextIO:
        return self.streams.stderr if self.stdout_taken else self.streams.stdout

    # Every human line passes here: text from files and servers (names, headers, SQL, messages)
    # reaches the terminal with its control and bidi characters made visible, never raw.
    def line(self, text: str = "") -> None:
        """A line of human text (never a password, never a raw control character)."""
        if self.quiet:
            return
        self._clear_bar()
        self._write(self._human, visible(redact(text)) + "\n")

    def error(self, text: str) -> None:
        """An error line on stderr."""
        self._clear_bar()
        self._write(self.streams.stderr, visible(redact(text)) + "\n")

    def text(self, text: str) -> None:
        """Human text as it is laid out (a console report, a prompt): no newline added."""
        self._write(self.streams.stdout, visible(redact(text)))

    def prompt(self, text: str) -> None:
        """A question on stderr, without a newline (the answer is typed after it)."""
        self._write(self.streams.stderr, visible(redact(text)))

    def document(self, data: Any) -> None:
        """The one JSON document of --json, alone on stdout (C1 and bidi controls as \\u escapes)."""
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        self._write(self.streams.stdout, json_safe(redact(text)) + "\n")

    def raw(self, text: str) -> None:
        """A machine document made safe by its renderer (XML, workflow commands, SARIF), as it is."""
        self._write(self.streams.stdout, text)

    # --- progress --------------------------------------------------------------------------------

    @property
    def interactive(self) -> bool:
        """A bar that redraws in place only on a terminal; plain lines in CI logs."""
        return _isatty(self._human) and not self.quiet

    def bar(self, index: int, total: int, name: str, run_ms: float) -> None:
        """Draw `[####----] 3/10  name  12.3 s` in place."""
        if not self.interactive:
            return
        width = 24
        filled = int(width * (index - 1) / total) if total else 0
        shown = visible(name)[:50]
        text = f"\r[{'#' * filled}{'-' * (width - filled)}] {index}/{total}  {shown:<50}  {run_ms / 1000:6.1f} s"
        self._write(self._human, text)
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self._write(self._human, "\r\x1b[2K")
            self._bar_shown = False


def _silence(stream: TextIO) -> None:
    """Point a real stream whose pipe closed at /dev/null, so the interpreter's final flush is quiet."""
    import os

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # an in-memory stream (tests)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


class ProgressPrinter:
    """Turns engine progress events into the CLI's lines and bar."""

    def __init__(self, out: Output, *, verb: str = "applied", verbose: bool = False) -> None:
        self.out = out
        self.verb = verb
        self.verbose = verbose

    def __call__(self, event: ProgressEvent) -> None:
        out = self.out
        match event.phase:
            case Phase.LOCK_WAIT | Phase.MESSAGE:
                out.line(f"  {event.message}" if event.migration else event.message)
            case Phase.MIGRATION_START:
                if out.interactive:
                    out.bar(event.index, event.total, event.migration, event.run_elapsed_ms)
                elif self.verbose:
                    out.line(f"[{event.index}/{event.total}] {event.migration} ...")
            case Phase.STATEMENT_DONE:
                out.line(f"    {event.elapsed_ms:9.1f} ms  line {event.line}: {event.statement}")
            case Phase.MIGRATION_DONE:
                out.line(
                    f"[{event.index}/{event.total}] {self.verb} {event.migration} "
                    f"({event.elapsed_ms:.0f} ms, {event.run_elapsed_ms / 1000:.1f} s elapsed)"
                )
            case _:
                pass
