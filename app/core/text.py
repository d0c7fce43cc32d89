"""Text from files and servers made safe to show: control and bidi-override characters made visible.

A migration file, its header or a server message can carry an escape sequence (`\\x1b[2J`
clears a terminal, `\\x1b[1A` rewrites the line a reviewer just read in a dry run) or a Unicode
bidi override that makes `DROP` read as something else. Shown, each becomes its escape written
out (`\\x1b`, `\\u202e`), so the reader sees that it is there and what it is.
"""

from __future__ import annotations

import re

# Unicode bidi embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
# C0 controls but newline and tab (layout), DEL, and the C1 controls (U+0080-U+009F: a terminal
# may take U+009B as CSI, the one-byte form of ESC [).
CONTROLS = (*(c for c in range(0x20) if c not in (0x09, 0x0A)), 0x7F, *range(0x80, 0xA0))

_VISIBLE = {c: f"\\x{c:02x}" for c in CONTROLS} | {c: f"\\u{c:04x}" for c in BIDI}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in (*CONTROLS, *BIDI)) + "]")
# In JSON text these can only be inside strings (the syntax is ASCII), where \uXXXX means the same.
_JSON_RAW = re.compile("[" + "".join(re.escape(chr(c)) for c in (0x7F, *range(0x80, 0xA0), *BIDI)) + "]")


def counted(n: int, word: str, many: str | None = None) -> str:
    """'1 migration', '2 migrations', '3 batches': a count with its noun in the right number (`many`:
    the plural where it is not word + s/es). The CLI, the reports and the app all count with it."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many or word + ('es' if word.endswith(('ch', 'sh', 's', 'x')) else 's')}"


def visible(text: str) -> str:
    """The text with control characters (but newline and tab) and bidi controls written as escapes."""
    if not _UNSAFE.search(text):  # the common case costs one scan
        return text
    return text.translate(_VISIBLE)


def json_safe(document: str) -> str:
    """JSON text with DEL, C1 and bidi controls as \\uXXXX escapes (json.dumps leaves them raw)."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
