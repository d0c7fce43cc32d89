"""`tidemark new DESCRIPTION [--edit]`: write the next migration in the project's layout."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
from pathlib import Path

from app.cli.output import Output
from app.core.errors import UsageError

LAYOUTS = ("tidemark", "supabase", "dbmate", "goose", "sql-migrate", "golang-migrate", "prisma", "diesel", "flyway")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the parser."""
    p = sub.add_parser(
        "new", help="write the next migration (a skeleton) in the project's layout",
        description="Write the next migration of the migrations folder in its layout (declared in tidemark.toml, "
        "or detected): Tidemark's own `<UTC timestamp>_<description>.sql` (one second later if taken), "
        "golang-migrate's next number (or timestamp) with its up and down files, Flyway's next V version, "
        "dbmate's, goose's and sql-migrate's file with both sections, Prisma's and Diesel's folder. "
        "The file holds the `-- Migration:` / `-- Description:` header and an empty rollback. "
        "Prints the path. Touches no database.")
    p.add_argument("description", nargs="+", help="what the migration does, e.g. add users email")
    p.add_argument("--migrations-dir", metavar="DIR", type=Path,
                   help="folder of migration files (default ./migrations, or ./supabase/migrations)")
    p.add_argument("--layout", metavar="NAME", choices=LAYOUTS,
                   help="the layout of a new project's folder (else tidemark.toml's, or detected)")
    p.add_argument("--edit", action="store_true", help="open it in $VISUAL or $EDITOR")
    p.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=handle_new)


def editor_command() -> list[str]:
    """$VISUAL or $EDITOR as a command line (split as a shell would, never run by one)."""
    value = os.environ.get("VISUAL") or os.environ.get("EDITOR") or ""
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise UsageError(f"--edit: cannot read the editor command {value!r}: {exc}") from None
    if not words:
        raise UsageError("--edit: set $VISUAL or $EDITOR to your editor (e.g. EDITOR='code --wait'); "
                         "nothing was written")
    return words


def handle_new(args: argparse.Namespace, out: Output) -> int:
    """Write the skeleton, print its path(s), open the editor when asked."""
    from app.core.files import default_migrations_dir
    from app.core.scaffold import new_migration

    editor = editor_command() if args.edit else None  # before anything is written
    folder = args.migrations_dir or default_migrations_dir()
    created = new_migration(Path(folder), " ".join(args.description), layout=args.layout)
    if created.made_folder:
        out.line(f"made the migrations folder {folder}")
    for path in created.paths:
        out.line(str(path))
    if editor is None:
        return 0
    try:
        done = subprocess.run([*editor, *map(str, created.paths)], check=False)
    except OSError as exc:
        out.error(f"error: could not start the editor {editor[0]}: {exc.strerror or exc}; "
                  f"the migration is written at {created.paths[0]}")
        return 1
    if done.returncode != 0:
        out.error(f"error: the editor {editor[0]} exited with {done.returncode}; "
                  f"the migration is written at {created.paths[0]}")
        return 1
    return 0
