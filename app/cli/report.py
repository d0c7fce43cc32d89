"""`tidemark report` and `tidemark compare`: the seed's reports and its weekly environment comparison."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli import common
from app.cli.output import Output

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner


def register(sub: argparse._SubParsersAction) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "report", help="a migration report: console, HTML, JSON or PDF",
        description="A migration report: health with its reasons, every migration, batches, rollback history, "
        "performance and warnings. Printed on the console unless --html/--json/--pdf or --output FILE "
        "(the format then follows the extension: .html, .json, .pdf). Files are written atomically.",
    )
    common.connection_options(p)
    common.status_options(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--html", dest="format", action="store_const", const="html",
                     help="one self-contained HTML page (no scripts, nothing loaded from the network)")
    fmt.add_argument("--json", dest="format", action="store_const", const="json",
                     help="one JSON document (schema: resources/report.schema.json)")
    fmt.add_argument("--pdf", dest="format", action="store_const", const="pdf", help="a PDF (needs --output)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("-v", "--verbose", action="store_true", help="console: every migration, batch and rollback")
    p.add_argument("--slowest", type=int, default=10, metavar="N", help="how many slowest migrations (default 10)")
    p.add_argument("--drift", action="store_true",
                   help="add a drift section: the applied migrations replayed on a throwaway local server and the "
                   "schema compared object by object, as `tidemark drift` (nothing is written to the database)")
    p.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                   help="with --drift: leave out objects whose name matches this glob; repeatable")
    p.set_defaults(handler=handle_report, format=None)

    p = sub.add_parser(
        "compare", help="compare environments: migrations side by side, and schema drift",
        description="Read several environments at once and compare them: which migrations each has applied "
        "(and with which checksum), and schema drift: catalog objects that differ although the migrations "
        "agree. Exit 0 when all agree, 1 when they differ, 2 when one cannot be read and the rest agree.",
    )
    p.add_argument("--environments", metavar="LIST",
                   help="saved environments, comma separated, e.g. dev,staging,prod")
    p.add_argument("--dsn-list", metavar="NAME=URL,...", help=argparse.SUPPRESS)  # scripts and tests
    p.add_argument("--migrations-dir", metavar="DIR", type=Path,
                   help="folder of migration files (default: each environment's own, else ./migrations)")
    p.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--html", dest="format", action="store_const", const="html", help="one HTML page")
    fmt.add_argument("--json", dest="format", action="store_const", const="json",
                     help="one JSON document (schema: resources/compare.schema.json)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE (.html or .json; the format follows the extension)")
    p.add_argument("-v", "--verbose", action="store_true", help="console: the whole matrix and each definition")
    p.set_defaults(handler=handle_compare, format=None)


def _format(args: argparse.Namespace, allowed: tuple[str, ...]) -> str:
    from app.core.errors import UsageError
    from app.report.write import check_writable, format_for

    fmt = args.format
    if args.output is not None:
        check_writable(args.output)  # before any database work
        fmt = fmt or format_for(args.output)
    fmt = fmt or "console"
    if fmt not in allowed:
        raise UsageError(f"{args.output}: this command writes {', '.join('.' + a for a in allowed if a != 'console')}"
                         if args.output else f"--{fmt} is not available here")
    if fmt == "pdf" and args.output is None:
        raise UsageError("--pdf writes a file: add --output report.pdf")
    return fmt


def _emit(args: argparse.Namespace, out: Output, fmt: str, content: str | bytes, what: str) -> None:
    from app.report.write import write_atomic

    if args.output is not None:
        write_atomic(args.output, content)
        out.line(f"wrote the {what} ({fmt}) to {args.output}")
        return
    assert isinstance(content, str)
    if fmt == "json":
        out.streams.stdout.write(content)  # JSON escapes its own controls (json_report)
        out.streams.stdout.flush()
    else:
        out.text(content)  # the console report shows names and titles from files


def handle_report(args: argparse.Namespace, out: Output) -> int:
    """Build the report of one database and print or write it (of a fleet: its comparison)."""
    from app.cli import fleet
    from app.core.errors import UsageError
    from app.report import MigrationReporter

    if fleet.requested(args):  # one file for the fleet: migrations x targets, each target's health and drift
        if args.drift:
            raise UsageError("report --drift checks one environment: for a fleet, `tidemark drift --group NAME`")
        fmt = _format(args, ("console", "html", "json"))
        return _fleet_out(args, out, fmt, fleet.fleet_name(args), fleet.members(args))
    fmt = _format(args, ("console", "html", "json", "pdf"))
    if args.slowest < 1:
        raise UsageError("--slowest must be 1 or more")
    if args.ignore and not args.drift:
        raise UsageError("--ignore leaves objects out of the drift check: add --drift")
    runner = common.build_runner(args)
    reporter = MigrationReporter(runner, args.environment, slowest=args.slowest)
    # the check's steps go where the document does not: stderr when the report is on stdout
    report = reporter.generate_report(drift=args.drift, ignore=args.ignore,
                                      say=out.line if args.output is not None else out.error)
    content: str | bytes
    if fmt == "html":
        content = reporter.generate_html_report(report)
    elif fmt == "json":
        content = reporter.generate_json_report(report)
    elif fmt == "pdf":
        content = reporter.generate_pdf_report(report)
    else:
        content = reporter.generate_console_report(report, verbose=args.verbose)
    _emit(args, out, fmt, content, "report")
    return 0


def _fleet_out(args: argparse.Namespace, out: Output, fmt: str, name: str, members: list[Any]) -> int:
    """The fleet's report; exit 0, or 2 when a target could not be read."""
    from app.report import fleet_report as fr

    report = fr.fleet_report(name, members)
    if fmt == "html":
        content = fr.render_html(report)
    elif fmt == "json":
        import json

        from app.core.text import json_safe

        content = json_safe(json.dumps(fr.fleet_dict(report), indent=2, ensure_ascii=False)) + "\n"
    else:
        content = fr.render_console(report, verbose=args.verbose)
    _emit(args, out, fmt, content, "fleet report")
    if fmt != "console":  # for a human; never mixed into a document on stdout
        out.error(f"fleet {name}: {report.count(fr.ATTENTION)} need attention, {report.count(fr.PENDING)} pending, "
                  f"{report.count(fr.CLEAN)} clean")
    return report.exit_code()


def _runners(args: argparse.Namespace) -> list[tuple[str, MigrationRunner]]:
    from app.core.errors import UsageError

    specs: list[tuple[str, argparse.Namespace]] = []
    if args.environments:
        for name in (n.strip() for n in args.environments.split(",")):
            if name:
                specs.append((name, argparse.Namespace(**{**vars(args), "dsn": None, "environment": name})))
    if args.dsn_list:
        for item in (i.strip() for i in args.dsn_list.split(",")):
            name, sep, url = item.partition("=")
            if not sep or not name or not url:
                raise UsageError(f"--dsn-list: {item!r} is not NAME=URL")
            specs.append((name, argparse.Namespace(**{**vars(args), "dsn": url, "environment": None})))
    if len(specs) < 2:
        raise UsageError("compare needs two environments or more: --environments dev,staging,prod")
    # Resolved one after another (a keyring prompt must not interleave); read concurrently later.
    return [(name, common.build_runner(ns)) for name, ns in specs]


def handle_compare(args: argparse.Namespace, out: Output) -> int:
    """Compare environments; exit 1 when they differ."""
    from app.report import MigrationReporter

    fmt = _format(args, ("console", "html", "json"))
    comparison = MigrationReporter.compare_environments(_runners(args))
    return _comparison_out(args, out, fmt, comparison)


def _comparison_out(args: argparse.Namespace, out: Output, fmt: str, comparison: Any) -> int:
    """Print or write a comparison; its exit code."""
    from app.report import console, html
    from app.report.compare import comparison_json

    if fmt == "html":
        content = html.render_comparison(comparison)
    elif fmt == "json":
        content = comparison_json(comparison)
    else:
        content = console.render_comparison(comparison, verbose=args.verbose)
    _emit(args, out, fmt, content, "comparison")
    if fmt != "console":  # the verdict for a human; never mixed into a document on stdout
        verdict = "differ" if comparison.differ else ("could not all be read" if comparison.unreachable
                                                      else "are equal")
        out.error(f"environments {', '.join(comparison.names)} {verdict}")
    return comparison.exit_code()
