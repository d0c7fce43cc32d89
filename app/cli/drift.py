"""`tidemark drift`: is the target's schema what its applied migrations produce?"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli import ci_format, common, fleet
from app.cli.output import Output
from app.core.text import counted
from app.report.drift import drift_headline

if TYPE_CHECKING:
    from app.core.drift import DriftResult


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the parser."""
    text = "check that the database's schema is what its applied migrations produce"
    p = sub.add_parser("drift", help=text, description=text + ": they are replayed, in the order the database "
                       "applied them, on a throwaway local server, and the two catalogs compared object by "
                       "object (nothing is written to the database). Exit 0 when they agree, 1 when they differ.")
    common.connection_options(p)
    p.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                   help="leave out objects whose name matches this glob (e.g. 'public.tmp_*', 'audit.*'); "
                   "a table's pattern also leaves out its columns, constraints and triggers; repeatable")
    p.add_argument("-v", "--verbose", action="store_true", help="show both definitions of each difference")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    ci_format.options(p, "drift")
    fleet.options(p)
    p.set_defaults(handler=handle_drift)


def handle_drift(args: argparse.Namespace, out: Output) -> int:
    """Replay and compare; on a fleet, a throwaway server per target."""
    from app.core.drift import check_drift

    ci_format.requested(args)
    if fleet.requested(args):
        from app.report.checks import from_drift

        return fleet.verdicts(args, out, "checked", "DRIFT", lambda m, say: check_drift(
            m.runner.target, m.runner.migrations_dir, ignore=args.ignore, say=say), drift_headline,
            lambda r, m: from_drift(r))
    runner = common.build_runner(args)
    result = check_drift(runner.target, runner.migrations_dir, ignore=args.ignore, say=out.line)
    from app.report.checks import from_drift

    ci_format.emit(args, out, lambda: from_drift(result))
    if out.json_mode:
        out.document(result.to_dict())
    else:
        print_drift(result, out, verbose=args.verbose)
    return 0 if result.ok else 1


def print_drift(r: DriftResult, out: Output, *, verbose: bool = False) -> None:
    """Each difference with what the files produce and what the target has; then the verdict."""
    for note in r.notes:
        out.line(f"note: {note}")
    for d in r.differences:
        out.line(f"  {d.key}: {d.what}")
        if verbose:
            for side, definition in (("files", d.files), ("target", d.target)):
                shown = "(none)" if definition is None else definition
                lines = shown.splitlines() or [""]
                out.line(f"      {side + ':':8}{lines[0]}")
                for line in lines[1:]:
                    out.line(f"              {line}")
    ignored = f", {r.ignored} left out" if r.ignored else ""
    out.line(f"compared {counted(r.objects, 'object')} of {r.target} with {counted(len(r.replayed), 'migration')} "
             "replayed on "
             f"PostgreSQL {r.sandbox_version}{ignored} in {r.total_ms / 1000:.1f} s")
    out.line(drift_headline(r))
