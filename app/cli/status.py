"""`tidemark status` and `tidemark history`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli import ci_format, common, fleet
from app.cli.output import Output

if TYPE_CHECKING:
    from app.core.status import MigrationInfo, MigrationStatus


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("status", help="every migration with its state, and the health",
                       description="Every migration with its state, and the health. Only reads; exits 0 "
                       "whatever the health unless --check.")
    common.connection_options(p)
    common.status_options(p)
    p.add_argument("-v", "--verbose", action="store_true", help="show checksums, who applied, failures")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--check", action="store_true", help="exit 1 when health is not healthy (CI gate)")
    ci_format.options(p, "status")
    fleet.options(p)
    p.set_defaults(handler=handle_status)

    p = sub.add_parser("history", help="the audit trail: applied and rolled back, by whom, from where, when")
    common.connection_options(p)
    p.add_argument("--limit", type=int, metavar="N", help="only the last N events")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(handler=handle_history)


_BADGE = {
    "applied": "applied",
    "pending": "pending",
    "modified": "MODIFIED",
    "missing": "MISSING",
    "failed": "FAILED",
}


def handle_status(args: argparse.Namespace, out: Output) -> int:
    """Print status; with --check, exit 1 unless healthy."""
    ci = ci_format.requested(args)
    if fleet.requested(args):
        return _fleet_status(args, out)
    runner = common.build_runner(args)
    status = runner.get_migration_status()
    if ci:
        from app.report.checks import from_status

        ci_format.emit(args, out, lambda: from_status(status))
    notes: list[str] = []
    if runner.target.source == "sandbox":
        from app.core.sandbox import notes_for

        notes = notes_for(runner.target)
    if out.json_mode:
        out.document(status.to_dict() | {"notes": notes})
    else:
        print_status(status, out, verbose=args.verbose)
        for note in notes:
            out.line(f"note: {note}")
    if args.check and status.health.value != "healthy":
        return 1
    return 0


def _when(m: MigrationInfo) -> str:
    return m.executed_at.strftime("%Y-%m-%d %H:%M:%S") if m.executed_at else ""


def print_status(status: MigrationStatus, out: Output, *, verbose: bool = False) -> None:
    """The status table and the health with its reasons."""
    out.line(f"database: {status.target} (PostgreSQL {status.server_version})")
    out.line(f"migrations: {status.migrations_dir}")
    if status.layout:
        from app.core.layouts import describe

        out.line(f"layout: {describe(status.layout, status.layout_declared_in)}")
    if not status.history_exists:
        out.line("history tables: not created yet (the first migrate creates them)")
    rows = [("STATE", "MIGRATION", "BATCH", "EXECUTED AT", "TIME", "ROLLBACK")]
    for m in status.migrations:
        ms = f"{m.execution_time_ms} ms" if m.execution_time_ms is not None else ""
        rows.append((_BADGE[m.state.value], m.name, m.batch_id or "", _when(m), ms,
                     (m.rollback_kind or "") + (" (baseline)" if m.baselined else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for m in status.migrations:
        extra = []
        if verbose and m.title:
            extra.append(f"title: {m.title}")
        if verbose and m.description:
            extra.append(f"description: {m.description}")
        if verbose and m.checksum:
            extra.append(f"checksum: {m.checksum}")
        if m.state.value == "modified" or (verbose and m.applied_checksum and m.applied_checksum != m.checksum):
            extra.append(f"applied checksum: {m.applied_checksum}")
        if verbose and m.applied_by:
            extra.append(f"applied by {m.applied_by} (os user {m.os_user} on {m.client_host})")
        if m.failure:
            where = f"{m.failure.file}:{m.failure.line}" if m.failure.line else (m.failure.file or "")
            extra.append(f"failed {m.failure.at:%Y-%m-%d %H:%M:%S}: {where} {m.failure.message}")
        if verbose and m.rollback_note:
            extra.append(f"rollback: {m.rollback_note}")
        if extra:
            out.line(f"  {m.name}:")
            for e in extra:
                out.line(f"      {e}")
    _print_repeatables(status, out)
    counts = ", ".join(f"{n} {state}" for state, n in status.counts.items() if n)
    out.line("")
    n = len(status.migrations)
    out.line(f"{n} migration{'s' if n != 1 else ''}: {counts or 'none'}")
    if status.repeatables:
        by_state: dict[str, int] = {}
        for r in status.repeatables:
            by_state[r.state.value] = by_state.get(r.state.value, 0) + 1
        n = len(status.repeatables)
        out.line(f"{n} repeatable migration{'s' if n != 1 else ''}: "
                 + ", ".join(f"{k} {v}" for v, k in by_state.items()))
    out.line(f"health: {status.health.value.upper()}")
    for r in status.reasons:
        out.line(f"  {r.level.value}: {r.message}")


def _print_repeatables(status: MigrationStatus, out: Output) -> None:
    """Flyway's repeatable migrations, their own kind: they run after the versioned ones, in this order."""
    if not status.repeatables:
        return
    out.line("")
    rows = [("REPEATABLE", "MIGRATION", "RUNS", "EXECUTED AT", "TIME")]
    for r in status.repeatables:
        when = r.executed_at.strftime("%Y-%m-%d %H:%M:%S") if r.executed_at else ""
        ms = f"{r.execution_time_ms} ms" if r.execution_time_ms is not None else ""
        rows.append((r.state.value if r.state.value in ("applied", "pending") else r.state.value.upper(),
                     r.name, str(r.runs) if r.runs else "", when, ms))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def handle_history(args: argparse.Namespace, out: Output) -> int:
    """Print the audit trail."""
    from app.core.jsonable import jsonable

    runner = common.build_runner(args)
    events = runner.history(limit=args.limit)
    if out.json_mode:
        from dataclasses import asdict

        out.document({"events": [jsonable(asdict(e)) for e in events]})
        return 0
    if not events:
        out.line("no history yet")
        return 0
    from app.core.text import visible
    from app.history_words import event_words

    # Newest first, as a DBA reads an audit trail; the reason (or the error) on its row, last, so a
    # long one runs on to the right instead of pushing the other columns.
    rows = [("WHEN", "EVENT", "MIGRATION", "BATCH", "TIME", "BY", "FROM", "REASON / ERROR")]
    for e in reversed(events):
        by = e.db_user or ""
        if e.os_user:
            by += f" ({e.os_user})"
        why = e.reason or ""
        if e.error_message:
            where = f"{e.error_file}:{e.error_line}: " if e.error_file and e.error_line else ""
            why = f"{why}; {where}{e.error_message}" if why else f"{where}{e.error_message}"
        rows.append(tuple(visible(c) for c in (
            f"{e.at:%Y-%m-%d %H:%M:%S}" if e.at else "", event_words(e.event), e.migration_name or "",
            e.batch_id or "", f"{e.execution_time_ms} ms" if e.execution_time_ms is not None else "", by,
            e.client_host or "", " ".join(why.split()))))  # one line: a multi-line error folded
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _fleet_status(args: argparse.Namespace, out: Output) -> int:
    ms = fleet.members(args)
    result = fleet.run(args, out, ms, "status",
                       lambda m, token, say: m.runner.get_migration_status(cancel=token), announce=False, changes=False)
    from app.report.checks import from_status

    fleet.ci_formats(args, out, result, ms, lambda r, m: from_status(r))

    def health(status: MigrationStatus | None) -> str:
        if status is None:
            return ""
        return (f"{status.health.value}: {len(status.applied)} applied, {len(status.pending)} pending"
                + "".join(f", {n} {s}" for s, n in status.counts.items() if n and s not in ("applied", "pending")))

    fleet.summary(result, out, health, heading="HEALTH")
    code = result.exit_code()
    if code == 0 and args.check and any(m.result.health.value != "healthy" for m in result.members):
        return 1
    return code
