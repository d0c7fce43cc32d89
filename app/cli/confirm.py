"""Asking before a change: the CLI's side of app.core.protection (typed name, --yes, backup flags)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.cli.output import Output
from app.core.protection import Action, Confirmation, ProtectionRequired, confirm, requirement

if TYPE_CHECKING:
    from app.core.connect import Target  # psycopg: not for `--help`


def backup_options(parser: argparse.ArgumentParser) -> None:
    """--backup[=schema|full] and --no-backup, for migrate."""
    g = parser.add_argument_group("backup")
    g.add_argument("--backup", nargs="?", const="schema", choices=("schema", "full"), metavar="schema|full",
                   help="pg_dump first, into the data folder: the schema and Tidemark's history (default), "
                   "or the whole database (full). On by default for protected environments")
    g.add_argument("--no-backup", action="store_true", help="no backup, even for a protected environment")


def confirmation(target: Target, args: argparse.Namespace, out: Output, action: Action,
                 preview: Callable[[], list[str]] | None = None) -> Confirmation | None:
    """The confirmation the engine needs for `action` on `target`, asked on the terminal when it must be.

    On a protected target: the name typed (after `preview`'s list of what changes), or `--yes`; no
    terminal and no `--yes` is a usage error. `preview` returning nothing means nothing changes: no
    question, and None (the engine then refuses if something turns up to change after all).
    """
    need = requirement(target, action)
    backup = getattr(args, "backup", None) or "default"
    no_backup = bool(getattr(args, "no_backup", False))
    if not need.protected or getattr(args, "yes", False):
        return confirm(need, assume_yes=True, backup=backup, no_backup=no_backup)
    names = preview() if preview is not None else None
    if names is not None and not names:
        return None
    if not out.streams.stdin_tty:
        raise ProtectionRequired(f"{need.name} is a protected environment: {action} needs confirmation, and "
                                 "there is no terminal to ask on; pass --yes to confirm (CI). Nothing was changed")
    if names is not None:
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        out.prompt(f"will {action} {len(names)}: {shown}\n")
    out.prompt(f"{need.name} ({target.display()}) is protected. Type its name to {action}: ")
    answer = out.streams.stdin.readline()
    return confirm(need, typed=answer.strip(), backup=backup, no_backup=no_backup, planned=names)
