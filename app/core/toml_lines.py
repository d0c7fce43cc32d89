"""Where in a TOML text a table or key is, and where tomllib's error is: for messages that name the line."""

from __future__ import annotations

import re
import tomllib


def toml_position(exc: tomllib.TOMLDecodeError) -> tuple[int | str, str]:
    """The line of a TOML error ('end' or '?' when unknown), and its reason without the position."""
    text = str(exc)
    line = getattr(exc, "lineno", None)  # Python 3.14+; before, the position is only in the text
    m = re.search(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)", text)
    reason = (text[: m.start()] + text[m.end():]).strip() if m else text
    if line is None and m:
        line = int(m.group(1)) if m.group(1) else "end"
    return (line or "?"), reason


def line_of(text: str, name: str, key: str | None = None) -> int | str:
    """The line of `[environments.NAME]`, or of KEY inside that table, for messages; '?' if not found."""
    q = re.escape(name)
    header = re.compile(rf"^[ \t]*\[[ \t]*environments[ \t]*\.[ \t]*(?:{q}|\"{q}\"|'{q}')[ \t]*\]", re.MULTILINE)
    m = header.search(text) or re.compile(rf"^[ \t]*(?:{q}|\"{q}\")[ \t]*=", re.MULTILINE).search(text)
    if not m:
        return "?"
    start = m.start()
    if key:
        end = re.compile(r"^[ \t]*\[", re.MULTILINE).search(text, m.end())
        k = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.MULTILINE).search(text, m.end(),
                                                                               end.start() if end else len(text))
        start = k.start() if k else start
    return text[:start].count("\n") + 1
