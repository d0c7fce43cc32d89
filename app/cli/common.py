"""What every engine command shares: connection and run options, and the runner they build."""

from __future__ import annotations

import argparse
import importlib
import math
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine is imported when a command runs, not for --help or --version
    from app.core.connect import Target
    from app.core.runner import MigrationRunner

# One module per command group; each has register(subparsers).
COMMAND_MODULES = (
    "app.cli.migrate",
    "app.cli.promote",
    "app.cli.rollback",
    "app.cli.status",
    "app.cli.maintenance",
    "app.cli.sandbox",
    "app.cli.supabase",
    "app.cli.imports",
    "app.cli.new",
    "app.cli.env",
    "app.cli.preflight",
    "app.cli.drift",
    "app.cli.report",
    "app.cli.notify",
)


def command_modules() -> list[ModuleType]:
    """The command-group modules, imported in help order."""
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def _seconds_to_ms(text: str) -> int:
    """Parse '5', '5s', '500ms', '2min' into milliseconds."""
    t = text.strip().lower()
    units = (("ms", 1), ("min", 60_000), ("s", 1000), ("m", 60_000), ("h", 3_600_000))
    suffix, factor = next(((u, f) for u, f in units if t.endswith(u)), ("", 1000))
    number = t[: len(t) - len(suffix)]
    ms = round(_duration(number, text) * factor)
    if ms > _MAX_MS:
        raise argparse.ArgumentTypeError(f"a duration must be at most 24 days (PostgreSQL's limit), not {text!r}")
    return ms


_MAX_MS = 2_147_483_647  # PostgreSQL's timeouts are int milliseconds; the lock wait shares the bound


def _duration(number: str, text: str) -> float:
    """A finite, non-negative number of a duration option; an argparse usage error otherwise."""
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 5s, 500ms, 2min)") from None
    if not math.isfinite(value):  # nan compares false with everything: it would slip past `< 0`
        raise argparse.ArgumentTypeError(f"a duration must be a finite number, not {text!r} (e.g. 5s, 2min)")
    if value < 0:
        raise argparse.ArgumentTypeError(f"a duration cannot be negative: {text!r}")
    return value


def seconds(text: str) -> float:
    """Parse a number of seconds ('30', '2.5'): finite, not negative, at most ~24 days."""
    value = _duration(text.strip(), text)
    if value * 1000 > _MAX_MS:
        raise argparse.ArgumentTypeError(f"at most 2147483 seconds (24 days), not {text!r}")
    return value


def connection_options(parser: argparse.ArgumentParser) -> None:
    """--dsn, --environment, --migrations-dir: every engine command takes them, after its name."""
    g = parser.add_argument_group("connection")
    g.add_argument("--dsn", metavar="URL", help="connection string, e.g. postgresql://user@host:5432/db")
    g.add_argument("--environment", "--env", dest="environment", metavar="NAME",
                   help="a saved environment (profile), e.g. production")
    from app.cli.fleet import selectors

    selectors(g)
    g.add_argument("--migrations-dir", metavar="DIR", type=Path,
                   help="folder of migration files (default ./migrations, or ./supabase/migrations)")
    g.add_argument("--ssh", metavar="HOP",
                   help="reach the database through an SSH tunnel: [user@]host[:port] or a Host alias of "
                   "~/.ssh/config (ProxyJump there for more hops); the database host is as the hop sees it")
    g.add_argument("--password-command", metavar="COMMAND",
                   help="a command whose output is the password, run for each connection (e.g. aws rds "
                   "generate-db-auth-token ...); no shell")
    g.add_argument("--placeholder", dest="placeholders", action="append", type=placeholder, default=[],
                   metavar="NAME=VALUE",
                   help="the value of a Flyway placeholder ${NAME} (repeatable; wins over the environment's "
                   "placeholders table and tidemark.toml's)")
    g.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)


def placeholder(text: str) -> tuple[str, str]:
    """Parse `--placeholder name=value` (the value may hold '=', or be empty)."""
    from app.core.layouts.placeholders import check_name

    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r} (e.g. --placeholder schema=app)")
    problem = check_name(name)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{problem} (in {text!r})")
    return name, value


def run_options(parser: argparse.ArgumentParser) -> None:
    """Timeouts, retries and lock waiting, for commands that change the database."""
    g = parser.add_argument_group("running")
    g.add_argument("--lock-timeout", type=_seconds_to_ms, metavar="DURATION",
                   help="give up a statement that waits this long for a lock (SQLSTATE 55P03), e.g. 5s")
    g.add_argument("--retries", type=int, default=0, metavar="N",
                   help="retry a migration that hit the lock timeout N times, backing off (1 s, 2 s, 4 s...)")
    g.add_argument("--statement-timeout", type=_seconds_to_ms, metavar="DURATION",
                   help="cancel a statement that runs longer than this")
    g.add_argument("--index-timeout", type=_seconds_to_ms, metavar="DURATION",
                   help="statement timeout for concurrent index builds (default: none)")
    g.add_argument("--wait-lock", type=seconds, default=0.0, metavar="SECONDS",
                   help="wait up to SECONDS for another run's migration lock instead of exiting with 3")
    g.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation (CI)")
    g.add_argument("--supabase-history", action="store_true",
                   help="also write supabase_migrations.schema_migrations, so `supabase migration list` agrees")


def status_options(parser: argparse.ArgumentParser) -> None:
    """Options that change how health is judged."""
    parser.add_argument("--slow-threshold", type=_seconds_to_ms, default=60_000, metavar="DURATION",
                        help="a migration slower than this is a health warning (default 60s)")


def build_target(args: argparse.Namespace, env: dict[str, str] | None = None, *, whole: bool = False) -> Target:
    """The connection by the documented precedence (`whole`: an environment with patterns as itself,
    for a fleet to expand)."""
    from functools import partial

    from app.core.connect import resolve_target

    return resolve_target(
        getattr(args, "dsn", None),
        getattr(args, "environment", None),
        env if env is not None else dict(os.environ),
        environments=partial(_environment, whole=whole),
        sandbox=_sandbox,
        ssh=getattr(args, "ssh", None),
        password_command=getattr(args, "password_command", None),
    )


# Imported only when chosen: with --dsn, `status` loads neither keyring nor the sandbox.
def _environment(name: str, *, whole: bool = False) -> Target:
    from app.cli.env import resolver  # resolve_environment with the CLI's keyring note and prompt

    return resolver()(name, whole=whole)


def _sandbox() -> Target:
    from app.core.sandbox import sandbox_target

    return sandbox_target()


def build_runner(args: argparse.Namespace, env: dict[str, str] | None = None, *, whole: bool = False
                 ) -> MigrationRunner:
    """A runner for the parsed arguments (`whole`: see build_target)."""
    from app.core.errors import UsageError
    from app.core.options import Options
    from app.core.runner import MigrationRunner
    from app.core.target_folders import migrations_folder

    target = build_target(args, env, whole=whole)
    folder = migrations_folder(target, getattr(args, "migrations_dir", None))
    retries = getattr(args, "retries", 0) or 0
    if retries < 0:
        raise UsageError("--retries must be 0 or more")
    options = Options(
        lock_timeout_ms=getattr(args, "lock_timeout", None),
        statement_timeout_ms=getattr(args, "statement_timeout", None),
        index_timeout_ms=getattr(args, "index_timeout", None),
        retries=retries,
        wait_lock_s=getattr(args, "wait_lock", 0.0) or 0.0,
        allow_modified=getattr(args, "allow_modified", False),
        allow_out_of_order=getattr(args, "allow_out_of_order", False),
        slow_threshold_ms=getattr(args, "slow_threshold", 60_000),
        supabase_history=getattr(args, "supabase_history", False),
        pipeline=getattr(args, "pipeline", True),
        placeholders=tuple(getattr(args, "placeholders", None) or ()),
    )
    return MigrationRunner(target, folder, options)
