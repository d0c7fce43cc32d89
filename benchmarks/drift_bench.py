"""Drift check speed: `tidemark drift` on a target with N applied migrations (target: under 30 s).

    python benchmarks/drift_bench.py [--n 200] [--reps 3] [--server embedded|system-15]

Against a local server this script starts: a database migrated with N migrations (a table, an
index and a function each), then `tidemark drift --dsn ...` as a whole CLI run (start-up, the
throwaway server, the replay, both snapshots). A second database, changed by hand after the
same migrations, must exit 1, so the check is known to have compared something.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.localserver import LocalServer  # noqa: E402
from app.core.pg_binaries import embedded_binaries, system_binaries  # noqa: E402
from benchmarks.engine_bench import make_migrations  # noqa: E402


def timed(cmd: list[str], env: dict[str, str], expect: int) -> float:
    """Wall time of a whole process, which must exit with `expect`."""
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != expect:
        raise SystemExit(f"{' '.join(cmd[3:5])} exited {r.returncode}, not {expect}: "
                         f"{r.stdout[-1500:]}{r.stderr[-1500:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--server", default="embedded")
    args = ap.parse_args()
    binaries = embedded_binaries() if args.server == "embedded" else next(
        b for b in system_binaries() if f"system-{b.major}" == args.server)
    work = Path(tempfile.mkdtemp(prefix="tidemark-drift-bench-"))
    server = LocalServer(work / "data", binaries, socket_dir=work / "sock", fast=True)
    server.init()
    server.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    env["TIDEMARK_HOME"] = str(work / "home")
    tm = [sys.executable, "-m", "app.cli"]
    folder = work / "migrations"
    for i, f in enumerate(make_migrations(folder, args.n)):  # and a function each, for pg_get_functiondef
        f.write_text(f.read_text()
                     + f"CREATE FUNCTION f_{i}(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + {i} $$;\n")
    times: list[float] = []
    try:
        with psycopg.connect(server.socket_dsn(), autocommit=True) as c:
            for name in ("clean", "changed"):
                c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        for name in ("clean", "changed"):
            timed([*tm, "migrate", "--dsn", server.socket_dsn(name), "--migrations-dir", str(folder)], env, 0)
        with psycopg.connect(server.socket_dsn("changed"), autocommit=True) as c:
            c.execute("DROP INDEX t_7_name_idx; ALTER TABLE t_9 ADD COLUMN extra int")
        timed([*tm, "drift", "--dsn", server.socket_dsn("changed"), "--migrations-dir", str(folder)], env, 1)
        for _ in range(args.reps):
            times.append(timed([*tm, "drift", "--dsn", server.socket_dsn("clean"), "--migrations-dir", str(folder)],
                               env, 0))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median(times)
    print(f"\ntidemark drift, {args.n} applied migrations ({args.n * 4} objects and more), PostgreSQL "
          f"{binaries.major} ({binaries.origin}), {os.cpu_count()} cores")
    print(f"median {med:.2f} s, min {min(times):.2f} s, max {max(times):.2f} s over {args.reps} runs (target < 30 s)")
    print("target met" if med < 30 else "TARGET MISSED")


if __name__ == "__main__":
    main()
