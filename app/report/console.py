"""The report as plain text for a terminal or a CI log: a summary, everything with `verbose`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.core.text import counted
from app.report.html import duration, when
from app.report.model import Report

if TYPE_CHECKING:
    from app.report.compare import Comparison

RECENT = 5  # batches and rollbacks shown without --verbose


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render(report: Report, *, verbose: bool = False) -> str:
    """The text of a report; `verbose` lists every migration, batch and rollback."""
    c, p = report.counts, report.performance
    lines = [report.title, "=" * len(report.title)]
    if report.environment:
        lines.append(f"environment: {report.environment}")
    lines += [
        f"server:      {report.server.target} (PostgreSQL {report.server.version}, database {report.server.database})",
        f"migrations:  {report.migrations_dir}",
        f"generated:   {when(report.generated_at)} UTC",
        "",
        f"HEALTH: {report.health.upper()}",
    ]
    lines += [f"  {r.level}: {r.message}" for r in report.reasons]
    lines += [
        "",
        f"{counted(c['total'], 'migration')}: {c['applied']} applied, {c['pending']} pending, "
        f"{c['modified']} modified, {c['missing']} missing, {c['failed']} failed; "
        f"{counted(len(report.batches), 'batch')}, {counted(len(report.rollbacks), 'rollback')}",
        "",
        "Performance",
        f"  total {duration(p.total_ms) or '0 ms'}, average {duration(p.average_ms) or '0 ms'}, "
        f"median {duration(p.median_ms) or '0 ms'} over {p.measured} timed migrations",
    ]
    if p.slowest:
        lines.append("  slowest:")
        lines += _table([(t.name, duration(t.execution_time_ms)) for t in p.slowest], indent="    ")
    if report.warnings:
        lines += ["", "Warnings"]
        for w in report.warnings:
            lines.append(f"  {w.level}: {w.message}")
            shown = w.migrations if verbose else w.migrations[:5]
            lines += [f"      {name}" for name in shown]
            if len(shown) < len(w.migrations):
                lines.append(f"      ... and {len(w.migrations) - len(shown)} more (--verbose lists all)")
    if report.drift is not None:
        d = report.drift
        lines += ["", "Drift against the files", f"  {d.verdict}"]
        lines += [f"  note: {n}" for n in d.notes]
        for x in d.differences:
            lines.append(f"  {x.words}")
            if verbose:
                lines.append(f"      files:  {x.files if x.files is not None else '(none)'}")
                lines.append(f"      target: {x.target if x.target is not None else '(none)'}")
    batches = report.batches if verbose else report.batches[-RECENT:]
    if batches:
        title = "Batches" if verbose else f"Recent batches ({len(batches)} of {len(report.batches)})"
        lines += ["", title]
        lines += _table([("BATCH", "STARTED (UTC)", "MIGRATIONS", "TOTAL")]
                        + [(b.batch_id, when(b.started_at), str(b.count), duration(b.total_ms))
                           for b in reversed(batches)])
    rollbacks = report.rollbacks if verbose else report.rollbacks[-RECENT:]
    if rollbacks:
        title = "Rollbacks" if verbose else f"Recent rollbacks ({len(rollbacks)} of {len(report.rollbacks)})"
        lines += ["", title]
        lines += _table([("ROLLED BACK (UTC)", "MIGRATION", "TIME", "BY")]
                        + [(when(r.rolled_back_at), r.migration, duration(r.execution_time_ms),
                            r.rolled_back_by or "") for r in reversed(rollbacks)])
    if verbose:
        lines += ["", "Migrations"]
        lines += _table([("STATE", "MIGRATION", "BATCH", "EXECUTED AT (UTC)", "TIME", "ROLLBACK", "CHECKSUM")]
                        + [(m.state, m.name, (m.batch_id or "")[:22], when(m.executed_at),
                            duration(m.execution_time_ms), m.rollback_kind or "",
                            (m.applied_checksum or m.checksum or "")[:12]) for m in report.migrations])
    else:
        todo = [m for m in report.migrations if m.state != "applied"]
        if todo:
            lines += ["", "Not applied as on disk"]
            lines += _table([("STATE", "MIGRATION")] + [(m.state, m.name) for m in todo])
        lines += ["", "(--verbose lists every migration, batch and rollback)"]
    return "\n".join(lines) + "\n"


def render_comparison(c: Comparison, *, verbose: bool = False) -> str:
    """The text of an environment comparison; `verbose` shows the whole matrix and each drifted definition."""
    verdict = "DIFFERENT" if c.differ else ("INCOMPLETE" if c.unreachable else "EQUAL")
    lines = [f"Environment comparison: {', '.join(c.names)}", "",
             f"RESULT: {verdict} ({counted(len(c.environments), 'environment')} read in {duration(c.elapsed_ms)})", ""]
    lines += _table([("ENVIRONMENT", "TARGET", "STATUS", "SERVER", "APPLIED", "PENDING", "TIME")]
                    + [(e.name, e.target, e.label, e.server_version or "",
                        str(e.counts["applied"]) if e.counts else "", str(e.counts["pending"]) if e.counts else "",
                        duration(e.elapsed_ms)) for e in c.environments])
    for e in c.environments:
        if e.error:
            lines.append(f"  {e.name}: {e.error}")
        if e.catalog_error:
            lines.append(f"  {e.name}: {e.catalog_error}")
    rows = c.matrix if verbose else c.differing_rows
    if rows:
        lines += ["", "Migrations" if verbose else "Migrations that differ"]
        lines += _table([("MIGRATION", *c.names, "CHECKSUM")]
                        + [(r.name, *[(cell.state if cell else "not read") for cell in r.cells],
                            "same" if r.same_checksum else "DIFFERS") for r in rows])
    if c.drift:
        lines += ["", f"Schema drift ({counted(len(c.drift), 'object')}; "
                      "environments with the same migrations compared)"]
        for d in c.drift:
            lines.append(f"  {d.words}")
            if verbose:
                lines.append(f"      {d.reference}: {d.before if d.before is not None else '(absent)'}")
                lines.append(f"      {d.environment}: {d.after if d.after is not None else '(absent)'}")
    if not c.differences:
        lines += ["", "Same migrations, same checksums, same schema everywhere."]
    return "\n".join(lines) + "\n"
