"""Flyway placeholders: `${name}` in a file replaced by its value before the file runs.

Values come from the environment profile's `placeholders` table and `--placeholder name=value`
(which wins), plus Flyway's built-ins. The checksum stays that of the file as written, as
Flyway's does, so another value is not a modified file. A placeholder without a value is an
error naming the file, line and placeholder: running `${name}` as SQL text would be wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from app.core.errors import FileProblem, MigrationFileError

PATTERN = re.compile(r"\$\{([^}\n]*)\}")
NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")  # what a user placeholder may be called (`flyway:` is Flyway's)
# Built-ins read from the server the run connects to (current_user, current_database(), current_schema()).
SERVER = ("flyway:user", "flyway:database", "flyway:defaultSchema")
ServerFacts = Callable[[], Mapping[str, str]]


BUILTINS = (*SERVER, "flyway:timestamp", "flyway:filename", "flyway:workingDirectory")


def check_name(name: str) -> str | None:
    """Why a user placeholder name is unusable, or None.

    A built-in may be given a value: a project whose Flyway configuration set `defaultSchema`
    gives `flyway:defaultSchema=app`, since Tidemark has no such setting.
    """
    if name.startswith("flyway:"):
        return None if name in BUILTINS else f"placeholder name {name!r} is not one of Flyway's ({', '.join(BUILTINS)})"
    if not NAME.match(name):
        return f"placeholder name {name!r} must be letters, digits, '_', '.' or '-'"
    return None


class Placeholders:
    """The values a run replaces placeholders with; the server's built-ins read once, when a file uses one."""

    def __init__(self, values: Mapping[str, str] | None = None, server: ServerFacts | None = None) -> None:
        self.values = dict(values or {})
        self._server = server
        self._facts: Mapping[str, str] | None = None
        self._asked = [False]  # shared with the copies `over` makes: whether any read the server's facts
        self._timestamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")  # one per run, as Flyway's per parse

    @property
    def read_server_facts(self) -> bool:
        """True once a file used a value read from the server (the text is then this target's own)."""
        return self._asked[0]

    def over(self, defaults: Mapping[str, str]) -> Placeholders:
        """These values, with `defaults` (tidemark.toml's) for the names they do not give."""
        out = Placeholders({**defaults, **self.values}, self._server)
        out._timestamp = self._timestamp
        out._asked = self._asked
        return out

    def substitute(self, text: str, path: Path) -> str:
        """The text with every placeholder replaced (MigrationFileError naming the first one without a value)."""
        if "${" not in text:
            return text
        problems: list[FileProblem] = []

        def value(m: re.Match[str]) -> str:
            found = self._value(m.group(1), path)
            if found is None:
                line = text.count("\n", 0, m.start()) + 1
                if m.group(1) in SERVER and self._server is None:
                    problems.append(FileProblem(path, f"uses the placeholder {m.group()}, which is read from the "
                                                "server, and none is connected here", line,
                                                hint="give --dsn or --environment (lint: without --all)"))
                else:
                    problems.append(FileProblem(path, f"uses the placeholder {m.group()}, which has no value", line,
                                                hint=_hint(m.group(1))))
                return m.group()
            return found

        out = PATTERN.sub(value, text)
        if problems:
            raise MigrationFileError(problems)
        return out

    def _value(self, name: str, path: Path) -> str | None:
        if name in self.values:
            return self.values[name]
        if name == "flyway:filename":
            return path.name
        if name == "flyway:timestamp":
            return self._timestamp
        if name == "flyway:workingDirectory":
            return os.getcwd()
        if name in SERVER and self._server is not None:
            if self._facts is None:
                self._asked[0] = True
                self._facts = self._server()
            return self._facts.get(name)
        return None


def _hint(name: str) -> str:
    if name.startswith("flyway:"):
        return f"Tidemark knows {', '.join(BUILTINS)}; write the value in the file instead"
    return (f"give it with --placeholder {name}=VALUE, or in a placeholders table of the environment "
            "or of tidemark.toml")
