"""`tidemark import-history --from TOOL`: another tool's applied migrations recorded in ours, running nothing."""

from __future__ import annotations

import argparse

from app.cli import common
from app.cli.output import Output

# The readers of app.core.imports.SOURCES (named here so `--help` imports no driver).
SOURCES = ("flyway", "dbmate", "goose", "golang-migrate", "sqitch", "prisma", "diesel", "supabase")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the command to the parser."""
    p = sub.add_parser(
        "import-history", help="record another tool's applied migrations in Tidemark's history, running nothing",
        description="Read another tool's own history table (flyway_schema_history, dbmate's or golang-migrate's "
        "schema_migrations, goose_db_version, sqitch.changes, _prisma_migrations, __diesel_schema_migrations, "
        "supabase_migrations.schema_migrations), never changing it, and record each migration it applied in "
        "Tidemark's history as baselined, with the file's checksum, so a team switches without re-running "
        "anything. A file changed since that tool applied it (by its checksum) is reported and recorded as "
        "modified. A half-finished migration there, or one with no file here, is an error: nothing is recorded.")
    common.connection_options(p)
    p.add_argument("--from", dest="source", required=True, choices=SOURCES, metavar="|".join(SOURCES),
                   help="the tool whose history to import")
    p.add_argument("--table", metavar="[SCHEMA.]NAME",
                   help="the tool's table where it was told another (Flyway's table/schemas, dbmate's "
                   "--migrations-table, golang-migrate's x-migrations-table, Sqitch's registry: REGISTRY.changes)")
    p.add_argument("--dry-run", action="store_true", help="show what would be imported; change nothing")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask on a protected environment (CI)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(handler=handle_import)


def handle_import(args: argparse.Namespace, out: Output) -> int:
    """Import the tool's history into ours."""
    from app.cli.confirm import confirmation
    from app.core.protection import Action
    from app.core.runner import MigrationRunner
    from app.core.target_folders import migrations_folder

    target = common.build_target(args)
    runner = MigrationRunner(target, migrations_folder(target, args.migrations_dir))
    confirmed = None
    if not args.dry_run:
        confirmed = confirmation(target, args, out, Action.IMPORT,
                                 lambda: runner.import_history(args.source, dry_run=True, table=args.table).imported)
    result = runner.import_history(args.source, dry_run=args.dry_run, table=args.table, confirmed=confirmed)
    if out.json_mode:
        out.document({"source": result.source, "table": result.table, "imported": result.imported,
                      "changed": result.changed, "already": result.already, "dry_run": result.dry_run,
                      "batch_id": result.batch_id})
        return 0
    verb = "would import" if result.dry_run else "imported"
    out.line(f"{result.table} on {target.display()} against {runner.migrations_dir}")
    for name in result.imported:
        note = " (CHANGED since that tool applied it: recorded as modified)" if name in result.changed else ""
        out.line(f"  {verb}: {name}{note}")
    for name in result.already:
        out.line(f"  already in Tidemark's history: {name}")
    n = len(result.imported)
    out.line(f"{verb} {n} migration{'s' if n != 1 else ''} as baselined (nothing ran)"
             + (f" (batch {result.batch_id})" if result.batch_id else ""))
    if result.changed:
        c = len(result.changed)
        out.line(f"{c} file{'s' if c != 1 else ''} changed since applied: `tidemark status` shows "
                 f"{'them' if c != 1 else 'it'} as modified; restore the file, or accept it with "
                 "`tidemark repair NAME --reason ...`")
    return 0
