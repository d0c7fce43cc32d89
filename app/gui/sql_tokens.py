"""What to colour in SQL, from PostgreSQL's own scanner (pglast.parser.scan): no Qt here.

The scanner knows what a regex list cannot: `$tag$ … $tag$` bodies, nested `/* /* */ */`
comments, `E'it\\'s'` strings, `"quoted"` identifiers and which words are keywords. Multi-word
types (`double precision`, `timestamp with time zone`, `character varying`) are coloured as one
type. A dollar-quoted body is scanned again (it is usually SQL or PL/pgSQL); one that does not
scan is coloured as a string. Roles are the theme's field names (app/gui/theme.py).
"""

from __future__ import annotations

import re

Span = tuple[int, int, str]  # start, end (exclusive), theme role; character offsets

# Scanner token names that are types (keywords in PostgreSQL's grammar).
_TYPE_TOKENS = frozenset((  # noqa: SIM905 - words in lines read better
    "INT_P INTEGER SMALLINT BIGINT REAL FLOAT_P DOUBLE_P PRECISION NUMERIC DECIMAL_P DEC BOOLEAN_P "
    "CHAR_P CHARACTER VARCHAR VARYING NCHAR NATIONAL BIT TIMESTAMP TIME INTERVAL TRUE_P FALSE_P"
).split())
# Types that the scanner sees as plain identifiers (they are names in pg_catalog, not keywords).
_TYPE_NAMES = frozenset((  # noqa: SIM905
    "text bigserial serial smallserial serial2 serial4 serial8 bytea date json jsonb uuid timestamptz timetz "
    "inet cidr macaddr macaddr8 money xml tsvector tsquery int2 int4 int8 float4 float8 bool varbit regclass "
    "oid citext hstore geometry geography point line box polygon circle int4range int8range numrange tsrange "
    "tstzrange daterange"
).split())
_STRINGS = frozenset(("SCONST", "USCONST", "BCONST", "XCONST"))
_NUMBERS = frozenset(("ICONST", "FCONST"))
_DIRECTIVE = re.compile(r"--\s*(?:ROLLBACK\b|tidemark:)", re.IGNORECASE)
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")
MAX_DEPTH = 3  # a body inside a body inside a body is scanned; deeper ones are strings


def spans(sql: str, *, _offset: int = 0, _depth: int = 0) -> list[Span] | None:
    """Coloured spans of `sql`, in order; None when the scanner refuses it (incomplete input)."""
    from pglast import parser

    try:
        tokens = parser.scan(sql)
    except Exception:  # pglast raises ParseError, maybe others on odd input: the caller falls back
        return None
    out: list[Span] = []
    time_tail = 0  # tokens still to colour as part of `time[stamp] with[out] time zone`
    for i, tok in enumerate(tokens):
        start, end, name = tok.start + _offset, tok.end + 1 + _offset, tok.name
        text = sql[tok.start:tok.end + 1]
        if time_tail:
            time_tail -= 1
            out.append((start, end, "sql_type"))
            continue
        if name in ("TIMESTAMP", "TIME") and _with_time_zone(tokens, i):
            time_tail = 3
            out.append((start, end, "sql_type"))
        elif name == "SQL_COMMENT":
            out.append((start, end, "sql_directive" if _DIRECTIVE.match(text) else "sql_comment"))
        elif name == "C_COMMENT":
            out.append((start, end, "sql_comment"))
        elif name in _STRINGS:
            out.extend(_string(text, start, end, _depth))
        elif name in _NUMBERS:
            out.append((start, end, "sql_number"))
        elif name in _TYPE_TOKENS:
            out.append((start, end, "sql_type"))
        elif name == "IDENT":
            if text.startswith('"'):
                out.append((start, end, "sql_ident"))
            elif text.lower() in _TYPE_NAMES:
                out.append((start, end, "sql_type"))
        elif tok.kind != "NO_KEYWORD":
            out.append((start, end, "sql_keyword"))
    return out


def _with_time_zone(tokens: list, i: int) -> bool:
    names = [t.name for t in tokens[i + 1:i + 4]]
    return len(names) == 3 and names[0] in ("WITH", "WITHOUT") and names[1:] == ["TIME", "ZONE"]


def _string(text: str, start: int, end: int, depth: int) -> list[Span]:
    """A string constant; a dollar-quoted one has its delimiters marked and its body scanned."""
    m = _DOLLAR.match(text)
    if m is None:
        return [(start, end, "sql_string")]
    tag = m.group(0)
    body_start, body_end = start + len(tag), end - len(tag)
    body = text[len(tag):len(text) - len(tag)]
    inner = spans(body, _offset=body_start) if depth < MAX_DEPTH else None
    middle = inner if inner is not None else [(body_start, body_end, "sql_string")]
    return [(start, body_start, "sql_dollar"), *middle, (body_end, end, "sql_dollar")]


def spans_by_line(sql: str) -> list[list[Span]] | None:
    """spans() cut at line ends: for each line, (start, end, role) within that line; None if refused."""
    found = spans(sql)
    if found is None:
        return None
    starts = [0]
    for m in re.finditer("\n", sql):
        starts.append(m.end())
    lines: list[list[Span]] = [[] for _ in starts]
    line = 0
    for s, e, role in found:
        while line + 1 < len(starts) and starts[line + 1] <= s:
            line += 1
        k = line
        while s < e:
            line_end = starts[k + 1] - 1 if k + 1 < len(starts) else len(sql)
            cut = min(e, line_end)
            if cut > s:
                lines[k].append((s - starts[k], cut - starts[k], role))
            if e <= line_end:
                break
            k += 1
            s = starts[k]
    return lines
