"""Schema differences in words, one wording for every view: `production lacks index public.x; staging has it`.

Used by `tidemark compare` (console, HTML, JSON messages), `tidemark drift`, the report's drift
section and the app's Compare view, so a DBA reads the same sentence wherever a difference shows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Side:
    """Who holds a definition, and the verbs for having it and not."""

    name: str
    has: str = "has"
    lacks: str = "lacks"


# What replaying the migration files produces (tidemark drift): they "create" an object or not.
THE_FILES = Side("the files", "create", "do not create")


def _side(s: Side | str) -> Side:
    return s if isinstance(s, Side) else Side(s)


def difference_words(key: str, here: Side | str, here_def: str | None, there: Side | str,
                     there_def: str | None) -> str:
    """`production has column public.users.nick; staging lacks it`, `… lacks …; … has it`, or
    `production and staging define … differently` (both definitions None: `… agree on …`)."""
    h, t = _side(here), _side(there)
    if here_def is None and there_def is None:
        return f"{h.name} and {t.name} agree on {key}"
    if here_def is None:
        return f"{h.name} {h.lacks} {key}; {t.name} {t.has} it"
    if there_def is None:
        return f"{h.name} {h.has} {key}; {t.name} {t.lacks} it"
    return f"{h.name} and {t.name} define {key} differently"
