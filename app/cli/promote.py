"""`tidemark promote --from staging --to production` (or `--group`): up to what the source has applied."""

from __future__ import annotations

import argparse

from app.cli import common, fleet
from app.cli.confirm import backup_options, confirmation
from app.cli.output import Output, ProgressPrinter


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the parser."""
    text = "migrate a target up to the last migration applied on a source environment"
    p = sub.add_parser("promote", help=text, description=text + ", with the target's own protection. Refused "
                       "when the source has modified, failed, missing or out-of-order migrations.")
    p.add_argument("--from", dest="source", required=True, metavar="ENV", help="the environment to follow")
    p.add_argument("--to", dest="environment", metavar="ENV", help="the environment to promote to")
    common.connection_options(p)
    common.run_options(p)
    backup_options(p)
    fleet.options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(handler=handle_promote)


def handle_promote(args: argparse.Namespace, out: Output) -> int:
    """Read the source's newest applied migration; migrate the target(s) up to it."""
    from app.core.errors import UsageError
    from app.core.promote import promotion_point
    from app.core.protection import Action, target_key

    if not (args.environment or args.dsn or fleet.requested(args)):
        raise UsageError("promote: give --to ENV, or --environments/--group for several")
    source = common.build_runner(argparse.Namespace(**{**vars(args), "environment": args.source, "dsn": None,
                                                       "environments": None, "groups": None}))
    version, name = promotion_point(source.get_migration_status(), args.source)
    out.line(f"promote to {name}, the last migration applied on {args.source}")
    if fleet.requested(args):
        ms = fleet.members(args)
        confs = fleet.confirmations(ms, args, out, Action.MIGRATE, lambda m: [
            p.name for p in m.runner.run_migrations(dry_run=True, target=version).planned])
        result = fleet.run(args, out, ms, "applied", lambda m, token, say: m.runner.run_migrations(
            target=version, progress=say, cancel=token, confirmed=confs[target_key(m.runner.target)]))
        fleet.summary(result, out, heading="APPLIED")
        return result.exit_code()
    runner = common.build_runner(args)
    confirmed = confirmation(runner.target, args, out, Action.MIGRATE,
                             lambda: [m.name for m in runner.run_migrations(dry_run=True, target=version).planned])
    result = runner.run_migrations(target=version, confirmed=confirmed, progress=ProgressPrinter(out))
    if out.json_mode:
        out.document({**result.to_dict(), "ok": True, "promoted_to": name, "source": args.source})
    elif not result.applied:
        out.line(f"nothing to promote: {args.environment} already has everything up to {name}")
    else:
        n = len(result.applied)
        out.line(f"applied {n} migration{'s' if n != 1 else ''} on {args.environment}, up to {name}")
    return 0
