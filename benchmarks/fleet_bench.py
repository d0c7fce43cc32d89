"""Fleet speed, side by side in one run (medians of several repetitions).

    python benchmarks/fleet_bench.py [--targets 20] [--n 50] [--reps 3] [--server embedded|system-15]
                                     [--schemas 500] [--only all|speed|memory] [--rtt MS]

Against a local server this script starts, with TARGETS databases saved as environments of one group:
- `tidemark status --group bench --parallel TARGETS` (all at once: a status takes no lock) vs the
  slowest `tidemark status --env ONE` of the same targets (target: <= 1.5 x);
- `tidemark migrate --group bench --parallel 8` vs `--parallel 1`, N small migrations per target, from
  empty (target: <= 0.3 x). Every process is a whole CLI run, as a user's. Beside each migrate: the
  client's CPU (user+sys of the process) and the server's (its backends' CPU, read from the
  postmaster's reaped-children times), so a missed ratio says where the time went;
- the peak memory of `status` over SCHEMAS schema targets of one database (target: <= 300 MB), side by
  side with a single status: ru_maxrss of the process (wait4), and the Python heap's peak (tracemalloc,
  a second run: it slows the process down).

With `--rtt MS` every target is reached through a proxy that adds MS of round trip (delay_proxy.py):
the fleet as it is run in practice, from a workstation to servers elsewhere, where a target's time is
spent waiting on the network and parallel runs overlap those waits. Without it the server is on
loopback beside the CLI, and on a 2-core machine client and server share the cores: the `--parallel`
ratio is then bounded by CPU (the script prints that floor), not by Tidemark.
"""

from __future__ import annotations

import argparse
import json
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
from benchmarks.delay_proxy import DelayProxy  # noqa: E402
from benchmarks.engine_bench import make_migrations  # noqa: E402
from benchmarks.engine_bench import timed as run  # noqa: E402


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s of the process and its children, peak RSS MB) of a whole process; it must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({status}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def server_cpu(data_dir: Path) -> float:
    """CPU seconds of the server so far: the postmaster's own and its reaped backends' (/proc/PID/stat)."""
    pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


_HEAP = """
import sys, tracemalloc, resource, json, io
tracemalloc.start()
from app.cli.main import main
from app.cli.output import Streams
code = main(sys.argv[1:], Streams(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO()))
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"code": code, "heap_mb": peak / 2**20,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
"""


def heap_peak(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(tracemalloc peak MB, ru_maxrss MB) of a CLI run in a child process (tracemalloc on)."""
    r = subprocess.run([sys.executable, "-c", _HEAP, *args], env=env, capture_output=True, text=True, cwd=REPO)
    doc = json.loads(r.stderr.strip().splitlines()[-1])
    if doc["code"] != 0:
        raise SystemExit(f"{' '.join(args)} exited {doc['code']}: {r.stderr[-2000:]}")
    return doc["heap_mb"], doc["maxrss_mb"]


def memory(server: LocalServer, tm: list[str], env: dict[str, str], folder: Path, schemas: int) -> None:
    """Peak memory of `status` over SCHEMAS schema targets, beside a single status (printed)."""
    make_migrations(folder, 5)  # a few per schema: the measure is of many targets, not many files
    admin = server.socket_dsn()
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS memo")
        c.execute("CREATE DATABASE memo")
    with psycopg.connect(server.socket_dsn("memo"), autocommit=True) as c:
        c.execute("; ".join(f"CREATE SCHEMA s{i:04d}" for i in range(schemas)))
    run([*tm, "env", "add", "memo", "--dsn", server.socket_dsn("memo"), "--migrations-dir", str(folder),
         "--schemas", "s%", "--group", "memo", "--no-protected"], env)
    run([*tm, "env", "add", "memo1", "--dsn", server.socket_dsn("memo"), "--migrations-dir", str(folder),
         "--schemas", "s0000", "--no-protected"], env)
    t0 = time.perf_counter()
    run([*tm, "migrate", "--group", "memo", "--parallel", "8"], env)  # every schema's history filled
    setup = time.perf_counter() - t0
    rows = [("status, 1 schema target", ["status", "--environments", "memo1"]),
            ("status, plain single", ["status", "--env", "memo1"]),
            (f"status, {schemas} schema targets", ["status", "--group", "memo", "--parallel", "8"])]
    print(f"\nmemory: {schemas} schemas of one database, each with its history "
          f"(migrated in {setup:.1f} s, untimed)\n")
    print(f"{'measure':<32} {'wall s':>7} {'RSS MB':>7} {'heap MB':>8}")
    big = 0.0
    for label, argv in rows:
        wall, _, rss = measured([*tm, *argv], env)
        heap, _ = heap_peak(argv, env)
        big = max(big, rss) if str(schemas) in label else big
        print(f"{label:<32} {wall:7.2f} {rss:7.1f} {heap:8.1f}")
    print(f"\npeak RSS of status over {schemas} schema targets: {big:.0f} MB (target <= 300)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=20)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--server", default="embedded")
    ap.add_argument("--schemas", type=int, default=500, help="schema targets for the memory measure")
    ap.add_argument("--only", choices=("all", "speed", "memory"), default="all")
    ap.add_argument("--rtt", type=float, default=0.0, help="round trip in ms added to every target (0: loopback)")
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "app")], check=True,
                   stdout=subprocess.DEVNULL)
    binaries = embedded_binaries() if args.server == "embedded" else next(
        b for b in system_binaries() if f"system-{b.major}" == args.server)
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="tidemark-fleet-bench-", dir=shm if shm.is_dir() else None))
    server = LocalServer(work / "data", binaries, socket_dir=work / "sock", fast=True)
    server.init(auth_host="trust")  # the bench's own throwaway server, loopback only
    server.start()
    proxy = DelayProxy(server.port, args.rtt).__enter__() if args.rtt else None
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
    cpu: dict[str, list[tuple[float, float]]] = {"1": [], "8": []}  # (client, server) CPU s per migrate
    try:
        if args.only == "memory":
            memory(server, tm, env, work / "memo-migrations", args.schemas)
            return
        for name in names:
            dsn = server.socket_dsn(name) if proxy is None else (
                f"host=127.0.0.1 port={proxy.port} dbname={name} user=postgres")
            run([*tm, "env", "add", name, "--dsn", dsn, "--migrations-dir", str(folder),
                 "--group", "bench", "--no-protected"], env)

        def fresh() -> None:
            with psycopg.connect(admin, autocommit=True) as c:
                for name in names:
                    c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                    c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

        for _ in range(args.reps):
            for parallel in ("1", "8"):
                fresh()
                before = server_cpu(server.data_dir)
                wall, client, _ = measured([*tm, "migrate", "--group", "bench", "--parallel", parallel], env)
                results[f"migrate --parallel {parallel}"].append(wall)
                cpu[parallel].append((client, server_cpu(server.data_dir) - before))
            # Every target at once: a status takes no lock and writes nothing, so a DBA asks for them all.
            results["status, fleet"].append(run([*tm, "status", "--group", "bench", "--parallel", str(len(names))],
                                                env))
            results["status, slowest single"].append(max(run([*tm, "status", "--env", n], env) for n in names))
        if args.only == "all":
            memory(server, tm, env, work / "memo-migrations", args.schemas)
    finally:
        if proxy is not None:
            proxy.__exit__()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    status_ratio = statistics.median(
        f / s for f, s in zip(results["status, fleet"], results["status, slowest single"], strict=True))
    migrate_ratio = statistics.median(
        p8 / p1 for p8, p1 in zip(results["migrate --parallel 8"], results["migrate --parallel 1"], strict=True))
    reach = f"{args.rtt:g} ms round trip (delaying proxy)" if args.rtt else "loopback"
    print(f"\n{args.targets} targets x {args.n} migrations, PostgreSQL {binaries.major} ({binaries.origin}), "
          f"{reach}, {os.cpu_count()} cores, medians of {args.reps} runs\n")
    print(f"{'measure':<24} {'median s':>9} {'min s':>8} {'max s':>8}")
    for k, v in results.items():
        print(f"{k:<24} {med[k]:9.3f} {min(v):8.3f} {max(v):8.3f}")
    print(f"\nstatus of the fleet / slowest single status: {status_ratio:.2f} (target <= 1.5)")
    print(f"migrate --parallel 8 / --parallel 1:        {migrate_ratio:.2f} (target <= 0.3)")
    cores = os.cpu_count() or 1
    print("\nwhere a migrate's time goes (medians; CPU s of the tidemark process, of the server's backends):")
    for p in ("1", "8"):
        client = statistics.median(c for c, _ in cpu[p])
        srv = statistics.median(s for _, s in cpu[p])
        wall = med[f"migrate --parallel {p}"]
        print(f"  --parallel {p}: wall {wall:.2f} s, client CPU {client:.2f} s, server CPU {srv:.2f} s, "
              f"busy cores {(client + srv) / wall:.2f} of {cores}")
    work_s = statistics.median(c + s for c, s in cpu["1"])
    floor = work_s / cores / med["migrate --parallel 1"]
    print(f"  the CPU floor on {cores} cores: --parallel 1's CPU / {cores} = {floor:.2f} x its wall time "
          "(no parallelism can beat it while client and server share these cores)")
    print("\nall targets met" if status_ratio <= 1.5 and migrate_ratio <= 0.3 else "\nTARGET MISSED")


if __name__ == "__main__":
    main()
