"""Preflight: `tidemark lint` and `tidemark rehearse`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import ci_format, common, fleet
from app.cli.output import Output

if TYPE_CHECKING:
    from app.core.lint import LintResult
    from app.core.rehearse import RehearsalResult


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    text = "check migrations for operations that lock or rewrite big tables, or break running clients"
    p = sub.add_parser("lint", help=text, description=text + ". Without FILE or --all: the pending migrations.")
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="migration files to check, in run order")
    p.add_argument("--all", action="store_true", help="check every file in the migrations folder (no database)")
    p.add_argument("--assume-lock-timeout", action="store_true",
                   help="migrate runs with --lock-timeout, so files need not SET lock_timeout themselves")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    ci_format.options(p, "lint")
    common.connection_options(p)
    p.set_defaults(handler=handle_lint)

    text = "run the pending migrations and their rollbacks on a copy of the database first"
    p = sub.add_parser("rehearse", help=text, description=text + " (a throwaway local server; nothing is "
                       "written to the database itself). Exit 1 when a migration fails or a rollback does "
                       "not restore the catalog exactly.")
    common.connection_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--allow-modified", action="store_true", help="rehearse even though an applied file changed")
    p.add_argument("--allow-out-of-order", action="store_true",
                   help="rehearse pending files older than the newest applied one")
    ci_format.options(p, "rehearse")
    fleet.options(p)
    p.set_defaults(handler=handle_rehearse)


# --- lint -------------------------------------------------------------------------------------


def handle_lint(args: argparse.Namespace, out: Output) -> int:
    """Lint the pending migrations (or --all, or the files given)."""
    from app.core import layouts
    from app.core.errors import UsageError
    from app.core.files import default_migrations_dir
    from app.core.lint import lint_files

    pg_version = None
    runner = None
    ci_format.requested(args)
    if args.files and args.all:
        raise UsageError("lint: give FILE arguments or --all, not both")
    if args.files:
        missing = [str(f) for f in args.files if not f.is_file()]
        if missing:
            raise UsageError(f"lint: no such file: {', '.join(missing)}")
        paths = list(args.files)
        scope = ""
        forward = {}
    elif args.all:
        folder = args.migrations_dir or default_migrations_dir()
        from app.core.layouts.placeholders import Placeholders

        # No server here: --placeholder's (and tidemark.toml's) values; the server's built-ins are refused.
        files = layouts.read(Path(folder), placeholders=Placeholders(dict(args.placeholders or ()))).files
        paths = [f.path for f in files]
        forward = {f.path: f.forward for f in files if f.forward_text is not None}
        scope = f"every migration in {folder}"
    else:
        runner = common.build_runner(args)
        scope = f"the pending migrations of {runner.target.display()}"
    if runner is not None:
        from app.core.lint import lint_pending

        result = lint_pending(runner, runner_sets_lock_timeout=args.assume_lock_timeout)
    else:
        result = lint_files(paths, runner_sets_lock_timeout=args.assume_lock_timeout, pg_version=pg_version,
                            forward=forward)
    from app.report.checks import from_lint

    ci_format.emit(args, out, lambda: from_lint(result))
    if out.json_mode:
        out.document(result.to_dict())
    else:
        print_lint(result, scope, out)
    return 0 if result.ok else 1


def print_lint(result: LintResult, scope: str, out: Output) -> None:
    """Findings, one per problem with the safer way, then the counts."""
    for f in result.findings:
        out.line(f"{f.location}: {f.severity}: {f.message} [{f.rule}]")
        out.line(f"    {f.statement}")
        out.line(f"    safer: {f.fix}")
    for note in result.notes:
        out.line(f"note: {note}")
    n = len(result.files)
    counts = f"{len(result.errors)} error{'s' if len(result.errors) != 1 else ''}, " \
             f"{len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}"
    via = f" (squawk {result.squawk_version} and Tidemark's rules)" if result.squawk_version else ""
    if not n:
        out.line(f"lint: nothing to check in {scope or 'the files given'}")
    else:
        out.line(f"lint: {counts} in {n} file{'s' if n != 1 else ''}{': ' + scope if scope else ''}{via}")


# --- rehearse ---------------------------------------------------------------------------------


def handle_rehearse(args: argparse.Namespace, out: Output) -> int:
    """Rehearse the pending migrations and their rollbacks on a throwaway copy."""
    from app.core.rehearse import rehearse

    ci_format.requested(args)
    if fleet.requested(args):  # a throwaway server per target, --parallel at a time
        from app.report.checks import from_rehearsal
        from app.report.rehearsal import rehearsal_headline

        return fleet.verdicts(args, out, "rehearsed", "REHEARSAL", lambda m, say: rehearse(
            m.runner.target, m.runner.migrations_dir, m.runner.options, say=say), rehearsal_headline,
            lambda r, m: from_rehearsal(r, m.runner.migrations_dir))
    runner = common.build_runner(args)
    result = rehearse(runner.target, runner.migrations_dir, runner.options, say=out.line)
    from app.report.checks import from_rehearsal

    ci_format.emit(args, out, lambda: from_rehearsal(result, runner.migrations_dir))
    if out.json_mode:
        out.document(result.to_dict())
    else:
        print_rehearsal(result, out)
    return 0 if result.ok else 1


def print_rehearsal(r: RehearsalResult, out: Output) -> None:
    """The rehearsal, readable (the same lines the desktop app shows)."""
    from app.report.rehearsal import rehearsal_lines

    out.line("")
    for line in rehearsal_lines(r):
        out.line(line)
