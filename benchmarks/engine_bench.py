"""Engine speed, side by side with the `psql` floor, in one run (medians of several repetitions).

    python benchmarks/engine_bench.py [--n 1000] [--reps 5] [--server embedded|system-15]

Measures, as whole processes against a local server this script starts:
- apply N small generated migrations from empty: `tidemark migrate` vs the psql floor (one
  psql session, each file in its own transaction with a history INSERT);
- a no-op `tidemark migrate` with N applied;
- `tidemark status` with N applied.
Targets (issue 2): apply <= 1.2 x psql floor; status and no-op migrate <= 0.5 s each.
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

from app.core.files import checksum  # noqa: E402
from app.core.localserver import LocalServer  # noqa: E402
from app.core.pg_binaries import embedded_binaries, system_binaries  # noqa: E402


def make_migrations(folder: Path, n: int) -> list[Path]:
    """N small migrations: a table with a key and an index each."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        version = f"{20260101000000 + i:014d}"
        f = folder / f"{version}_table_{i}.sql"
        f.write_text(f"-- Migration: table {i}\nCREATE TABLE t_{i} (id integer PRIMARY KEY, name text);\n"
                     f"CREATE INDEX t_{i}_name_idx ON t_{i} (name);\n")
        files.append(f)
    return files


def psql_script(files: list[Path], out: Path) -> None:
    """The floor: each file in its own transaction with a history INSERT, in one psql session."""
    lines = ["\\set ON_ERROR_STOP 1",
             "CREATE TABLE IF NOT EXISTS floor_migrations (name text PRIMARY KEY, checksum text, "
             "executed_at timestamptz DEFAULT now());"]
    for f in files:
        lines += ["BEGIN;", f"\\i {f}",
                  f"INSERT INTO floor_migrations (name, checksum) VALUES ('{f.name}', '{checksum(f.read_text())}');",
                  "COMMIT;"]
    out.write_text("\n".join(lines) + "\n")


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall time of a whole process; it must succeed."""
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({r.returncode}): {r.stderr[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--server", default="system-15" if system_binaries() else "embedded")
    args = ap.parse_args()

    # As installed: pip (and the bundle) compile the package's bytecode once. In a source tree
    # with PYTHONDONTWRITEBYTECODE set (this sandbox sets it) every run would compile it again.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "app")], check=True,
                   stdout=subprocess.DEVNULL)
    if args.server == "embedded":
        binaries = embedded_binaries()
    else:
        binaries = next(b for b in system_binaries() if f"system-{b.major}" == args.server)
    # In memory where there is a tmpfs: this VM's disk made single runs vary 1.5-6.5 s.
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="tidemark-bench-", dir=shm if shm.is_dir() else None))
    # fsync off on both sides: the comparison is of round trips and client work, not of this disk
    server = LocalServer(work / "data", binaries, socket_dir=work / "sock", fast=True)
    server.init()
    server.start()
    try:
        admin = server.socket_dsn()
        files = make_migrations(work / "migrations", args.n)
        script = work / "floor.sql"
        psql_script(files, script)
        psql = str(embedded_binaries().tool("psql"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
        env["TIDEMARK_HOME"] = str(work / "home")
        tm = [sys.executable, "-m", "app.cli"]
        results: dict[str, list[float]] = {"psql floor": [], "tidemark migrate": [], "no-op migrate": [],
                                           "status": [], "python+psycopg": []}
        bare = [sys.executable, "-c", "import sys, psycopg; psycopg.connect(sys.argv[1]).execute('select 1')"]
        for rep in range(args.reps):
            for kind in ("floor", "tm"):
                db = f"bench_{kind}_{rep}"
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
                dsn = server.socket_dsn(db)
                if kind == "floor":
                    results["psql floor"].append(timed([psql, "-q", "-X", "-d", dsn, "-f", str(script)], env))
                else:
                    base = ["--dsn", dsn, "--migrations-dir", str(work / "migrations")]
                    results["tidemark migrate"].append(timed([*tm, "migrate", *base], env))
                    results["no-op migrate"].append(timed([*tm, "migrate", *base], env))
                    results["status"].append(timed([*tm, "status", *base], env))
                    results["python+psycopg"].append(timed([*bare, dsn], env))
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(db)))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)  # in /dev/shm it is memory: never leave it behind

    med = {k: statistics.median(v) for k, v in results.items()}
    # Each run times the floor and tidemark back to back: the median of those pairs' ratios
    # holds up when the machine's speed drifts between runs (a shared VM's does).
    ratio = statistics.median(t / f for t, f in zip(results["tidemark migrate"], results["psql floor"], strict=True))
    print(f"\n{args.n} migrations, PostgreSQL {binaries.major} ({binaries.origin}), medians of {args.reps} runs\n")
    print(f"{'measure':<20} {'median s':>9} {'min s':>8} {'max s':>8}  target")
    targets = {"psql floor": "", "tidemark migrate": f"<= 1.2 x floor (median of per-run ratios {ratio:.2f})",
               "no-op migrate": "<= 0.5 s", "status": "<= 0.5 s",
               "python+psycopg": "the least a Python process can do (connect + select 1)"}
    for k, v in results.items():
        print(f"{k:<20} {med[k]:9.3f} {min(v):8.3f} {max(v):8.3f}  {targets[k]}")
    ok = ratio <= 1.2 and med["no-op migrate"] <= 0.5 and med["status"] <= 0.5
    print("\nall targets met" if ok else "\nTARGET MISSED")


if __name__ == "__main__":
    main()
