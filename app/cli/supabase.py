"""`tidemark supabase-status`, `tidemark supabase-shim` (`import-history --from supabase` is app.cli.imports)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli import common
from app.cli.output import Output


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "supabase-status", help="the Supabase project's settings and the Supabase CLI's history beside ours",
        description="Read supabase/config.toml and supabase_migrations.schema_migrations: which versions the "
        "Supabase CLI recorded, which Tidemark recorded, which files exist. Only reads.")
    common.connection_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(handler=handle_status)

    p = sub.add_parser(
        "supabase-shim", help="install the Supabase shim (auth.users, auth.uid(), roles) on a database",
        description="Install Tidemark's Supabase shim: the auth schema with auth.users, auth.uid()/role()/"
        "email()/jwt() reading request.jwt.claims, the roles anon, authenticated and service_role, the "
        "extensions schema with uuid-ossp and pgcrypto where the server has them. A shim for running "
        "Supabase migrations on plain PostgreSQL, not Supabase. Skipped where auth.users exists.")
    common.connection_options(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask on a protected environment (CI)")
    p.set_defaults(handler=handle_shim)


def _folder(args: argparse.Namespace, target: object) -> Path:
    from app.core.files import default_migrations_dir

    folder = args.migrations_dir or getattr(target, "migrations_dir", None) or default_migrations_dir()
    if not args.migrations_dir and getattr(target, "source", "") == "sandbox":
        from app.core.sandbox import migrations_dir_for

        folder = migrations_dir_for(Path.cwd())
    return Path(folder)


def handle_status(args: argparse.Namespace, out: Output) -> int:
    """Show config.toml's settings and both histories side by side."""
    from app.core import history
    from app.core.connect import connect
    from app.core.files import discover
    from app.core.supabase import project_config, shim_state
    from app.core.supabase_history import TABLE, compare, read_rows, table_exists

    target = common.build_target(args)
    folder = _folder(args, target)
    cfg = project_config(Path.cwd(), folder)
    files = discover(folder) if folder.is_dir() else []
    with connect(target) as conn:
        exists = table_exists(conn)
        rows = read_rows(conn)
        ours = {r.version for r in history.read_applied(conn)} if history.tables_exist(conn) else set()
        shim = shim_state(conn)
    entries = compare(files, rows, ours)
    if out.json_mode:
        out.document({
            "config": None if cfg is None else {"path": str(cfg.path), "project_id": cfg.project_id,
                                                "db_port": cfg.db_port, "db_major_version": cfg.db_major_version},
            "supabase_history_exists": exists,
            "auth": shim,
            "migrations": [e.__dict__ for e in entries],
        })
        return 0
    out.line(cfg.summary() if cfg else "no supabase/config.toml here")
    out.line(f"database: {target.display()}")
    out.line({"none": "auth.users: none (`tidemark supabase-shim` installs the shim)",
              "shim": "auth.users: Tidemark's Supabase shim (not Supabase)",
              "supabase": "auth.users: present (Supabase's own)"}[shim])
    if not exists:
        out.line(f"{TABLE}: not in this database (the Supabase CLI has not migrated it)")
    rows_out = [("VERSION", "MIGRATION", "FILE", "SUPABASE CLI", "TIDEMARK")]
    for e in entries:
        rows_out.append((e.version, e.name, "yes" if e.on_disk else "MISSING",
                         "applied" if e.in_supabase else "-", "applied" if e.in_tidemark else "-"))
    widths = [max(len(r[i]) for r in rows_out) for i in range(len(rows_out[0]))]
    for r in rows_out:
        out.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    only_theirs = [e for e in entries if e.in_supabase and not e.in_tidemark]
    if only_theirs:
        out.line(f"{len(only_theirs)} applied by the Supabase CLI only: `tidemark import-history --from supabase` "
                 "records them without running anything")
    return 0


def handle_shim(args: argparse.Namespace, out: Output) -> int:
    """Install the Supabase shim on the target database."""
    from app.cli.confirm import confirmation
    from app.core.protection import Action
    from app.core.supabase import apply_shim

    target = common.build_target(args)
    result = apply_shim(target, confirmation(target, args, out, Action.SHIM))
    out.line(f"{target.display()}: {result.message}")
    if result.extensions:
        out.line(f"extensions in schema extensions: {', '.join(result.extensions)}")
    return 0
