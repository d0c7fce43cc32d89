"""`tidemark env add|edit|list|remove|test NAME`: connection profiles, passwords in the keyring."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.output import Output

if TYPE_CHECKING:

    from app.core.environments import Profile


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser("env", help="saved environments (connection profiles); passwords in the OS keyring",
                       description="Saved environments (connection profiles). Passwords live only in the OS "
                       "keyring; without one, libpq's PGPASSWORD and ~/.pgpass are used.")
    cmds = p.add_subparsers(dest="env_command", metavar="ACTION", parser_class=type(p))
    for name, help_text in (("add", "add an environment"), ("edit", "change an environment's fields or password")):
        c = cmds.add_parser(name, help=help_text, description=help_text)
        c.add_argument("name", metavar="NAME", help="the environment, e.g. staging or production")
        _profile_options(c, edit=name == "edit")
        c.set_defaults(handler=handle_save, editing=name == "edit")
    c = cmds.add_parser("list", help="the environments, and whether a password is stored")
    c.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    c.set_defaults(handler=handle_list)
    c = cmds.add_parser("remove", help="remove an environment and its keyring entry")
    c.add_argument("name", metavar="NAME")
    c.set_defaults(handler=handle_remove)
    c = cmds.add_parser("test", help="connect; show server version, user, missing privileges, latency")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    c.set_defaults(handler=handle_test)
    p.set_defaults(handler=lambda args, out: _help(p, out))


def _help(p: argparse.ArgumentParser, out: Output) -> int:
    p.print_help(out.streams.stdout)
    return 2


def _profile_options(c: argparse.ArgumentParser, *, edit: bool) -> None:
    g = c.add_argument_group("connection (a DSN without password, a libpq service, or separate fields)")
    g.add_argument("--dsn", metavar="URL", help="e.g. postgresql://deploy@db.example.com:5432/app")
    g.add_argument("--service", metavar="NAME", help="a libpq service name (pg_service.conf)")
    g.add_argument("--host", metavar="HOST")
    g.add_argument("--port", type=int, metavar="PORT")
    g.add_argument("--database", "--dbname", dest="database", metavar="DB")
    g.add_argument("--user", metavar="USER")
    g.add_argument("--sslmode", metavar="MODE", help="disable, allow, prefer, require, verify-ca, verify-full")
    g.add_argument("--sslrootcert", metavar="FILE", help="root certificate for verify-ca / verify-full")
    g.add_argument("--sslcert", metavar="FILE", help="client certificate (certificate authentication)")
    g.add_argument("--sslkey", metavar="FILE", help="the client certificate's private key (mode 0600)")
    g.add_argument("--ssh", metavar="HOP", help="SSH hop: [user@]host[:port] or a Host alias of ~/.ssh/config; "
                   "the database host is then as the hop sees it")
    g = c.add_argument_group("profile")
    g.add_argument("--migrations-dir", metavar="DIR", help="this environment's migrations folder")
    g.add_argument("--protected", dest="protected", action="store_true", default=None,
                   help="ask to type the name before migrate/rollback (default for names containing 'prod')")
    g.add_argument("--no-protected", dest="protected", action="store_false")
    g.add_argument("--colour", "--color", dest="colour", metavar="COLOUR", help="#rrggbb or a colour name")
    g.add_argument("--group", dest="groups", action="append", metavar="NAME",
                   help="a group (tag) a fleet command selects it by, e.g. tenants; repeat for several"
                   + ("; replaces the groups it had" if edit else ""))
    if edit:
        g.add_argument("--no-groups", action="store_true", help="remove it from every group")
    g.add_argument("--databases", metavar="PATTERN",
                   help="a fleet: every database of the server whose name is LIKE PATTERN, e.g. 'tenant_%%'")
    g.add_argument("--schemas", metavar="PATTERN",
                   help="a fleet: every schema of the database whose name is LIKE PATTERN, e.g. 'tenant_%%'; "
                   "each keeps its own history and runs with search_path set to it, then public")
    g = c.add_argument_group("password (stored only in the OS keyring)")
    g.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    g.add_argument("--password-command", metavar="COMMAND",
                   help="instead of a stored password: a command whose output is the password, run for each "
                   "connection (tokens: aws rds generate-db-auth-token, gcloud sql generate-login-token, az ...)")
    if edit:
        g.add_argument("--forget-password", action="store_true", help="delete the stored password")


def handle_save(args: argparse.Namespace, out: Output) -> int:
    """`env add` / `env edit`."""
    from app.core import environments as envs
    from app.core.errors import UsageError

    profile = _build_profile(args)
    if args.password_stdin and profile.password_command:
        raise UsageError("give either --password-stdin or a password command, not both (a password command "
                         f"replaces the stored password; remove it with `tidemark env edit {profile.name} "
                         "--password-command ''`)")
    password = _read_password(args, out, profile)
    if args.editing and args.forget_password:
        if password:
            raise UsageError("give either --password-stdin or --forget-password, not both")
        from app.core import passwords

        if passwords.delete_password(profile.name):
            out.line(f"deleted the stored password of {profile.name}")
    result = envs.save_environment(profile, password)
    p = result.profile
    verb = "updated" if args.editing else "added"
    out.line(f"{verb} environment {p.name}: {p.display()}" + (" (protected)" if p.protected else ""))
    if result.password_from_dsn:
        out.line("the password in the DSN was removed from it and stored in the keyring (a password on the "
                 "command line can be seen in the process list: use --password-stdin next time)")
    elif result.password_stored:
        out.line(f"password stored in the keyring (service 'tidemark', account '{p.name}')")
    elif p.password_command:
        out.line("password: the password command's output, run for each connection (never stored)")
    elif not args.editing:
        out.line("no password stored: libpq will use PGPASSWORD or ~/.pgpass if the server asks for one")
    return 0


def _build_profile(args: argparse.Namespace) -> Profile:
    from dataclasses import replace

    from app.core import environments as envs
    from app.core.errors import UsageError

    given = {k: getattr(args, k) for k in ("host", "port", "database", "user", "service", "sslmode",
                                           "sslrootcert", "dsn", "migrations_dir", "protected", "colour",
                                           "databases", "schemas", "sslcert", "sslkey", "ssh", "password_command")}
    if args.groups is not None:
        if getattr(args, "no_groups", False):
            raise UsageError("give --group or --no-groups, not both")
        given["groups"] = tuple(dict.fromkeys(args.groups))  # in the order given, once each
    elif getattr(args, "no_groups", False):
        given["groups"] = ()
    for key in ("sslrootcert", "sslcert", "sslkey", "migrations_dir"):  # relative to where it was typed
        if given[key]:
            given[key] = str(Path(given[key]).expanduser().resolve())
    if given["dsn"] and any(given[k] is not None for k in envs.CONNECTION_FIELDS):
        raise UsageError("give either --dsn or --host/--port/--database/--user/--service, not both")
    if not args.editing:
        existing = {p.name for p in envs.list_environments()}
        if args.name in existing:
            raise UsageError(f"environment {args.name!r} exists already: change it with "
                             f"`tidemark env edit {args.name}`, or remove it first")
        return envs.Profile(name=args.name, **given)
    profile = envs.get_environment(args.name)
    changes = {k: v for k, v in given.items() if v is not None}
    if given["dsn"]:  # a DSN replaces the separate connection fields, and the reverse
        changes.update({k: None for k in envs.CONNECTION_FIELDS})
    elif any(given[k] is not None for k in envs.CONNECTION_FIELDS):
        changes["dsn"] = None
    return replace(profile, **changes)


def _read_password(args: argparse.Namespace, out: Output, profile: Profile) -> str | None:
    """--password-stdin, a hidden prompt on a terminal (add only), or none."""
    from app.core.environments import split_password
    from app.core.errors import UsageError

    if args.password_stdin:
        text = out.streams.stdin.read()
        password = text[:-1] if text.endswith("\n") else text
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise UsageError("--password-stdin: standard input was empty (pipe the password in, e.g. "
                             "`printf %s \"$PW\" | tidemark env add ...`)")
        return password
    if args.editing or profile.password_command or (profile.dsn and split_password(profile.dsn)[1] is not None):
        return None
    if out.streams.stdin_tty and sys.stdin.isatty():
        import getpass

        from app.core.passwords import keyring_status

        problem = keyring_status().problem
        if problem:  # do not ask for what cannot be stored
            out.error(f"note: no password asked: {problem}")
            return None

        return getpass.getpass(f"Password for {profile.name} (empty: none, use PGPASSWORD or ~/.pgpass): ") or None
    return None


def handle_list(args: argparse.Namespace, out: Output) -> int:
    """`env list`."""
    from app.core import environments as envs
    from app.core import passwords

    profiles = envs.list_environments()
    problem = passwords.keyring_status().problem if profiles else None
    rows = []
    for p in profiles:
        stored = None if problem else envs.password_stored(p.name)
        rows.append({"name": p.name, "target": p.display(), "protected": bool(p.protected), "colour": p.colour,
                     "groups": list(p.groups), "migrations_dir": p.migrations_dir, "password_stored": stored,
                     "password_command": bool(p.password_command), "ssh": p.ssh,
                     "databases": p.databases, "schemas": p.schemas})
    if out.json_mode:
        out.document({"file": str(envs.environments_file()), "keyring_problem": problem, "environments": rows})
        return 0
    if problem:
        out.error(f"note: cannot tell which passwords are stored: {problem}")
    if not rows:
        out.line(f"no environments yet ({envs.environments_file()}); add one with "
                 "`tidemark env add NAME --dsn postgresql://user@host/db`")
        return 0
    table = [("NAME", "TARGET", "PROTECTED", "GROUPS", "COLOUR", "PASSWORD")]
    for r in rows:
        pw = {True: "keyring", False: "none", None: "unknown"}[r["password_stored"]]
        pw = "command" if r["password_command"] else pw
        target = r["target"] + "".join(f" ({k} {r[k]})" for k in ("databases", "schemas") if r[k])
        table.append((r["name"], target, "yes" if r["protected"] else "no", ",".join(r["groups"]),
                      r["colour"] or "", pw))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for t in table:
        out.line("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)).rstrip())
    return 0


def handle_remove(args: argparse.Namespace, out: Output) -> int:
    """`env remove`."""
    from app.core import environments as envs

    result = envs.delete_environment(args.name)
    extra = " and its password from the keyring" if result.password_deleted else ""
    out.line(f"removed environment {result.name}{extra}")
    if result.keyring_problem:
        out.error(f"note: its keyring entry could not be checked ({result.keyring_problem.split(';')[0]})")
    return 0


def handle_test(args: argparse.Namespace, out: Output) -> int:
    """`env test`: exit 0 when migrations can run, 1 when privileges are missing."""
    from app.core import environments as envs

    check = envs.test_environment(args.name, notify=out.error, ask_password=ask_password_if_tty)
    if out.json_mode:
        out.document(check.to_dict())
        return 0 if check.ok else 1
    out.line(f"environment: {check.environment} ({check.target})")
    from app.core.envcheck import hop_lines

    for line in hop_lines(check):
        out.line(line)
    out.line(f"server:      PostgreSQL {check.server_version}")
    out.line(f"user:        {check.current_user}" + (" (superuser)" if check.is_superuser else " (not superuser)"))
    out.line(f"database:    {check.database}")
    if check.missing_privileges:
        out.line(f"missing:     {', '.join(check.missing_privileges)} (migrations may fail: grant them)")
    else:
        out.line("privileges:  everything migrations need")
    out.line(f"latency:     {check.latency_ms:.2f} ms per round trip (connect {check.connect_ms:.0f} ms)")
    return 0 if check.ok else 1


# --- used by every engine command ------------------------------------------------------------------

_noted: set[str] = set()  # the notes said in this command (main() clears it: tests run many in one process)


def forget_notes() -> None:
    """A new command: its notes are said again."""
    _noted.clear()


def notice(text: str) -> None:
    """A one-line note on stderr (the keyring fallback), once per process for the same cause: a fleet
    of 100 environments on a machine without a keyring says it once, not 100 times."""
    import re

    from app.core.errors import redact
    from app.core.text import visible

    cause = re.sub(r"'[^']*'", "''", text)
    if cause in _noted:
        return
    _noted.add(cause)
    sys.stderr.write(visible(redact(text)) + "\n")
    sys.stderr.flush()


def ask_password_if_tty(prompt: str) -> str | None:
    """A hidden prompt when a person is at a terminal and libpq has no other password source."""
    if os.environ.get("PGPASSWORD") or not sys.stdin.isatty():
        return None
    passfile = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    if passfile.is_file():
        return None
    import getpass

    try:
        return getpass.getpass(prompt) or None
    except EOFError:
        return None


def resolver():
    """resolve_environment with the CLI's note line and password prompt."""
    from functools import partial

    from app.core.environments import resolve_environment

    return partial(resolve_environment, notify=notice, ask_password=ask_password_if_tty)
