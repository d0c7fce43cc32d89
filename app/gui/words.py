"""The engine's advice in the app's words: "Repair changed…", not `tidemark repair NAME --reason ...`.

The engine's messages are written once, for both front ends, and name the CLI command that
settles a problem. In the app the same advice names the menu action that does it; a command
with no action in the app (the sandbox's, options such as --allow-modified) stays as it is,
which is still true: the command line is there too.
"""

from __future__ import annotations

import re

_ACTIONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"`tidemark repair[^`]*`", "Migrations ▸ Repair changed…"),
    (r"`tidemark import-history[^`]*`", "Migrations ▸ Import history from another tool…"),
    (r"`tidemark status[^`]*`", "Environment ▸ Refresh (F5)"),
    (r"`tidemark migrate`", "Migrations ▸ Run pending"),
    (r"`tidemark rollback[^`]*`", "Migrations ▸ Rollback last…"),
    (r"`tidemark new[^`]*`", "File ▸ New migration…"),
    (r"`tidemark lint[^`]*`", "Migrations ▸ Lint pending"),
    (r"`tidemark rehearse[^`]*`", "Migrations ▸ Rehearse"),
    (r"`tidemark supabase-shim[^`]*`", "Environment ▸ Install Supabase shim…"),
    (r"`tidemark supabase-status[^`]*`", "Environment ▸ Supabase status"),
    (r"`tidemark env edit[^`]*`", "File ▸ Environments… (Edit)"),
    (r"`tidemark env[^`]*`", "File ▸ Environments…"),
    (r"`tidemark drift[^`]*`", "Environment ▸ Compare… ▸ Schema ▸ Check drift against files"),
    (r"`tidemark compare[^`]*`", "Environment ▸ Compare…"),
    (r"`tidemark promote[^`]*`", "Environment ▸ Promote to…"),
    (r"`tidemark history[^`]*`", "Migrations ▸ History"),
    (r"act on each with `--environments [^`]*`", "act on each from Environment ▸ Overview of all environments"),
    # Said without backticks: a lint rule's fix. The app has no lock-timeout option: SET in the file is its way.
    (r" \(or run migrate --lock-timeout [^)]*\)", ""),
)]


def in_app(text: str) -> str:
    """`text` with each CLI command that has an action in the app replaced by that action's menu path."""
    if "`" not in text and "--" not in text:
        return text
    for pattern, action in _ACTIONS:
        text = pattern.sub(action, text)
    return text
