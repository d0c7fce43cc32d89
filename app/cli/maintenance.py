"""`tidemark baseline NAME` and `tidemark repair [NAME] --reason TEXT`."""

from __future__ import annotations

import argparse

from app.cli import common
from app.cli.output import Output


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("baseline", help="record every migration up to NAME as applied, without running it",
                       description="An existing database joins without re-running anything: every migration "
                       "up to NAME is recorded as applied (baselined), with its checksum. Its rollback is "
                       "manual unless the file gives custom rollback SQL.")
    p.add_argument("name", metavar="NAME", help="file name (with or without .sql) or 14-digit version")
    common.connection_options(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask on a protected environment (CI)")
    p.add_argument("--wait-lock", type=common.seconds, default=0.0, metavar="SECONDS", help="wait for the lock")
    p.add_argument("--force", action="store_true",
                   help="record the files even when the database lacks objects they create")
    p.set_defaults(handler=handle_baseline)

    p = sub.add_parser("repair", help="accept the current checksum of a changed applied file",
                       description="Show the diff between the applied text and the file, and accept the "
                       "file's checksum, recording who accepted it and why. Custom rollback SQL added to "
                       "the file is stored too.")
    p.add_argument("name", metavar="NAME", nargs="?", help="one migration (default: every changed one)")
    p.add_argument("--reason", required=True, help="why the change is accepted (goes into the audit trail)")
    common.connection_options(p)
    p.add_argument("-y", "--yes", action="store_true", help="accept without asking")
    p.add_argument("--wait-lock", type=common.seconds, default=0.0, metavar="SECONDS", help="wait for the lock")
    p.set_defaults(handler=handle_repair)


def handle_baseline(args: argparse.Namespace, out: Output) -> int:
    """Record migrations as applied."""
    from app.cli.confirm import confirmation
    from app.core.protection import Action

    runner = common.build_runner(args)
    confirmed = confirmation(runner.target, args, out, Action.BASELINE)
    result = runner.baseline(args.name, force=args.force, confirmed=confirmed)
    for name in result.already_applied:
        out.line(f"already applied: {name}")
    for name in result.recorded:
        out.line(f"baselined: {name}")
    out.line(f"{len(result.recorded)} migration{'s' if len(result.recorded) != 1 else ''} recorded as applied "
             f"(batch {result.batch_id}); their rollback is manual unless the file gives custom SQL")
    return 0


def handle_repair(args: argparse.Namespace, out: Output) -> int:
    """Show diffs, ask, accept."""
    from app.core.errors import UsageError

    runner = common.build_runner(args)
    candidates = runner.repair_candidates(args.name)
    if not candidates:
        out.line("nothing to repair: every applied file matches its checksum")
        return 0
    for c in candidates:
        out.line(f"== {c.name}" + (" (line endings or BOM only)" if c.line_endings_only else ""))
        out.line(c.diff.rstrip() or "(no difference in the normalised text)")
        if c.new_rollback_kind:
            out.line("   the file's custom rollback SQL will be stored as its rollback")
    from app.cli.confirm import confirmation
    from app.core.protection import Action

    if not runner.target.protected and not args.yes:
        streams = out.streams
        if not streams.stdin_tty:
            raise UsageError("repair changes the history: pass --yes to accept without the prompt")
        streams.stdout.write(f"accept {len(candidates)} change(s)? type 'yes': ")
        streams.stdout.flush()
        if streams.stdin.readline().strip().lower() != "yes":
            out.line("nothing was changed")
            return 1
    # On a protected environment the typed name replaces "yes".
    confirmed = confirmation(runner.target, args, out, Action.REPAIR, lambda: [c.name for c in candidates])
    result = runner.repair(candidates, args.reason, confirmed=confirmed)
    for name in result.repaired:
        out.line(f"repaired: {name}")
    return 0
