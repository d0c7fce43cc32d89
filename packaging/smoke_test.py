#!/usr/bin/env python3
"""Smoke-test a built Tidemark bundle the way a user on an offline workstation would run it.

    python3 packaging/smoke_test.py [BUNDLE]    BUNDLE: dist/tidemark/, a .tar.gz or a .deb
                                                (default: the newest dist/tidemark-*.tar.gz)

Archives are unpacked into a temporary folder first (the .deb with dpkg-deb -x, nothing
installed), so what is tested is what ships. Every command runs with a scrubbed environment:
PATH without any venv, an empty HOME and TIDEMARK_HOME, no proxy, Qt offscreen. Like
qutebrowser's build_release.py smoke_test(): a non-zero exit, or a stderr line not on the
short whitelist, fails; on failure the command runs again verbose and both outputs print.
Then it measures start times (median of 5) and prints the sizes. Stdlib only: it runs with
any python3 >= 3.9, never with the bundle's own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# stderr lines that are not failures: the CLI's own progress/info lines, and Qt's notes on
# a headless machine.
STDERR_WHITELIST = [
    r"^QStandardPaths: (XDG_RUNTIME_DIR not set|wrong permissions on runtime directory).*",
    r"^This plugin does not support propagateSizeHints\(\)",
    r"^qt\.qpa\.\w+: .*offscreen.*",
    r"^dbus-daemon\[\d+\]: ",  # the test's own session bus (fd limits in containers), not Tidemark
]

# A private Secret Service for the keyring check: a session bus and an unlocked gnome-keyring.
WITH_KEYRING = ("dbus-run-session", "--", "bash", "-c",
                'eval "$(printf smoke | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; '
                'exec "$0" "$@"')


class SmokeFailure(Exception):
    """One step of the smoke test failed."""


def clean_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A user's minimal environment: no venv, no Python variables, an empty home."""
    path = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin")
                           if os.path.isdir(p))
    env = {
        "PATH": path,
        "HOME": str(home),
        "TIDEMARK_HOME": str(home / "tidemark-home"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(home / "tmp"),
        "QT_QPA_PLATFORM": "offscreen",
        "NO_PROXY": "*",
    }
    if sys.platform == "win32":  # pragma: no cover - the Windows CI job
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "COMSPEC", "PATHEXT", "USERPROFILE") if k in os.environ})
        env["PATH"] = os.environ.get("SYSTEMROOT", r"C:\Windows") + r"\System32"
        env["TEMP"] = env["TMP"] = env["TMPDIR"]
    env.update(extra or {})
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return env


class Runner:
    """Runs bundle commands in the clean environment and checks their output."""

    def __init__(self, bundle: Path, home: Path, project: Path) -> None:
        self.bundle = bundle
        self.home = home
        self.project = project
        self.env = clean_env(home)
        self.passed = 0  # commands that ran cleanly

    def exe(self, name: str) -> str:
        suffix = ".exe" if sys.platform == "win32" else ""
        return str(self.bundle / f"{name}{suffix}")

    def run(self, name: str, *args: str, ok_codes: tuple[int, ...] = (0,), timeout: float = 180,
            verbose_args: tuple[str, ...] = ("--traceback",), wrapper: tuple[str, ...] = (),
            env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run one command; fail on an unexpected exit code or stderr line (rerun verbose first)."""
        cmd = [*wrapper, self.exe(name), *args]
        env = {**self.env, **(env or {})}
        print(f"$ {'(' + wrapper[0] + ') ' if wrapper else ''}{name} {' '.join(args)}", flush=True)
        proc = subprocess.run(cmd, cwd=self.project, env=env, capture_output=True, text=True,
                              timeout=timeout, input=stdin if stdin is not None else "")
        bad = [line for line in proc.stderr.splitlines()
               if line.strip() and not any(re.match(p, line) for p in STDERR_WHITELIST)]
        if proc.returncode in ok_codes and not bad:
            self.passed += 1
            return proc
        problem = (f"exit {proc.returncode}" if proc.returncode not in ok_codes
                   else f"unexpected stderr: {bad[0]!r}")
        report = [f"FAILED: {name} {' '.join(args)}: {problem}", "--- stdout ---", proc.stdout,
                  "--- stderr ---", proc.stderr]
        if verbose_args:
            again = subprocess.run([*cmd, *verbose_args], cwd=self.project, env=env, capture_output=True,
                                   text=True, timeout=timeout, input=stdin if stdin is not None else "")
            report += [f"--- again with {' '.join(verbose_args)}: exit {again.returncode} ---", "--- stdout ---",
                       again.stdout, "--- stderr ---", again.stderr]
        raise SmokeFailure("\n".join(report))


def unpack(source: Path, into: Path) -> Path:
    """The bundle folder: `source` itself, or unpacked from a .tar.gz or .deb into `into`."""
    if source.is_dir():
        return source
    if source.name.endswith(".tar.gz"):
        with tarfile.open(source) as tar:
            tar.extractall(into, filter="tar") if hasattr(tarfile, "data_filter") else tar.extractall(into)
        return into / "tidemark"
    if source.suffix == ".deb":
        subprocess.run(["dpkg-deb", "-x", str(source), str(into)], check=True)
        for link in ("tidemark", "tidemark-gui"):
            target = os.readlink(into / "usr" / "bin" / link)
            if target != f"/opt/tidemark/{link}":
                raise SmokeFailure(f".deb: /usr/bin/{link} points at {target}, not /opt/tidemark/{link}")
        for must in ("usr/share/applications/tidemark.desktop", "usr/share/icons/hicolor/scalable/apps/tidemark.svg",
                     "usr/share/icons/hicolor/256x256/apps/tidemark.png"):
            if not (into / must).is_file():
                raise SmokeFailure(f".deb: /{must} is missing")
        return into / "opt" / "tidemark"
    raise SmokeFailure(f"not a bundle folder, .tar.gz or .deb: {source}")


def default_source() -> Path:
    tarballs = sorted((ROOT / "dist").glob("tidemark-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if tarballs:
        return tarballs[-1]
    if (ROOT / "dist" / "tidemark").is_dir():
        return ROOT / "dist" / "tidemark"
    raise SmokeFailure("nothing to test: run packaging/build.sh first (or name a bundle)")


# Left to the system on purpose (the .deb's Depends/Recommends): OpenGL/EGL, libxcb, libdrm,
# and Wayland's client libraries (only Qt's Wayland plugin needs them). Missing ones are noted.
SYSTEM_LIBRARIES = {"libGL.so.1", "libEGL.so.1", "libGLX.so.0", "libGLdispatch.so.0", "libOpenGL.so.0",
                    "libxcb.so.1", "libdrm.so.2", "libwayland-client.so.0", "libwayland-cursor.so.0",
                    "libwayland-egl.so.1"}


def check_libraries(bundle: Path) -> None:
    """Linux: every shared library of the bundle (PostgreSQL's too) finds what it loads."""
    if not sys.platform.startswith("linux") or not shutil.which("ldd"):
        return
    internal = bundle / "_internal"
    missing: dict[str, set[str]] = {}
    for path in sorted(internal.rglob("*")):
        if not path.is_file() or path.is_symlink() or not (path.suffix == ".so" or ".so." in path.name
                                                           or path.parent.name == "bin"):
            continue
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True,
                             env={"LD_LIBRARY_PATH": str(internal), "PATH": "/usr/bin:/bin"}).stdout
        for line in out.splitlines():
            if "not found" in line:
                missing.setdefault(line.split("=>")[0].strip(), set()).add(str(path.relative_to(bundle)))
    system = sorted(lib for lib in missing if lib in SYSTEM_LIBRARIES)
    if system:
        print(f"ldd: not on this machine (the .deb recommends them): {', '.join(system)}")
    missing = {lib: users for lib, users in missing.items() if lib not in SYSTEM_LIBRARIES}
    if missing:
        lines = [f"  {lib} (needed by {', '.join(sorted(users)[:3])})" for lib, users in sorted(missing.items())]
        raise SmokeFailure("libraries not found (bundle or system):\n" + "\n".join(lines))
    print("ldd: every bundled binary finds its libraries")


def smoke(r: Runner) -> None:
    """The user's first session: sandbox, migrate, status, rollback, rehearse, backup, report, lint, GUI."""
    version = r.run("tidemark", "--version").stdout.strip()
    if not re.fullmatch(r"tidemark \d+\.\d+\.\d+\S*", version):
        raise SmokeFailure(f"tidemark --version printed {version!r}")
    print(f"  {version}")
    if sys.platform.startswith("linux"):  # glibc's loader names every library it loads
        loaded = subprocess.run([r.exe("tidemark"), "--version"], env={**r.env, "LD_DEBUG": "libs"},
                                capture_output=True, text=True, timeout=60).stderr
        qt = sorted({m for m in re.findall(r"\S*(?:libQt6\w*|libicu\w*|PySide6\S*)", loaded)})
        if qt:
            raise SmokeFailure("tidemark --version loads Qt: " + ", ".join(qt[:5]))
        print("  tidemark --version loads no Qt library")
    r.run("tidemark", "sandbox", "start", timeout=300)
    try:
        # An empty project folder: the sandbox opens the bundled example migrations.
        r.run("tidemark", "migrate", "--yes")
        status = json.loads(r.run("tidemark", "status", "--json").stdout)
        applied = _applied(status)
        if applied < 1:
            raise SmokeFailure(f"status --json after migrate shows no applied migration:\n{json.dumps(status)[:2000]}")
        print(f"  applied: {applied}")
        r.run("tidemark", "rollback", "1", "--yes")
        after = _applied(json.loads(r.run("tidemark", "status", "--json").stdout))
        if after != applied - 1:
            raise SmokeFailure(f"rollback 1: applied went from {applied} to {after}")
        # The bundled PostgreSQL beyond the sandbox: a throwaway server for the rehearsal, pg_dump for the backup.
        r.run("tidemark", "rehearse", timeout=300)
        backup = r.run("tidemark", "migrate", "--yes", "--backup", "schema").stdout
        if "backup (schema) written to" not in backup:
            raise SmokeFailure(f"migrate --backup schema wrote no backup:\n{backup}")
        html = r.project / "x.html"
        r.run("tidemark", "report", "--html", "--output", str(html))
        if "<html" not in html.read_text(encoding="utf-8").lower():
            raise SmokeFailure("report --html wrote no HTML page")
        pdf = r.project / "x.pdf"
        r.run("tidemark", "report", "--pdf", "--output", str(pdf))
        if not pdf.read_bytes().startswith(b"%PDF"):
            raise SmokeFailure("report --pdf wrote no PDF")
        # lint runs the bundled squawk: a blocking index build is its finding (exit 1).
        unsafe = r.project.parent / "lint" / "20260101000000_index.sql"
        unsafe.parent.mkdir(exist_ok=True)
        unsafe.write_text("CREATE INDEX users_email ON users (email);\n", encoding="utf-8")
        lint = json.loads(r.run("tidemark", "lint", "--json", str(unsafe), ok_codes=(1,)).stdout)
        if not lint.get("squawk_version") or not any(f.get("source") == "squawk" for f in lint.get("findings", [])):
            raise SmokeFailure(f"lint did not run the bundled squawk: {json.dumps(lint)[:800]}")
        print(f"  squawk {lint['squawk_version']}")
    finally:
        r.run("tidemark", "sandbox", "stop", timeout=120)
    check_keyring(r)
    gui = r.run("tidemark-gui", "--self-test", timeout=120, verbose_args=())
    if "self-test ok" not in gui.stdout:
        raise SmokeFailure(f"tidemark-gui --self-test did not say 'self-test ok':\n{gui.stdout}\n{gui.stderr}")
    # The X11 platform plugin too (offscreen does not load it or its libraries), where Xvfb is.
    if sys.platform.startswith("linux") and shutil.which("xvfb-run"):
        x11 = r.run("tidemark-gui", "--self-test", timeout=120, verbose_args=(), wrapper=("xvfb-run", "-a"),
                    env={"QT_QPA_PLATFORM": "xcb", "PATH": r.env["PATH"]})
        if "self-test ok" not in x11.stdout:
            raise SmokeFailure(f"tidemark-gui --self-test on X11 did not say 'self-test ok':\n{x11.stdout}")
    else:
        print("  (no xvfb-run: the X11 platform plugin is not tried)")


def check_keyring(r: Runner) -> None:
    """The bundled keyring backends: store a password in a Secret Service, read it in the next session."""
    if not (sys.platform.startswith("linux") and shutil.which("dbus-run-session")
            and shutil.which("gnome-keyring-daemon")):
        print("  (no dbus-run-session or gnome-keyring-daemon: the keyring is not tried)")
        return
    password = secrets.token_urlsafe(12)  # made at run time, never written anywhere but the keyring
    r.run("tidemark", "env", "add", "smoke", "--dsn", "postgresql://smoke@127.0.0.1:1/smoke", "--password-stdin",
          wrapper=WITH_KEYRING, stdin=password + "\n")
    listed = r.run("tidemark", "env", "list", wrapper=WITH_KEYRING).stdout
    if not re.search(r"^smoke\s.*\bkeyring\s*$", listed, re.MULTILINE):
        raise SmokeFailure(f"env list does not show the password stored in the keyring:\n{listed}")


def _applied(status: object) -> int:
    """How many migrations status --json calls applied (tolerant of where the list lives)."""
    if isinstance(status, dict):
        migrations = status.get("migrations")
        if isinstance(migrations, list):
            return sum(1 for m in migrations if isinstance(m, dict) and str(m.get("state", "")).lower() == "applied")
        for value in status.values():
            n = _applied(value)
            if n:
                return n
    return 0


def median_seconds(cmd: list[str], env: dict[str, str], cwd: Path, runs: int = 5) -> float:
    """Median wall time of `runs` starts (the first one warms the page cache; we cannot drop it)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def du_mib(path: Path) -> float:
    """Apparent size of a folder in MiB."""
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", nargs="?", type=Path, help="dist/tidemark/, a .tar.gz or a .deb")
    parser.add_argument("--no-timing", action="store_true", help="skip the start-time measurements")
    args = parser.parse_args()
    t0 = time.monotonic()
    # /tmp, not a 0700 home: the sandbox's server may run as another OS user (root -> tidemark-pg)
    # and must reach the bundle's PostgreSQL binaries.
    base = Path(tempfile.mkdtemp(prefix="tidemark-smoke-", dir="/tmp" if os.path.isdir("/tmp") else None))
    base.chmod(0o755)
    r: Runner | None = None
    try:
        source = args.bundle or default_source()
        print(f"smoke test of {source}")
        bundle = unpack(source.resolve(), base / "unpacked")
        home = base / "home"
        project = base / "project"
        home.mkdir()
        project.mkdir()
        check_libraries(bundle)
        r = Runner(bundle, home, project)
        smoke(r)
        if not args.no_timing:
            cli = median_seconds([r.exe("tidemark"), "--version"], r.env, project)
            gui = median_seconds([r.exe("tidemark-gui"), "--self-test"], r.env, project)
            print(f"start, median of 5: tidemark --version {cli:.2f} s; tidemark-gui --self-test "
                  f"(Qt start, main window shown, engine checked, closed) {gui:.2f} s")
        print(f"bundle: {du_mib(bundle):.0f} MiB")
        print(f"smoke test passed in {time.monotonic() - t0:.0f} s")
        # The plain closing line CI logs are read for (one per bundle command run).
        print(f"smoke: {r.passed} passed, 0 failed")
        return 0
    except (SmokeFailure, subprocess.SubprocessError, OSError) as exc:
        print(f"SMOKE TEST FAILED\n{exc}", file=sys.stderr)
        sys.stderr.flush()
        print(f"smoke: {r.passed if r else 0} passed, 1 failed")
        return 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
