"""The `tidemark` command line: parser, dispatch, and one table from errors to exit codes.

`main()` returns an exit code and never calls sys.exit, so tests run it in-process; the
console script `run()` wraps it. Nothing here imports Qt.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import traceback
from collections.abc import Sequence
from enum import IntEnum
from typing import TextIO

from app import __version__
from app.cli import common
from app.cli.output import Output, Streams
from app.core.errors import (
    Cancelled,
    ConnectionFailed,
    ConnectionLost,
    DatabaseError,
    LockHeld,
    MigrationFailed,
    StateError,
    TidemarkError,
    UsageError,
    redact,
)


class ExitCode(IntEnum):
    """What `tidemark` exits with, for every command."""

    OK = 0
    FAILED = 1  # a migration or rollback failed, or a check found problems
    USAGE = 2  # usage, bad input, cannot connect
    LOCKED = 3  # another run holds the migration lock
    INTERNAL = 70  # a bug in Tidemark
    INTERRUPTED = 130  # Ctrl-C / cancelled


EXIT_TABLE: list[tuple[type[BaseException], ExitCode]] = [
    (LockHeld, ExitCode.LOCKED),
    (Cancelled, ExitCode.INTERRUPTED),
    (MigrationFailed, ExitCode.FAILED),
    (ConnectionLost, ExitCode.FAILED),
    (DatabaseError, ExitCode.FAILED),
    (StateError, ExitCode.FAILED),
    (ConnectionFailed, ExitCode.USAGE),
    (UsageError, ExitCode.USAGE),
    (TidemarkError, ExitCode.USAGE),
]

EPILOG = """\
exit codes (every command):
  0    ok
  1    the job did not pass: a migration or rollback failed, a check found problems
       (status --check, compare, lint, rehearse, drift), or history forbids the run (modified,
       out-of-order files)
  2    usage, bad input (migration files, names, options), cannot connect or log in
  3    another run holds the migration lock (see --wait-lock)
  70   internal error: a bug in Tidemark (details in the log file named on stderr)
  130  interrupted (Ctrl-C); says whether the migration in progress committed, as checked

connection (first found wins): --dsn, --environment NAME, DATABASE_URL, the libpq
variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE; PGPASSWORD, PGPASSFILE/.pgpass,
PGSSLMODE are read by libpq), then the local sandbox.
"""


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code of an error, by the one table."""
    for cls, code in EXIT_TABLE:
        if isinstance(exc, cls):
            return code
    return ExitCode.INTERNAL


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so main() returns 2 itself."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = _Parser(
        prog="tidemark",
        description="Run, roll back, track and report on SQL-file schema migrations for PostgreSQL.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tidemark {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in common.command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, streams: Streams | None = None) -> int:
    """Run the CLI; return the exit code."""
    streams = streams or Streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in argv
    out = Output(streams)
    from app.cli.env import forget_notes

    forget_notes()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help(streams.stdout)
            return ExitCode.USAGE
        from app.cli.ci_format import on_stdout

        out = Output(streams, json_mode=bool(getattr(args, "json", False)), stdout_taken=on_stdout(args))
        return int(args.handler(args, out))
    except KeyboardInterrupt as exc:  # the runner says what it checked (core/interrupt.py)
        out.error(getattr(exc, "message", None)
                  or "interrupted: what committed was not checked; `tidemark status` shows what is applied")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `tidemark ... | head`: the reader has all it wanted
        from app.cli.output import _silence

        _silence(streams.stdout)
        return ExitCode.OK
    except TidemarkError as exc:
        out.error(f"error: {exc.message}")
        if show_traceback:
            out.error(traceback.format_exc())
        return exit_code_for(exc)
    except Exception:
        return _internal_error(out, show_traceback)
    finally:  # every exit path of a command closes its SSH tunnels (atexit is the second net)
        if "app.core.tunnel" in sys.modules:
            sys.modules["app.core.tunnel"].close_all()


def _internal_error(out: Output, show_traceback: bool) -> int:
    from app.core.dirs import log_file

    text = redact(traceback.format_exc())
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        log = logging.getLogger("tidemark.crash")
        log.addHandler(handler)
        log.error("internal error in tidemark %s\n%s", __version__, text)
        handler.close()
        log.removeHandler(handler)
        where = f"details in {path}"
    except OSError:
        where = "the log file could not be written; run again with --traceback"
    out.error(f"internal error (a bug in Tidemark, exit {int(ExitCode.INTERNAL)}): {where}")
    if show_traceback:
        out.error(text)
    return ExitCode.INTERNAL


def run() -> None:
    """Console-script entry point."""
    _utf8(sys.stdout)
    _utf8(sys.stderr)
    code = main()
    # The interpreter's last collections at exit then skip everything this run made (parse
    # trees, history rows, the parser's modules): after 1000 migrations they took 40-90 ms.
    gc.freeze()
    sys.exit(code)


def _utf8(stream: TextIO) -> None:
    try:
        stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        pass
