"""The overview's jobs on the worker thread: read every environment, plan and run on several (no Qt here)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.core.fleet import FleetResult, Member, Outcome, TargetEvent, run_fleet
from app.core.progress import CancelToken, Phase, ProgressEvent
from app.core.protection import Confirmation, target_key
from app.gui.words import in_app

Progress = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class Expanded:
    """Each environment's members (an environment with a database pattern stands for several) and the
    environments that could not even be resolved (keyring, a broken profile), with why."""

    members: dict[str, list[Member]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # in the app's words (app.gui.words)


def expand(sources: list[Any], options: Any) -> Expanded:
    """Resolve every environment source to its members (worker thread: keyring, listing databases)."""
    from app.core.environments import get_environment
    from app.core.errors import TidemarkError
    from app.core.fleet_targets import members_of

    out = Expanded()
    for s in sources:
        try:
            profile = get_environment(s.name) if s.kind == "environment" else None
            out.members[s.name] = members_of(s.name, s.make_runner(options, whole=True), profile and profile.databases,
                                             profile and profile.schemas)
        except TidemarkError as exc:
            out.problems[s.name] = in_app(exc.message)
    return out


def statuses(expanded: Expanded, progress: Progress, cancel: CancelToken, parallel: int = 8) -> FleetResult:
    """The status of every member, `parallel` at a time; each row fills in as its status arrives."""
    members = [m for ms in expanded.members.values() for m in ms]

    def work(m: Member, token: CancelToken, say: Progress) -> Any:
        status = m.runner.get_migration_status(cancel=token)
        progress(TargetEvent(Phase.MESSAGE, message="status", target=m.name, payload=status))
        return status

    return run_fleet(members, work, action="status", parallel=parallel, on_failure="continue", cancel=cancel,
                     progress=lambda name, e: progress(TargetEvent.of(name, e)))


@dataclass(frozen=True)
class FleetPlan:
    """What Run pending would do on each chosen member (or why it cannot be planned)."""

    members: list[Member]
    planned: dict[str, list[str]]  # member name -> migrations that would run
    problems: dict[str, str]
    until: str | None = None


def read_afresh(members: list[Member]) -> None:
    """Give the members one new shared reading of their folders: a plan reads the files as they are now
    (a file changed since the last refresh must not run as it was), and the run after it what it planned."""
    from app.core.shared_reading import SharedReadings

    fresh = SharedReadings()
    for m in members:
        m.runner.readings = fresh


def plan_run(members: list[Member], until: str | None = None) -> FleetPlan:
    """A dry run on each member, concurrently, on the files as they are now."""
    from app.core.errors import TidemarkError

    read_afresh(members)

    planned: dict[str, list[str]] = {}
    problems: dict[str, str] = {}

    def one(m: Member) -> None:
        try:
            planned[m.name] = [p.name for p in m.runner.run_migrations(dry_run=True, target=until).planned]
        except TidemarkError as exc:
            problems[m.name] = in_app(exc.message)  # shown in the overview and its run dialog: the app's words

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(members)))) as pool:
        list(pool.map(one, members))
    return FleetPlan(members, planned, problems, until)


def run_all(plan: FleetPlan, confirmations: dict[str, Confirmation], progress: Progress, cancel: CancelToken,
            parallel: int = 4, on_failure: str = "stop") -> FleetResult:
    """Run pending on every planned member that has something to run, each with its own confirmation."""
    members = [m for m in plan.members if plan.planned.get(m.name)]

    def work(m: Member, token: CancelToken, say: Progress) -> Any:
        return m.runner.run_migrations(target=plan.until, progress=say, cancel=token,
                                       confirmed=confirmations[target_key(m.runner.target)])

    return run_fleet(members, work, action="applied", parallel=parallel, on_failure=on_failure, cancel=cancel,
                     progress=lambda name, e: progress(TargetEvent.of(name, e)))


CHECKS = ("drift", "rehearse")  # the checks the overview runs on a selection, each on a throwaway server


def check_all(members: list[Member], kind: str, progress: Progress, cancel: CancelToken,
              parallel: int = 2) -> FleetResult:
    """Drift or rehearse on every member, `parallel` at a time (a throwaway server each: two cores' worth).

    One target's verdict never stops the others' (on_failure continue); Cancel stops them all.
    """
    from app.core.verdicts import verdict_work

    if kind == "drift":
        from app.core.drift import check_drift
        from app.report.drift import drift_headline

        work = verdict_work(lambda m, say: check_drift(m.runner.target, m.runner.migrations_dir, say=say),
                            drift_headline)
    elif kind == "rehearse":
        from app.core.rehearse import rehearse
        from app.report.rehearsal import rehearsal_headline

        work = verdict_work(lambda m, say: rehearse(m.runner.target, m.runner.migrations_dir, m.runner.options,
                                                    say=say), rehearsal_headline)
    else:
        raise ValueError(f"unknown check {kind!r}")
    return run_fleet(members, work, action="checked" if kind == "drift" else "rehearsed", parallel=parallel,
                     on_failure="continue", cancel=cancel, progress=lambda name, e: progress(TargetEvent.of(name, e)))


@dataclass(frozen=True)
class PromotePlan:
    """Promote from `source`: up to which migration, and what would run on each target; or why not."""

    source: str
    destination: str  # the environment or group chosen (what the confirmation asks to type)
    version: str | None = None
    name: str | None = None
    refused: str | None = None  # the source is not clean (or has nothing applied): nothing is planned
    plan: FleetPlan | None = None


def plan_promote(source: Member, destination: str, targets: list[Member]) -> PromotePlan:
    """The source's promotion point (app.core.promote, as `tidemark promote`), then a dry run up to it on each."""
    from app.core.errors import TidemarkError
    from app.core.promote import promotion_point

    read_afresh([source])
    try:
        version, name = promotion_point(source.runner.get_migration_status(), source.name)
    except TidemarkError as exc:
        return PromotePlan(source.name, destination, refused=exc.message)
    return PromotePlan(source.name, destination, version, name, plan=plan_run(targets, until=version))


__all__ = ["CHECKS", "Expanded", "FleetPlan", "Outcome", "PromotePlan", "check_all", "expand", "plan_promote",
           "plan_run", "run_all", "statuses"]
