"""Report speed, side by side: 10,000 migrations to HTML/JSON/console/PDF, and concurrent compare.

    /tmp/venv/bin/python benchmarks/report_bench.py [--runs 5] [--migrations 10000] [--no-db]

Part 1 builds the report from a synthetic status (no database: the renderers are measured),
plus one real database with 300 applied migrations when a server can be started. Part 2
compares 5 environments, one of which answers its every query after a server-side delay,
and shows the total is about the slowest one, not the sum.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.status import Health, HealthReason, MigrationInfo, MigrationStatus, State
from app.report.model import RollbackEvent, build_report


def synthetic_status(n: int, seed: int = 7) -> tuple[MigrationStatus, list[RollbackEvent]]:
    """A plausible history: batches of ~20 over many days, a few pending, one modified, one missing."""
    rnd = random.Random(seed)
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    infos: list[MigrationInfo] = []
    when = start
    batch = ""
    pending_from = n - max(3, n // 500)
    for i in range(n):
        version = (start + timedelta(minutes=i)).strftime("%Y%m%d%H%M%S")
        name = f"{version}_{rnd.choice(['add', 'alter', 'create', 'backfill', 'index'])}_" \
               f"{rnd.choice(['users', 'orders', 'invoices', 'events', 'accounts'])}_{i}.sql"
        if i >= pending_from:
            infos.append(MigrationInfo(version, name, State.PENDING, title=name[15:-4].replace("_", " "),
                                       checksum=f"{i:064x}"))
            continue
        if i % 20 == 0:
            when += timedelta(days=rnd.choice([0, 1, 1, 2, 3]), minutes=rnd.randint(1, 600))
            batch = when.strftime("%Y%m%dT%H%M%S.000000Z") + f"-{i:06x}"
        ms = int(rnd.lognormvariate(3.5, 1.2))
        state = State.MODIFIED if i == n // 3 else (State.MISSING if i == n // 2 else State.APPLIED)
        when += timedelta(milliseconds=ms + 5)
        infos.append(MigrationInfo(
            version, name, state, title=name[15:-4].replace("_", " "), batch_id=batch, executed_at=when,
            execution_time_ms=ms, rollback_kind="manual" if "backfill" in name else "generated",
            checksum=None if state is State.MISSING else f"{i:064x}",
            applied_checksum=f"{i + (1 if state is State.MODIFIED else 0):064x}", applied_by="deploy",
        ))
    reasons = [HealthReason(Health.ERROR, "modified", f"{infos[n // 3].name} was changed after it was applied",
                            infos[n // 3].name),
               HealthReason(Health.WARNING, "pending", f"{n - pending_from} pending migrations")]
    status = MigrationStatus(infos, Health.ERROR, reasons, True, "17.2", "app", "deploy@db.example.internal:5432/app",
                             "migrations")
    rollbacks = [RollbackEvent(infos[i].name, infos[i].version, infos[i].executed_at, 12, f"rb-{i}", "deploy",
                               "alice", "laptop", f"DROP TABLE IF EXISTS t{i};") for i in range(5, n // 2, n // 20)]
    return status, rollbacks


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls, in ms."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def part_render(n: int, runs: int) -> None:
    from app.report import console, html, json_report, pdf
    from app.report.write import write_atomic

    status, rollbacks = synthetic_status(n)
    folder = Path(tempfile.mkdtemp(prefix="tm-report-bench-"))
    html.environment()  # template compiled once per process, as in the CLI
    report = build_report(status, rollbacks)
    rows = [
        ("build report data", median_ms(lambda: build_report(status, rollbacks), runs)),
        ("HTML render", median_ms(lambda: html.render(report), runs)),
        ("HTML build + render + atomic write", median_ms(
            lambda: write_atomic(folder / "r.html", html.render(build_report(status, rollbacks))), runs)),
        ("JSON build + render + atomic write", median_ms(
            lambda: write_atomic(folder / "r.json", json_report.render(build_report(status, rollbacks))), runs)),
        ("console (verbose)", median_ms(lambda: console.render(report, verbose=True), runs)),
        ("PDF build + render + atomic write", median_ms(
            lambda: write_atomic(folder / "r.pdf", pdf.render(build_report(status, rollbacks))), max(1, runs // 2))),
    ]
    size = (folder / "r.html").stat().st_size
    print(f"\nReport of {n:,} migrations, median of {runs} runs (HTML file {size / 1e6:.1f} MB, "
          f"PDF {(folder / 'r.pdf').stat().st_size / 1e6:.1f} MB)")
    print(f"  {'step':40} {'ms':>9}")
    for label, ms in rows:
        print(f"  {label:40} {ms:9.1f}")
    ok = rows[2][1] <= 1000
    print(f"  target: HTML written in <= 1000 ms: {'met' if ok else 'MISSED'}")


def _start_server():
    from app.core.localserver import LocalServer
    from app.core.pg_binaries import embedded_binaries

    root = Path(tempfile.mkdtemp(prefix="tm-bench-pg-"))
    server = LocalServer(root / "data", embedded_binaries(), socket_dir=Path(tempfile.mkdtemp(prefix="tm-s-")),
                         fast=True)
    server.init()
    server.start()
    return server


def part_database(server, runs: int) -> None:
    import psycopg

    from app.core.connect import Target
    from app.core.runner import MigrationRunner
    from app.report import MigrationReporter

    dsn = server.socket_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_report")
        conn.execute("CREATE DATABASE bench_report")
    db = dsn.replace("dbname=postgres", "dbname=bench_report")
    folder = Path(tempfile.mkdtemp(prefix="tm-bench-mig-"))
    for i in range(1, 301):
        (folder / f"2026010100{i:04d}_t{i}.sql").write_text(f"CREATE TABLE t{i} (id int);\n")
    runner = MigrationRunner(Target(db, "bench"), folder)
    runner.run_migrations()
    reporter = MigrationReporter(runner, "bench")
    print(f"\nReal database, 300 applied migrations, median of {runs} runs")
    print(f"  {'generate_report() (status + rollbacks)':40} {median_ms(reporter.generate_report, runs):9.1f}")
    print(f"  {'generate_html_report()':40} {median_ms(reporter.generate_html_report, runs):9.1f}")


def part_compare(server, runs: int, delay_ms: int = 400) -> None:
    import psycopg

    from app.core.connect import Target
    from app.core.runner import MigrationRunner
    from app.report.compare import _read_one, compare_environments

    class SlowRunner(MigrationRunner):
        """A runner whose server answers late: a server-side pg_sleep before the status query."""

        def get_migration_status(self, *, cancel=None):  # type: ignore[override]
            with psycopg.connect(self.target.dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_sleep(%s)", (delay_ms / 1000,))
            return super().get_migration_status(cancel=cancel)

    dsn = server.socket_dsn()
    folder = Path(tempfile.mkdtemp(prefix="tm-bench-cmp-"))
    for i in range(1, 21):
        (folder / f"2026010100{i:04d}_t{i}.sql").write_text(f"CREATE TABLE t{i} (id int, v text);\n")
    names = [f"bench_env{i}" for i in range(5)]
    runners = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    for i, name in enumerate(names):
        target = Target(dsn.replace("dbname=postgres", f"dbname={name}"), "bench")
        MigrationRunner(target, folder).run_migrations()
        runners.append((name, (SlowRunner if i == len(names) - 1 else MigrationRunner)(target, folder)))
    one = {name: median_ms(lambda n=name, r=r: _read_one(n, r), runs) for name, r in runners}
    total = median_ms(lambda: compare_environments(runners), runs)
    print(f"\nCompare 5 environments (20 migrations each; {names[-1]} answers {delay_ms} ms late), "
          f"median of {runs} runs")
    print(f"  {'environment read alone':40} {'ms':>9}")
    for name, ms in one.items():
        print(f"  {name:40} {ms:9.1f}")
    print(f"  {'sum of the five, one after another':40} {sum(one.values()):9.1f}")
    print(f"  {'compare_environments(all five)':40} {total:9.1f}")
    print(f"  = {total / max(one.values()):.2f}x the slowest one, {total / sum(one.values()):.2f}x the sum")


def main() -> None:
    """Run the benchmarks and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--migrations", type=int, default=10_000)
    parser.add_argument("--no-db", action="store_true", help="skip the parts that need a server")
    args = parser.parse_args()
    part_render(args.migrations, args.runs)
    if args.no_db:
        return
    server = _start_server()
    try:
        part_database(server, args.runs)
        part_compare(server, args.runs)
    finally:
        server.stop("immediate")


if __name__ == "__main__":
    main()
