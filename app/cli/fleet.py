"""`--environments a,b,c` / `--group NAME`: status, dry-run, migrate and rollback on many targets.

The targets are resolved first (keyring, prompts), then on a change one confirmation covers
every protected target (the fleet's name typed once, after what would change on each), then
app.core.fleet runs them. A line per target as it progresses, then a table and the counts.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from app.cli import common
from app.cli.output import Output
from app.core.progress import Phase, ProgressEvent

if TYPE_CHECKING:
    from app.core.fleet import FleetResult, Member
    from app.core.protection import Action, Confirmation
    from app.report.checks import CheckRun


def options(parser: argparse.ArgumentParser) -> None:
    """--parallel, --canary, --on-failure (with --environments or --group)."""
    g = parser.add_argument_group("fleet (with --environments or --group)")
    g.add_argument("--parallel", type=int, default=4, metavar="N", help="targets at a time (default 4)")
    g.add_argument("--canary", type=_names, default=[], metavar="NAME[,NAME]",
                   help="run these first; if any fails, nothing else starts")
    g.add_argument("--on-failure", choices=("stop", "continue"), default=None,
                   help="stop: no new target starts and those running stop before their next migration "
                   "(the default of commands that change targets); continue: the others go on (the default of "
                   "status, dry runs, drift and rehearse, which change nothing)")
    g.add_argument("--shard", metavar="I/N", help="only the I-th of N stable parts of the targets (a CI matrix)")


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"a comma-separated list of names, not {text!r}")
    return names


def selectors(group: argparse._ArgumentGroup) -> None:
    """--environments and --group, beside --environment in the connection options."""
    group.add_argument("--environments", type=_names, default=None, metavar="A,B,C",
                       help="several saved environments at once (a fleet)")
    group.add_argument("--group", dest="groups", action="append", default=None, metavar="NAME",
                       help="every saved environment in this group (repeat for several)")


def requested(args: argparse.Namespace) -> bool:
    """True when the command is to act on a fleet; UsageError when that contradicts --dsn/--environment."""
    from app.core.errors import UsageError

    fleet = bool(getattr(args, "environments", None) or getattr(args, "groups", None))
    if fleet and (getattr(args, "dsn", None) or getattr(args, "environment", None)):
        raise UsageError("give --environments/--group, or --dsn/--environment, not both")
    if not fleet and _stands_for_many(getattr(args, "environment", None)):
        # `--environment shop` with `schemas = 'tenant_%'` means every tenant, never the database's public
        args.environments, args.environment = [args.environment], None
        return True
    return fleet


def _stands_for_many(name: str | None) -> bool:
    """True when `name` is a saved environment with a databases or schemas pattern."""
    if not name or "/" in name:
        return False
    from app.core.environments import get_environment
    from app.core.errors import UsageError

    try:
        profile = get_environment(name)
    except UsageError:
        return False  # unknown: resolving it says so, naming the known ones
    return bool(profile.databases or profile.schemas)


def fleet_name(args: argparse.Namespace) -> str:
    """What a user types to confirm the whole run: the names and groups as given."""
    return ",".join([*(args.environments or []), *(args.groups or [])])


def members(args: argparse.Namespace) -> list[Member]:
    """Every target's runner, its environment resolved now (keyring, a password prompt) in order."""
    from app.core.environments import list_environments
    from app.core.fleet import select
    from app.core.fleet_targets import in_shard, members_of, parse_shard
    from app.core.shared_reading import SharedReadings

    profiles = {p.name: p for p in list_environments()}
    names = select(args.environments or [], args.groups or [], list(profiles.values()))
    out: list[Member] = []
    readings = SharedReadings()  # targets sharing a migrations folder read it once
    for name in names:
        one = argparse.Namespace(**{**vars(args), "environment": name, "environments": None, "groups": None})
        p = profiles[name]
        out.extend(members_of(name, common.build_runner(one, whole=True), p.databases, p.schemas, readings,
                              keep_unreachable=True))
    shard = getattr(args, "shard", None)
    if shard:
        part = parse_shard(shard)
        out = [m for m in out if in_shard(m.name, part)]
    return out


def confirmations(ms: list[Member], args: argparse.Namespace, out: Output, action: Action,
                  preview: Callable[[Member], list[str]]) -> dict[str, Confirmation]:
    """One question for every protected target (after what would change on each), or --yes."""
    from app.core.protection import ProtectionRequired, confirm_all, requirement

    needs = {m.name: requirement(m.runner.target, action) for m in ms}
    protected = [m for m in ms if needs[m.name].protected and m.unreachable is None]  # it never runs
    name = fleet_name(args)
    backup = getattr(args, "backup", None) or "default"
    no_backup = bool(getattr(args, "no_backup", False))
    if not protected or getattr(args, "yes", False):
        return confirm_all(list(needs.values()), fleet_name=name, assume_yes=True, backup=backup, no_backup=no_backup)
    if not out.streams.stdin_tty:
        raise ProtectionRequired(f"{len(protected)} protected environment{'s' if len(protected) != 1 else ''} "
                                 f"({', '.join(m.name for m in protected)}): {action} needs confirmation, and "
                                 "there is no terminal to ask on; pass --yes to confirm (CI). Nothing was changed")
    with ThreadPoolExecutor(max_workers=max(1, min(args.parallel, len(protected)))) as pool:
        shown = dict(zip((m.name for m in protected), pool.map(preview, protected), strict=True))
    planned = {needs[n].target_key: names for n, names in shown.items()}
    out.prompt(f"will {action} on {len(protected)} protected environment{'s' if len(protected) != 1 else ''}:\n")
    for n, names in shown.items():
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        out.prompt(f"  {n}: {len(names)}{': ' + listed if names else ' (nothing to change)'}\n")
    out.prompt(f"Type {name!r} to {action} on all {len(ms)} targets: ")
    typed = out.streams.stdin.readline().strip()
    return confirm_all(list(needs.values()), fleet_name=name, typed=typed, backup=backup, no_backup=no_backup,
                       planned=planned)


def run(args: argparse.Namespace, out: Output, ms: list[Member], verb: str,
        work: Callable[[Member, Any, Callable[[ProgressEvent], None]], Any], *, announce: bool = True,
        changes: bool = True) -> FleetResult:
    """Run `work` on the fleet, a line per target as it goes; Ctrl-C's partial results are printed too.

    `changes`: the work changes targets, so by default a failure stops the rest; a read (status, a dry
    run, a check) goes on past a target it cannot read unless --on-failure stop is given."""
    from app.core.fleet import run_fleet

    lock = threading.Lock()

    def line(text: str) -> None:
        if not out.json_mode:
            with lock:
                out.line(text)

    def progress(name: str, event: ProgressEvent) -> None:
        if event.phase is Phase.MIGRATION_DONE:
            line(f"[{name}] {event.index}/{event.total} {verb} {event.migration} ({event.elapsed_ms:.0f} ms)")
        elif event.phase in (Phase.MESSAGE, Phase.LOCK_WAIT):
            line(f"[{name}] {event.message}")

    try:
        return run_fleet(ms, work, action=verb, parallel=args.parallel, canary=args.canary,
                         on_failure=args.on_failure or ("stop" if changes else "continue"), progress=progress,
                         started=(lambda name: line(f"[{name}] started")) if announce else None)
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "fleet", None)
        if partial is not None:
            summary(partial, out, _changed_count)
        raise


def _changed_count(result: Any) -> str:
    for attr in ("applied", "rolled_back", "planned"):
        if result is not None and hasattr(result, attr):
            return str(len(getattr(result, attr)))
    return ""


def _cell(error: str, width: int = 100) -> str:
    """An error's first line for the table: a leading file path as its name (the path is in --json and
    the log), cut at `width` with "...". A long path cut at 100 characters hid both file and error."""
    path, sep, rest = error.partition(":")
    if sep and "/" in path and " " not in path:
        error = PurePath(path).name + sep + rest
    return error if len(error) <= width else error[:width - 3] + "..."


def summary(result: FleetResult, out: Output, changed: Callable[[Any], str] = _changed_count,
            heading: str = "CHANGED") -> None:
    """The table (failures first) and the counts; or the JSON document."""
    from app.core.fleet import Outcome

    if out.json_mode:
        out.document(result.to_dict())
        return
    order = {Outcome.FAILED: 0, Outcome.LOCKED: 1, Outcome.CANCELLED: 2, Outcome.STOPPED: 3,
             Outcome.NOT_STARTED: 4, Outcome.OK: 5}
    rows = [("TARGET", "RESULT", heading, "TIME", "ERROR")]
    for m in sorted(result.members, key=lambda m: order[m.outcome]):
        error = _cell((m.error or "").splitlines()[0]) if m.error else ""
        rows.append((m.name, m.outcome.value, changed(m.result), f"{m.elapsed_ms / 1000:.1f} s" if m.elapsed_ms else "",
                     error))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out.line("")
    for r in rows:
        out.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not result.members:
        out.line(f"{result.action}: no target in this shard: nothing to do")
        return
    counts = ", ".join(f"{result.count(o)} {o.value}" for o in Outcome if result.count(o))
    out.line(f"{result.action}: {counts} (of {len(result.members)} target{'s' if len(result.members) != 1 else ''})")


def verdicts(args: argparse.Namespace, out: Output, verb: str, heading: str,
             check: Callable[[Member, Callable[[str], None]], Any], headline: Callable[[Any], str],
             checks: Callable[[Any, Member], CheckRun] | None = None) -> int:
    """A check on each target (rehearse, drift): one whose result is not `ok` counts as failed, with its
    headline as the error and its result kept for --json (app.core.verdicts, shared with the app);
    `checks` makes a target's --format run."""
    from app.core.verdicts import verdict_work

    ms = members(args)
    result = run(args, out, ms, verb, verdict_work(check, headline), changes=False)
    if checks is not None:
        ci_formats(args, out, result, ms, checks)
    summary(result, out, lambda r: headline(r) if r is not None else "", heading=heading)
    return result.exit_code()


def ci_formats(args: argparse.Namespace, out: Output, result: FleetResult, ms: list[Member],
               convert: Callable[[Any, Member], CheckRun]) -> None:
    """The --format document of a fleet: one run (JUnit: one <testsuite>) per target."""
    from app.cli import ci_format

    if getattr(args, "format", "text") in (None, "text"):
        return
    from app.report.checks import from_fleet

    by_name = {m.name: m for m in ms}
    command = getattr(args, "command", "") or ""
    ci_format.emit(args, out, lambda: from_fleet(command, result, lambda r, mr: convert(r, by_name[mr.name])))
