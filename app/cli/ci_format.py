"""`--format junit|github|sarif` and `--output FILE`: a command's result for CI, through app/report/formats."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.output import Output

if TYPE_CHECKING:
    from app.report.checks import CheckRun


def options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add --format (the formats this command offers) and --output."""
    from app.report.formats import TEXT, names_for

    names = names_for(command)
    parser.add_argument("--format", choices=names, default=TEXT,
                        help=f"output for CI: {', '.join(n for n in names if n != TEXT)} (default: text); "
                        "the text goes to stderr when the format is on stdout")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the --format document to FILE instead of stdout")


def requested(args: argparse.Namespace) -> bool:
    """True when a CI format was asked for; UsageError on what cannot go with it."""
    from app.core.errors import UsageError

    fmt = getattr(args, "format", "text")
    if fmt == "text":
        if getattr(args, "output", None) is not None:
            raise UsageError("--output FILE writes a --format document: give --format junit, github or sarif too")
        return False
    if getattr(args, "json", False):
        raise UsageError(f"give --json or --format {fmt}, not both")
    if getattr(args, "environments", None) or getattr(args, "groups", None):
        from app.report.formats import FLEET

        if fmt not in FLEET:
            raise UsageError(f"--format {fmt} reports one target: give --env NAME or --dsn, not "
                             "--environments/--group")
    if args.output is not None:
        from app.report.write import check_writable

        check_writable(args.output)  # before any database work
    return True


def on_stdout(args: argparse.Namespace) -> bool:
    """True when the document takes stdout (so the human lines go to stderr)."""
    return getattr(args, "format", "text") not in (None, "text") and getattr(args, "output", None) is None


def emit(args: argparse.Namespace, out: Output, make: Callable[[], CheckRun | list[CheckRun]]) -> bool:
    """Write the --format document if one was asked for (a list: a fleet's runs, one per target); True when
    it was written."""
    if not requested(args):
        return False
    from app.report.formats import render

    text = render(args.format, make())
    if args.output is not None:
        from app.report.write import write_atomic

        write_atomic(args.output, text)
        out.line(f"{args.format} written to {args.output}")
    else:
        out.raw(text)
    return True
