"""`tidemark supabase-status`, `tidemark supabase-shim` (`import-history --from supabase` is app.cli.imports)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli import common
from app.cli.output import Output
from app.core.supabase_status import SHIM_CONTENTS  # no psycopg at import: fine for --help


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
        description=f"Install Tidemark's Supabase shim: {SHIM_CONTENTS}")
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
    from app.core.files import discover
    from app.core.supabase import config_candidates, project_config
    from app.core.supabase_status import HEADERS, read_status

    target = common.build_target(args)
    folder = _folder(args, target)
    cfg = project_config(Path.cwd(), folder)
    status = read_status(target, discover(folder) if folder.is_dir() else [], cfg,
                         tuple(config_candidates(Path.cwd(), folder)))
    if out.json_mode:
        out.document({
            "config": None if cfg is None else {"path": str(cfg.path), "project_id": cfg.project_id,
                                                "db_port": cfg.db_port, "db_major_version": cfg.db_major_version},
            "supabase_history_exists": status.history_exists,
            "auth": status.auth,
            "migrations": [e.__dict__ for e in status.entries],
        })
        return 0
    out.line(status.config_line())
    out.line(f"database: {target.display()}")
    out.line(status.auth_line())
    if (missing := status.history_line()) is not None:
        out.line(missing)
    rows_out = [HEADERS, *status.rows()]
    widths = [max(len(r[i]) for r in rows_out) for i in range(len(HEADERS))]
    for r in rows_out:
        out.line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if (advice := status.advice()) is not None:
        out.line(advice)
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
