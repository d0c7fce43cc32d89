"""What a planned rollback destroys for good, in sentences the CLI and the app both show.

A rollback that drops a table or a column cannot give back the rows or values it held: running
the migration again re-creates the object empty. The rollback dialog and `tidemark rollback`
(with --dry-run too) say so from this one function.
"""

from __future__ import annotations

import re

from app.core.results import PlannedRollback

_DESTRUCTIVE = re.compile(
    r"\bDROP\s+(TABLE|MATERIALIZED\s+VIEW|SCHEMA|SEQUENCE|COLUMN|TYPE|EXTENSION)\s+(?:IF\s+EXISTS\s+)?"
    r"((?:\"[^\"]+\"|[\w$]+)(?:\.(?:\"[^\"]+\"|[\w$]+))?)",
    re.IGNORECASE,
)
_TABLE_OF_COLUMN = re.compile(r"\bALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?([\w$.\"]+)", re.IGNORECASE)


def irreversible(planned: list[PlannedRollback]) -> list[str]:
    """Sentences on what this rollback destroys for good, migration by migration."""
    out = []
    for p in planned:
        for m in _DESTRUCTIVE.finditer(p.sql or ""):
            kind, name = m.group(1).upper(), m.group(2)
            if kind == "COLUMN":
                before = (p.sql or "")[: m.start()]
                tables = _TABLE_OF_COLUMN.findall(before)
                where = f" of {tables[-1]}" if tables else ""
                out.append(f"{p.name}: drops column {name}{where}; the values in it are lost")
            elif kind in ("TABLE", "MATERIALIZED VIEW"):
                out.append(f"{p.name}: drops {kind.lower()} {name}; its rows are lost "
                           "(running the migration again re-creates it empty)")
            elif kind == "SCHEMA":
                out.append(f"{p.name}: drops schema {name} and whatever is left in it")
            else:
                out.append(f"{p.name}: drops {kind.lower()} {name}")
        if not p.transactional:
            out.append(f"{p.name}: runs outside a transaction; if it fails midway it is left half undone")
    return out
