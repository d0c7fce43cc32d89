"""The report on a fleet (`tidemark report --group G`): the comparison's matrix, failures first.

A fleet report is a comparison of its targets (app/report/compare.py: the migrations x targets
matrix, each target's health, schema drift among those that agree) with the targets ranked so
that what needs a person comes first: ATTENTION (unreachable, or failed, modified or missing
migrations, or health error), then PENDING (migrations to run), then CLEAN; by name within
each. The matrix's columns, the cards and the JSON's `environments` all follow that order.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.report.compare import Comparison, _Read, build_comparison, comparison_dict, read_environments

ATTENTION, PENDING, CLEAN = "attention", "pending", "clean"
RANKS = (ATTENTION, PENDING, CLEAN)


@dataclass(frozen=True)
class TargetHealth:
    """Where one target stands in the fleet: its rank and why (the health's reasons, or the read error)."""

    name: str
    rank: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class FleetReport:
    """A fleet's comparison (targets in rank order) and each target's rank."""

    fleet: str
    comparison: Comparison
    targets: tuple[TargetHealth, ...]

    def count(self, rank: str) -> int:
        """How many targets have this rank."""
        return sum(1 for t in self.targets if t.rank == rank)

    def exit_code(self) -> int:
        """2 when a target could not be read, else 0 (a report describes; it does not judge)."""
        return 2 if self.comparison.unreachable else 0


def rank_of(read: _Read) -> TargetHealth:
    """A target's rank from what was read of it."""
    r = read.result
    if not r.reachable or read.status is None:
        return TargetHealth(r.name, ATTENTION, (r.error or r.label,))
    status = read.status
    reasons = tuple(x.message for x in status.reasons)
    counts = status.counts
    if any(counts.get(s) for s in ("failed", "modified", "missing")) or status.health.value == "error":
        return TargetHealth(r.name, ATTENTION, reasons)
    if counts.get("pending"):
        return TargetHealth(r.name, PENDING, reasons)
    return TargetHealth(r.name, CLEAN, reasons)


def order(reads: list[_Read]) -> tuple[list[_Read], list[TargetHealth]]:
    """The reads and their ranks, failures first, then pending, then clean; by name within each."""
    ranked = sorted(((rank_of(r), r) for r in reads), key=lambda p: (RANKS.index(p[0].rank), p[0].name))
    return [r for _, r in ranked], [t for t, _ in ranked]


def fleet_report(fleet: str, environments: Iterable[Any]) -> FleetReport:
    """Read every target concurrently and build the fleet's report."""
    start = time.perf_counter()
    reads, targets = order(read_environments(environments))
    comparison = build_comparison(reads, elapsed_ms=(time.perf_counter() - start) * 1000)
    return FleetReport(fleet, comparison, tuple(targets))


def fleet_dict(report: FleetReport) -> dict[str, Any]:
    """The comparison's document (resources/compare.schema.json) with the fleet's name, counts and ranks."""
    doc = comparison_dict(report.comparison)
    ranks = {t.name: t for t in report.targets}
    doc["environments"] = [e | {"rank": ranks[e["name"]].rank, "reasons": list(ranks[e["name"]].reasons)}
                           for e in doc["environments"]]
    doc["fleet"] = {"name": report.fleet, "counts": {r: report.count(r) for r in RANKS}}
    return doc


def render_html(report: FleetReport) -> str:
    """One self-contained HTML page."""
    from app.core.text import visible
    from app.report.html import environment, when

    c = report.comparison
    template = environment().get_template("fleet.html.j2")
    return visible(template.render(r=report, c=c, ranks={t.name: t for t in report.targets},
                                   generated=when(c.generated_at), tool_version=c.tool_version))


def render_console(report: FleetReport, *, verbose: bool = False) -> str:
    """The fleet's targets by rank, then the comparison as `compare` prints it."""
    from app.report import console

    lines = [f"fleet {report.fleet}: {report.count(ATTENTION)} need attention, {report.count(PENDING)} pending, "
             f"{report.count(CLEAN)} clean (of {len(report.targets)})"]
    envs = {e.name: e for e in report.comparison.environments}
    for t in report.targets:
        e = envs[t.name]
        lines.append(f"  {t.rank:<9}  {t.name}  {e.label}" + (f": {t.reasons[0]}" if t.reasons else ""))
    return "\n".join(lines) + "\n\n" + console.render_comparison(report.comparison, verbose=verbose)


__all__ = ["ATTENTION", "CLEAN", "PENDING", "RANKS", "FleetReport", "TargetHealth", "fleet_dict", "fleet_report",
           "rank_of", "render_console", "render_html"]
