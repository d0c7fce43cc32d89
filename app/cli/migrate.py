"""`tidemark migrate` and `tidemark dry-run`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import ci_format, common, fleet
from app.cli.confirm import backup_options, confirmation
from app.cli.output import Output, ProgressPrinter

if TYPE_CHECKING:
    from app.core.results import PlannedMigration, RunResult
    from app.core.runner import MigrationRunner


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    for name, help_text in (
        ("migrate", "run all pending migrations in version order, each in its own transaction"),
        ("dry-run", "show what migrate would run, the locks it takes and the rollback it stores"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        common.connection_options(p)
        if name == "migrate":
            p.add_argument("--dry-run", action="store_true", help="show what would run; change nothing")
        p.add_argument("--target", metavar="NAME", help="stop after this migration (file name or version)")
        p.add_argument("-v", "--verbose", action="store_true", help="print each statement with its time")
        p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        p.add_argument("--allow-modified", action="store_true",
                       help="run even though an applied file changed since")
        p.add_argument("--allow-out-of-order", action="store_true",
                       help="run pending files older than the newest applied one")
        fleet.options(p)
        if name == "migrate":
            common.run_options(p)
            p.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                           help="send each migration only after the previous one committed (for a "
                           "connection pooler that does not support pipelining); slower with many files")
            backup_options(p)
            ci_format.options(p, "migrate")
            _schema_file_options(p)
        p.set_defaults(handler=handle_dry_run if name == "dry-run" else handle_migrate)


def _schema_file_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("schema file")
    g.add_argument("--dump-schema", type=Path, metavar="FILE",
                   help="after the run, write the schema to FILE (pg_dump, deterministic, without history "
                   "rows, owners or privileges): commit it, and review schema changes as a diff")
    g.add_argument("--dump-schema-owners", action="store_true", help="keep the owners in the schema file")
    g.add_argument("--dump-schema-privileges", action="store_true", help="keep GRANTs in the schema file")


def _check_schema_file(args: argparse.Namespace) -> None:
    from app.core.errors import UsageError

    if args.dump_schema is None:
        if args.dump_schema_owners or args.dump_schema_privileges:
            raise UsageError("--dump-schema-owners/--dump-schema-privileges go with --dump-schema FILE")
        return
    if args.dry_run or fleet.requested(args):
        raise UsageError("--dump-schema FILE writes one database's schema after a run: "
                         "not with --dry-run or --environments/--group")
    from app.report.write import check_writable

    check_writable(args.dump_schema)


def _configured_schema_file(folder: Path) -> Path | None:
    """tidemark.toml's `schema_file` for the project of this migrations folder (None: not set)."""
    from app.core.layouts import config

    project = config.find(folder)
    return project.schema_file if project is not None else None


def _write_schema_file(args: argparse.Namespace, out: Output, runner: MigrationRunner) -> None:
    from app.core.schema_file import dump_schema
    from app.report.write import write_atomic

    text = dump_schema(runner.target, owners=args.dump_schema_owners, privileges=args.dump_schema_privileges)
    write_atomic(args.dump_schema, text)
    out.line(f"schema written to {args.dump_schema}")


def handle_migrate(args: argparse.Namespace, out: Output) -> int:
    """Run pending migrations."""
    _check_schema_file(args)
    if args.dry_run:
        return handle_dry_run(args, out)
    ci_format.requested(args)  # a contradiction is a usage error before anything runs
    if fleet.requested(args):
        return _fleet_migrate(args, out)
    from app.core.errors import MigrationFailed

    runner = common.build_runner(args)
    if args.dump_schema is None and (configured := _configured_schema_file(runner.migrations_dir)) is not None:
        from app.report.write import check_writable

        check_writable(configured)  # a wrong path is bad input before anything runs
        args.dump_schema = configured
    out.line(f"migrating {runner.target.display()} from {runner.migrations_dir}")
    from app.core.protection import Action

    confirmed = confirmation(runner.target, args, out, Action.MIGRATE,
                             lambda: [m.name for m in runner.run_migrations(dry_run=True, target=args.target).planned])
    try:
        result = runner.run_migrations(verbose=args.verbose, target=args.target, confirmed=confirmed,
                                       progress=ProgressPrinter(out, verbose=args.verbose))
    except MigrationFailed as exc:
        from app.report.checks import from_run

        failure, done = exc, exc.completed  # the RunResult up to the failure
        ci_format.emit(args, out, lambda: from_run(done, failure, migrations_dir=runner.migrations_dir,  # type: ignore[arg-type]
                                                   target=runner.target.display()))
        if out.json_mode:
            done = exc.completed.to_dict() if exc.completed is not None else {}  # type: ignore[attr-defined]
            out.document({**done, "ok": False, "error": _error_dict(exc)})
        raise
    for w in result.warnings:
        out.line(f"warning: {w}")
    from app.report.checks import from_run

    ci_format.emit(args, out, lambda: from_run(result, migrations_dir=runner.migrations_dir,
                                               target=runner.target.display()))
    if args.dump_schema is not None:
        _write_schema_file(args, out, runner)
    if out.json_mode:
        out.document({**result.to_dict(), "ok": True})
    elif not result.applied:
        out.line("nothing to migrate: the database is up to date")
    else:
        n = len(result.applied)
        out.line(f"applied {n} migration{'s' if n != 1 else ''} in {result.total_ms / 1000:.2f} s "
                 f"(batch {result.batch_id})")
    return 0


def _error_dict(exc: object) -> dict[str, object]:
    info = getattr(exc, "info", None)
    return {
        "message": str(exc),
        "file": str(info.file) if info and info.file else None,
        "line": info.line if info else None,
        "column": info.column if info else None,
        "sqlstate": info.sqlstate if info else None,
        "partial": getattr(exc, "partial", False),
    }


def _fleet_migrate(args: argparse.Namespace, out: Output) -> int:
    from app.core.protection import Action, target_key

    ms = fleet.members(args)
    configured = {f for m in ms if (f := _configured_schema_file(m.runner.migrations_dir)) is not None}
    for f in sorted(configured):
        out.line(f"note: schema_file = {f} (tidemark.toml) is written by a run on one target, not by a fleet run")
    confs = fleet.confirmations(
        ms, args, out, Action.MIGRATE,
        lambda m: [p.name for p in m.runner.run_migrations(dry_run=True, target=args.target).planned])
    result = fleet.run(args, out, ms, "applied", lambda m, token, say: m.runner.run_migrations(
        target=args.target, progress=say, cancel=token, confirmed=confs[target_key(m.runner.target)]))
    from app.report.checks import from_run

    fleet.ci_formats(args, out, result, ms, lambda r, m: from_run(r, migrations_dir=m.runner.migrations_dir))
    fleet.summary(result, out, heading="APPLIED")
    return result.exit_code()


def handle_dry_run(args: argparse.Namespace, out: Output) -> int:
    """Show what would run, changing nothing."""
    if fleet.requested(args):
        ms = fleet.members(args)
        result = fleet.run(args, out, ms, "would run",
                           lambda m, token, say: m.runner.run_migrations(dry_run=True, target=args.target),
                           announce=False, changes=False)
        fleet.summary(result, out, heading="WOULD RUN")
        return result.exit_code()
    runner = common.build_runner(args)
    result = runner.run_migrations(dry_run=True, target=args.target)
    if out.json_mode:
        out.document(result.to_dict())
        return 0
    print_plan(result, out)
    return 0


def print_plan(result: RunResult, out: Output) -> None:
    """The dry run, readable: per file its statements, locks and stored rollback."""
    out.line(f"dry run against {result.target}: nothing is changed")
    if result.layout:
        from app.core.layouts import describe

        out.line(f"layout: {describe(result.layout, result.layout_declared_in)}")
    for w in result.warnings:
        out.line(f"note: {w}")
    if not result.planned:
        out.line("nothing to migrate: the database is up to date")
        return
    for i, m in enumerate(result.planned, start=1):
        _print_one(i, len(result.planned), m, out)
    out.line("")
    out.line(f"{len(result.planned)} migration{'s' if len(result.planned) != 1 else ''} would run")


def _print_one(i: int, n: int, m: PlannedMigration, out: Output) -> None:
    out.line("")
    out.line(f"[{i}/{n}] {m.name}" + (f"  -- {m.title}" if m.title else ""))
    out.line(f"  file: {m.path}")
    if m.transactional:
        out.line("  runs in one transaction with its history row")
    else:
        out.line(f"  runs OUTSIDE a transaction, one statement at a time: {m.non_transactional_reason}")
    if m.own_transaction_removed:
        out.line("  the file's own BEGIN/COMMIT is replaced by Tidemark's transaction")
    for st in m.statements:
        first = st.text.strip().split("\n", 1)[0]
        more = " ..." if "\n" in st.text.strip() else ""
        out.line(f"  line {st.line}: {first[:100]}{more}")
        for lock in st.locks:
            out.line(f"      lock: {lock}")
    out.line(f"  rollback ({m.rollback_kind}):" + (f" {m.rollback_note}" if m.rollback_note else ""))
    if m.rollback_sql:
        for line in m.rollback_sql.splitlines():
            out.line(f"      {line}")
