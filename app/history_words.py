"""History events in words, as `tidemark history` and the app's History show them.

The audit table and `history --json` keep the stored names (`rolled_back`); people read words.
"""

from __future__ import annotations

WORDS = {
    "applied": "applied",
    "rolled_back": "rolled back",
    "failed": "failed",
    "rollback_failed": "rollback failed",
    "baselined": "baselined",
    "repaired": "repaired",
    "interrupted": "interrupted",  # Ctrl-C of a CLI run
    "cancelled": "cancelled",  # the app's Cancel
    "notify_failed": "notification not delivered",  # app.core.notify: the reason names which
}


def event_words(event: str) -> str:
    """The words for a stored event name; an unknown one (a newer version's) with spaces for underscores."""
    return WORDS.get(event, event.replace("_", " "))
