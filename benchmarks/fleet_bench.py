"""Fleet speed, side by side in one run (medians of several repetitions).

    python benchmarks/fleet_bench.py [--targets 20] [--n 50] [--reps 3] [--server embedded|system-15]

Against a local server this script starts, with TARGETS databases saved as environments of one group:
- `tidemark status --group bench` vs the slowest `tidemark status --env ONE` of the same targets
  (target: <= 1.5 x);
- `tidemark migrate --group bench --parallel 8` vs `--parallel 1`, N small migrations per target, from
  empty (target: <= 0.3 x). Every process is a whole CLI run, as a user's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.localserver import LocalServer, embedded_binaries, system_binaries  # noqa: E402
from benchmarks.engine_bench import make_migrations  # noqa: E402
from benchmarks.engine_bench import timed as run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=20)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--server", default="embedded")
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "app")], check=True,
                   stdout=subprocess.DEVNULL)
    binaries = embedded_binaries() if args.server == "embedded" else next(
        b for b in system_binaries() if f"system-{b.major}" == args.server)
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="tidemark-fleet-bench-", dir=shm if shm.is_dir() else None))
    server = LocalServer(work / "data", binaries, socket_dir=work / "sock", fast=True)
    server.init()
    server.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    env["TIDEMARK_HOME"] = str(work / "home")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # no keyring daemon needed here
    tm = [sys.executable, "-m", "app.cli"]
    names = [f"b{i:02d}" for i in range(args.targets)]
    folder = work / "migrations"
    make_migrations(folder, args.n)
    admin = server.socket_dsn()
    results: dict[str, list[float]] = {"status, fleet": [], "status, slowest single": [],
                                       "migrate --parallel 1": [], "migrate --parallel 8": []}
    try:
        for name in names:
            run([*tm, "env", "add", name, "--dsn", server.socket_dsn(name), "--migrations-dir", str(folder),
                 "--group", "bench", "--no-protected"], env)

        def fresh() -> None:
            with psycopg.connect(admin, autocommit=True) as c:
                for name in names:
                    c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                    c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

        for _ in range(args.reps):
            for parallel in ("1", "8"):
                fresh()
                results[f"migrate --parallel {parallel}"].append(
                    run([*tm, "migrate", "--group", "bench", "--parallel", parallel], env))
            results["status, fleet"].append(run([*tm, "status", "--group", "bench", "--parallel", "8"], env))
            results["status, slowest single"].append(max(run([*tm, "status", "--env", n], env) for n in names))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    status_ratio = statistics.median(
        f / s for f, s in zip(results["status, fleet"], results["status, slowest single"], strict=True))
    migrate_ratio = statistics.median(
        p8 / p1 for p8, p1 in zip(results["migrate --parallel 8"], results["migrate --parallel 1"], strict=True))
    print(f"\n{args.targets} targets x {args.n} migrations, PostgreSQL {binaries.major} ({binaries.origin}), "
          f"{os.cpu_count()} cores, medians of {args.reps} runs\n")
    print(f"{'measure':<24} {'median s':>9} {'min s':>8} {'max s':>8}")
    for k, v in results.items():
        print(f"{k:<24} {med[k]:9.3f} {min(v):8.3f} {max(v):8.3f}")
    print(f"\nstatus of the fleet / slowest single status: {status_ratio:.2f} (target <= 1.5)")
    print(f"migrate --parallel 8 / --parallel 1:        {migrate_ratio:.2f} (target <= 0.3)")
    print("\nall targets met" if status_ratio <= 1.5 and migrate_ratio <= 0.3 else "\nTARGET MISSED")


if __name__ == "__main__":
    main()
