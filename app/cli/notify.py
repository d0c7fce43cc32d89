"""`tidemark notify add|list|remove|test`: webhook and Slack notifications, their URLs in the keyring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import common
from app.cli.output import Output


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    from app.core.notify.config import EVENTS, KINDS

    text = "notifications of runs, rollbacks, drift and lock waits (webhook or Slack); URLs in the OS keyring"
    p = sub.add_parser("notify", help=text, description=text + ". A notification is a name in environments.toml "
                       "(named by a profile) or in the project's tidemark.toml (every target of the project); its "
                       "URL is a secret, kept in the keyring (or TIDEMARK_NOTIFY_URL_<NAME> where there is none).")
    cmds = p.add_subparsers(dest="notify_command", metavar="ACTION", parser_class=type(p))
    c = cmds.add_parser("add", help="add (or replace) a notification; asks for its URL (hidden)")
    c.add_argument("name", metavar="NAME", help="e.g. ops-slack")
    c.add_argument("--kind", choices=KINDS, required=True, help="webhook (a JSON document) or slack (incoming webhook)")
    c.add_argument("--events", required=True, metavar="E[,E]",
                   help=f"when to send: a comma-separated list of {', '.join(EVENTS)}")
    where = c.add_mutually_exclusive_group(required=True)
    where.add_argument("--env", "--environment", dest="environment", metavar="NAME",
                       help="for this saved environment (repeat `notify add` for more)")
    where.add_argument("--project", action="store_true",
                       help="for every target of the project: in ./tidemark.toml (the URL stays in the keyring)")
    c.add_argument("--timeout", type=common.seconds, metavar="SECONDS",
                   help="the most a delivery may take, its one retry included (default 5)")
    c.add_argument("--lock-wait", type=common.seconds, metavar="SECONDS",
                   help="lock-wait: sent once a run has waited this long for the migration lock (default 60)")
    c.add_argument("--url-stdin", action="store_true", help="read the URL from standard input")
    c.set_defaults(handler=handle_add)
    c = cmds.add_parser("list", help="the notifications: kinds, events, who uses them, whether a URL is stored")
    c.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    c.set_defaults(handler=handle_list)
    c = cmds.add_parser("remove", help="remove a notification and its URL from the keyring")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--project", action="store_true", help="the one in ./tidemark.toml")
    c.set_defaults(handler=handle_remove)
    c = cmds.add_parser("test", help="send a test message to a target's notifications; say what each receiver answered")
    common.connection_options(c)
    c.set_defaults(handler=handle_test)
    p.set_defaults(handler=lambda args, out: _help(p, out))


def _help(p: argparse.ArgumentParser, out: Output) -> int:
    p.print_help(out.streams.stdout)
    return 2


def _read_url(args: argparse.Namespace, out: Output) -> str:
    """--url-stdin, or a hidden prompt on a terminal; never an argument (it would be in the process list)."""
    from app.core.errors import UsageError
    from app.core.notify.config import check_url

    if args.url_stdin:
        url = out.streams.stdin.read().strip()
        if not url:
            raise UsageError("--url-stdin: standard input was empty (pipe the URL in, e.g. "
                             "`printf %s \"$HOOK_URL\" | tidemark notify add ...`)")
        return check_url(url)
    if out.streams.stdin_tty and sys.stdin.isatty():
        import getpass

        return check_url(getpass.getpass(f"URL of notification {args.name} (hidden): "))
    raise UsageError("no terminal to ask for the URL on: pipe it in with --url-stdin")


def handle_add(args: argparse.Namespace, out: Output) -> int:
    """`notify add`."""
    from app.core.notify import config, store

    name = config.check_name(args.name)
    timeout = config.DEFAULT_TIMEOUT_S if args.timeout is None else _positive(args.timeout, "--timeout",
                                                                              config.MAX_TIMEOUT_S)
    lock_wait = config.DEFAULT_LOCK_WAIT_S if args.lock_wait is None else _positive(args.lock_wait, "--lock-wait", None)
    n = config.Notification(name, args.kind, config.parse_events(args.events), timeout, lock_wait,
                            config.PROJECT if args.project else config.ENVIRONMENT)
    store._keyring_ready(name)  # before asking for what cannot be stored
    url = _read_url(args, out)
    path = store.add(n, url, environment=args.environment, project_dir=Path.cwd() if args.project else None)
    who = f"environment {args.environment}" if args.environment else "every target of the project"
    out.line(f"notification {name} ({n.kind}: {', '.join(n.events)}) for {who}, in {path}; its URL is in the keyring")
    return 0


def _positive(value: float, option: str, most: float | None) -> float:
    from app.core.errors import UsageError

    if value <= 0 or (most is not None and value > most):
        raise UsageError(f"{option} must be above 0" + (f" and at most {most:g}" if most else "") + f", not {value:g}")
    return value


def handle_list(args: argparse.Namespace, out: Output) -> int:
    """`notify list`: never a URL, only where it is."""
    from app.core.notify import store

    rows, problem = store.listing(Path.cwd())
    docs = [{"name": r.notification.name, "kind": r.notification.kind, "events": list(r.notification.events),
             "scope": r.notification.scope, "file": r.file, "environments": list(r.environments),
             "timeout_s": r.notification.timeout_s, "lock_wait_s": r.notification.lock_wait_s, "url": r.url}
            for r in rows]
    if out.json_mode:
        out.document({"keyring_problem": problem, "notifications": docs})
        return 0
    if problem:
        out.error(f"note: cannot tell which URLs are stored: {problem}")
    if not rows:
        out.line("no notifications yet; add one with `tidemark notify add NAME --kind slack --events failed "
                 "--env NAME`")
        return 0
    words = {"keyring": "in keyring", "variable": "from variable", "none": "MISSING", "unknown": "unknown"}
    table = [("NAME", "KIND", "EVENTS", "FOR", "URL")]
    for d in docs:
        who = ",".join(d["environments"]) or ("(no environment)" if d["scope"] == "environment" else "project")
        table.append((d["name"], d["kind"], ",".join(d["events"]), who, words[d["url"]]))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for t in table:
        out.line("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)).rstrip())
    return 0


def handle_remove(args: argparse.Namespace, out: Output) -> int:
    """`notify remove`."""
    from app.core.notify import store

    r = store.remove(args.name, project_dir=Path.cwd() if args.project else None)
    extra = " and its URL from the keyring" if r.url_deleted else ""
    named = f" (named by {', '.join(r.environments)})" if r.environments else ""
    out.line(f"removed notification {r.name} from {r.file}{named}{extra}")
    if r.keyring_problem:
        out.error(f"note: its keyring entry could not be checked ({r.keyring_problem})")
    return 0


def handle_test(args: argparse.Namespace, out: Output) -> int:
    """`notify test`: a line per notification with the receiver's answer; exit 1 when one was not delivered."""
    from app.core.errors import UsageError
    from app.core.notify import config, test_message
    from app.core.notify.send import BODIES, Posting

    runner = common.build_runner(args)
    target = runner.target
    notes = config.for_target(target, runner.migrations_dir)
    if not notes:
        raise UsageError(f"{target.environment or target.display()} has no notifications (add one with "
                         "`tidemark notify add NAME --kind slack --events failed --env NAME`)")
    msg = test_message(target.environment or "", target.display())
    postings = []
    for n in notes:
        url, problem = config.url_of(n.name)
        postings.append((n, problem if url is None else Posting(n.name, url, BODIES[n.kind](msg, n.name), n.timeout_s)))
    failed = 0
    for n, p in postings:
        if isinstance(p, str):
            failed += 1
            out.line(f"{n.name} ({n.kind}): not sent: {p}")
            continue
        d = p.result()
        failed += not d.ok
        said = f"the receiver answered {d.status}" if d.status is not None else f"not delivered: {d.problem}"
        tries = f" (after {d.attempts} tries)" if d.attempts > 1 else ""
        out.line(f"{n.name} ({n.kind}): {said}{tries}")
    return 1 if failed else 0
