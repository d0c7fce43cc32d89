"""`tidemark rollback N` and `tidemark rollback-to NAME`."""

from __future__ import annotations

import argparse

from app.cli import common, fleet
from app.cli.confirm import confirmation
from app.cli.output import Output, ProgressPrinter
from app.core.data_loss import irreversible


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("rollback", help="roll back the last N applied migrations, newest first",
                       description="Roll back the last N applied migrations, newest first, each in its "
                       "own transaction with its history changes.")
    p.add_argument("count", type=int, nargs="?", default=1, metavar="N", help="how many (default 1)")
    _common(p)
    p.set_defaults(handler=handle_rollback)
    p = sub.add_parser("rollback-to", help="roll back every migration applied after NAME (exclusive)",
                       description="Roll back every migration applied after NAME; NAME itself stays applied.")
    p.add_argument("name", metavar="NAME", help="file name (with or without .sql) or 14-digit version")
    _common(p)
    p.set_defaults(handler=handle_rollback)


def _common(p: argparse.ArgumentParser) -> None:
    common.connection_options(p)
    p.add_argument("--dry-run", action="store_true", help="show the SQL that would run; change nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="print each rollback's SQL as it runs")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.run_options(p)
    fleet.options(p)


def handle_rollback(args: argparse.Namespace, out: Output) -> int:
    """Roll back by count or to a migration."""
    from app.core.errors import MigrationFailed

    count = getattr(args, "count", None)
    to = getattr(args, "name", None)
    if fleet.requested(args):
        return _fleet_rollback(args, out, count, to)
    runner = common.build_runner(args)
    if args.dry_run:
        result = runner.rollback_migrations(count=count, to=to, dry_run=True)
        lost = irreversible(result.planned)
        if out.json_mode:
            out.document({**result.to_dict(), "irreversible": lost})
            return 0
        out.line(f"dry run against {runner.target.display()}: nothing is changed")
        if not result.planned:
            out.line("nothing to roll back")
        for i, r in enumerate(result.planned, start=1):
            out.line(f"[{i}/{len(result.planned)}] {r.name} (rollback {r.rollback_kind})")
            for line in (r.sql or "-- (no statements: only the history row is removed)").splitlines():
                out.line(f"      {line}")
        _say_lost(out, lost, "would be")
        return 0
    out.line(f"rolling back on {runner.target.display()}")
    # The plan first (a dry run: nothing changes), so what cannot be undone is said before it runs.
    planned = runner.rollback_migrations(count=count, to=to, dry_run=True).planned
    lost = irreversible(planned)
    _say_lost(out, lost, "is")
    from app.core.protection import Action

    confirmed = confirmation(runner.target, args, out, Action.ROLLBACK, lambda: [r.name for r in planned])
    try:
        result = runner.rollback_migrations(count=count, to=to, verbose=args.verbose, confirmed=confirmed,
                                            progress=ProgressPrinter(out, verb="rolled back"))
    except MigrationFailed as exc:
        if out.json_mode:
            from app.cli.migrate import _error_dict

            done = exc.completed.to_dict() if exc.completed is not None else {}  # type: ignore[attr-defined]
            out.document({**done, "ok": False, "error": _error_dict(exc)})
        raise
    if out.json_mode:
        out.document({**result.to_dict(), "ok": True, "irreversible": lost})
        return 0
    if args.verbose:
        for r in result.rolled_back:
            out.line(f"-- {r.name}")
            for line in r.sql.splitlines():
                out.line(f"   {line}")
    n = len(result.rolled_back)
    if n == 0:
        out.line("nothing to roll back")
    else:
        out.line(f"rolled back {n} migration{'s' if n != 1 else ''} in {result.total_ms / 1000:.2f} s "
                 f"(batch {result.batch_id})")
    return 0


def _say_lost(out: Output, lost: list[str], verb: str) -> None:
    """What the rollback destroys for good (the app's dialog says the same, from the same function)."""
    if not lost:
        return
    out.line(f"cannot be undone (what {verb} lost):")
    for sentence in lost:
        out.line(f"  - {sentence}")


def _fleet_rollback(args: argparse.Namespace, out: Output, count: int | None, to: str | None) -> int:
    from app.core.protection import Action, target_key

    ms = fleet.members(args)
    if args.dry_run:
        result = fleet.run(args, out, ms, "would roll back", lambda m, token, say: m.runner.rollback_migrations(
            count=count, to=to, dry_run=True), changes=False)
        fleet.summary(result, out, heading="WOULD ROLL BACK")
        return result.exit_code()
    confs = fleet.confirmations(
        ms, args, out, Action.ROLLBACK,
        lambda m: [r.name for r in m.runner.rollback_migrations(count=count, to=to, dry_run=True).planned])
    result = fleet.run(args, out, ms, "rolled back", lambda m, token, say: m.runner.rollback_migrations(
        count=count, to=to, progress=say, cancel=token, confirmed=confs[target_key(m.runner.target)]))
    fleet.summary(result, out, heading="ROLLED BACK")
    return result.exit_code()
