"""Fleets: one command on many environments at once, each run exactly as a single run is.

Every target is locked, run and recorded on its own (its own runner, connection, lock and
history); one target's failure never touches another's database. What the fleet adds: which
targets (`select`), how many at a time, canaries first, and the stop rule: after a failure no
new target starts and those running stop before their next migration (the one running
finishes and commits). Results come back per target (`FleetResult`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.core.errors import Cancelled, LockHeld, TidemarkError, UsageError
from app.core.jsonable import jsonable
from app.core.progress import CancelToken, ProgressEvent

if TYPE_CHECKING:
    from app.core.environments import Profile
    from app.core.runner import MigrationRunner

DEFAULT_PARALLEL = 4
ON_FAILURE = ("stop", "continue")


class Outcome(StrEnum):
    """How one target's part of the run ended."""

    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"  # another run held its migration lock: nothing ran there
    STOPPED = "stopped"  # the stop rule ended it between two migrations
    CANCELLED = "cancelled"  # Ctrl-C: its migration in progress was rolled back, as in a single run
    NOT_STARTED = "not started"  # the stop rule, or a failed canary, kept it from starting


@dataclass(frozen=True)
class Member:
    """One target of the fleet: its environment's name and a runner on it (target already resolved)."""

    name: str
    runner: MigrationRunner
    # Why the targets it stands for could not be listed (its server down): it fails without running,
    # as any unreachable target does, and never runs on the environment's own database instead.
    unreachable: str | None = None


@dataclass
class MemberResult:
    """One target's result: outcome, the engine's result (RunResult, ...), or the error's one line."""

    name: str
    target: str
    outcome: Outcome
    result: Any = None
    error: str | None = None
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the engine's result through its own to_dict when it has one)."""
        result = self.result.to_dict() if hasattr(self.result, "to_dict") else jsonable(self.result)
        return {"name": self.name, "target": self.target, "outcome": self.outcome.value, "error": self.error,
                "elapsed_ms": round(self.elapsed_ms, 1), "result": result}


@dataclass
class FleetResult:
    """Every target's result, in the order the targets were given."""

    action: str
    members: list[MemberResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        """How many targets ended so."""
        return sum(1 for m in self.members if m.outcome is outcome)

    def exit_code(self) -> int:
        """0 when every target succeeded; 1 when any failed or did not finish; 3 when some were only locked."""
        if all(m.outcome is Outcome.OK for m in self.members):
            return 0
        if any(m.outcome in (Outcome.FAILED, Outcome.STOPPED, Outcome.NOT_STARTED, Outcome.CANCELLED)
               for m in self.members):
            return 1
        return 3

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the counts and a result per target."""
        return {"action": self.action, "ok": self.exit_code() == 0,
                "counts": {o.value: self.count(o) for o in Outcome},
                "targets": [m.to_dict() for m in self.members]}


def select(environments: Iterable[str], groups: Iterable[str], profiles: list[Profile]) -> list[str]:
    """The environments named, then every member of each group (by name), each once, in that order.

    An unknown environment or a group nobody belongs to is a UsageError naming what exists.
    """
    known = {p.name: p for p in profiles}
    chosen: list[str] = []
    for name in environments:
        if name not in known:
            raise UsageError(f"unknown environment {name!r} in --environments (known: "
                             f"{', '.join(sorted(known)) or 'none yet'})")
        chosen.append(name)
    for group in groups:
        members = sorted(p.name for p in profiles if group in p.groups)
        if not members:
            all_groups = sorted({g for p in profiles for g in p.groups})
            raise UsageError(f"no environment is in group {group!r} (groups: {', '.join(all_groups) or 'none yet'}; "
                             f"add one with `tidemark env edit NAME --group {group}`)")
        chosen.extend(members)
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class TargetEvent(ProgressEvent):
    """A progress event of one target of a fleet (the desktop app's overview shows it on its row)."""

    target: str = ""
    payload: Any = None  # a result ready early (the overview fills a row as its status arrives)

    @classmethod
    def of(cls, target: str, event: ProgressEvent) -> TargetEvent:
        """The event, tagged with its target."""
        return cls(**{f.name: getattr(event, f.name) for f in fields(ProgressEvent)}, target=target)


Work = Callable[[Member, CancelToken, Callable[[ProgressEvent], None]], Any]
FleetProgress = Callable[[str, ProgressEvent], None]


def run_fleet(members: list[Member], work: Work, *, action: str, parallel: int = DEFAULT_PARALLEL,
              canary: Iterable[str] = (), on_failure: str = "stop", progress: FleetProgress | None = None,
              started: Callable[[str], None] | None = None, cancel: CancelToken | None = None) -> FleetResult:
    """Run `work` on every member, `parallel` at a time; canaries first, then the rest.

    `cancel` (the desktop app's Cancel) cancels every running target and starts no other.

    Ctrl-C in the calling thread cancels every running target (each rolls back its migration in
    progress as a single run does), waits for them, and is raised again with the results so far
    in `exc.fleet`.
    """
    if parallel < 1:
        raise UsageError(f"--parallel must be 1 or more (got {parallel})")
    if on_failure not in ON_FAILURE:
        raise UsageError(f"--on-failure must be stop or continue (got {on_failure!r})")
    names = [m.name for m in members]
    canaries = list(dict.fromkeys(canary))
    unknown = [c for c in canaries if c not in names]
    if unknown:
        raise UsageError(f"--canary {', '.join(unknown)}: not among the targets ({', '.join(names)})")
    run = _Run(members, work, parallel, on_failure == "stop", progress, started, cancel)
    first = [m for m in members if m.name in canaries]
    rest = [m for m in members if m.name not in canaries]
    try:
        if first:
            run.all(first)
            if any(run.results[m.name].outcome is not Outcome.OK for m in first):
                run.stopping.set()  # a canary failed: nothing else starts, whatever --on-failure says
        run.all(rest)
    except KeyboardInterrupt as exc:
        run.cancel_all()
        run.finish()
        exc.fleet = run.result(action)  # type: ignore[attr-defined]
        raise
    return run.result(action)


class _Run:
    def __init__(self, members: list[Member], work: Work, parallel: int, stop_on_failure: bool,
                 progress: FleetProgress | None, started: Callable[[str], None] | None,
                 cancel: CancelToken | None = None) -> None:
        self.cancel = cancel
        self.members = members
        self.work = work
        self.stop_on_failure = stop_on_failure
        self.progress = progress
        self.started = started
        self.parallel = parallel
        self.pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="tidemark-fleet")
        self.stopping = threading.Event()
        self.tokens: dict[str, CancelToken] = {}
        self.results: dict[str, MemberResult] = {}
        self.lock = threading.Lock()

    def all(self, members: list[Member]) -> None:
        """Start members as slots free up, until all ran or the stop rule holds the rest back."""
        queue = list(members)
        running: dict[Future[None], str] = {}
        while queue or running:
            while queue and len(running) < self.parallel and not self.stopping.is_set():
                m = queue.pop(0)
                token = CancelToken()
                with self.lock:
                    self.tokens[m.name] = token
                running[self.pool.submit(self._one, m, token)] = m.name
            if self.stopping.is_set():
                for m in queue:
                    self._record(MemberResult(m.name, m.runner.target.display(), Outcome.NOT_STARTED))
                queue = []
            if not running:
                break
            # A timeout keeps the calling thread taking Ctrl-C (and the app's Cancel) while targets run.
            done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
            if self.cancel is not None and self.cancel.cancelled and not self.stopping.is_set():
                self.cancel_all()
            for f in done:
                running.pop(f)
                f.result()

    def _one(self, m: Member, token: CancelToken) -> None:
        if self.started is not None:
            self.started(m.name)
        clock = time.perf_counter()
        target = m.runner.target.display()

        def say(event: ProgressEvent) -> None:
            if self.progress is not None:
                self.progress(m.name, event)

        try:
            if m.unreachable is not None:
                raise TidemarkError(m.unreachable)
            result = self.work(m, token, say)
            outcome, error = Outcome.OK, None
        except LockHeld as exc:
            result, outcome, error = None, Outcome.LOCKED, exc.message
        except Cancelled as exc:
            result = getattr(exc, "completed", None)
            outcome = Outcome.CANCELLED if token.cancelled else Outcome.STOPPED
            error = exc.message
        except TidemarkError as exc:
            result, outcome, error = getattr(exc, "completed", None), Outcome.FAILED, exc.message
        except Exception as exc:  # a bug on one target: recorded there, the others go on by the stop rule
            result, outcome, error = None, Outcome.FAILED, f"internal error: {type(exc).__name__}: {exc}"
        self._record(MemberResult(m.name, target, outcome, result, error, (time.perf_counter() - clock) * 1000))
        if outcome is Outcome.FAILED and self.stop_on_failure:
            self.stop_soon()

    def _record(self, r: MemberResult) -> None:
        with self.lock:
            self.results[r.name] = r

    def stop_soon(self) -> None:
        """No new target; those running stop before their next migration."""
        self.stopping.set()
        with self.lock:
            tokens = list(self.tokens.items())
        for name, token in tokens:
            if name not in self.results:
                token.stop_between()

    def cancel_all(self) -> None:
        self.stopping.set()
        with self.lock:
            tokens = list(self.tokens.values())
        for token in tokens:
            token.cancel()

    def finish(self) -> None:
        self.pool.shutdown(wait=True)

    def result(self, action: str) -> FleetResult:
        self.pool.shutdown(wait=True)
        out = FleetResult(action)
        for m in self.members:
            out.members.append(self.results.get(m.name)
                               or MemberResult(m.name, m.runner.target.display(), Outcome.NOT_STARTED))
        return out


__all__ = [
    "DEFAULT_PARALLEL",
    "ON_FAILURE",
    "FleetResult",
    "Member",
    "MemberResult",
    "Outcome",
    "run_fleet",
    "select",
]
