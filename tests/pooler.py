"""Test helpers in front of the test server: a real PgBouncer, and a TCP proxy that can black-hole.

PgBouncer runs from the Debian package (`.ci/run` installs it); its config, userlist and log
live in a temporary folder, the userlist holding the run-time password of the test server (never
a committed secret). It listens on a free loopback port. Tests that need it skip, saying why,
only when the binary is absent.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from tests.conftest import Server, wait_for

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgBouncer:
    """A running PgBouncer in one pool mode, in front of one test server."""

    mode: str
    port: int
    server: Server
    folder: Path
    process: subprocess.Popen[bytes]

    def dsn(self, dbname: str) -> str:
        """The test database `dbname`, through the pooler."""
        params = conninfo.conninfo_to_dict(self.server.dsn(dbname))
        params.update(host="127.0.0.1", port=str(self.port))
        return conninfo.make_conninfo(**params)

    def log(self) -> str:
        """PgBouncer's log, for a failing test's message."""
        f = self.folder / "pgbouncer.log"
        return f.read_text(errors="replace") if f.exists() else ""

    def stop(self) -> None:
        """Stop it (SIGTERM: close clients and servers) and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_pgbouncer(server: Server, mode: str, *, reset_query: str | None = None,
                    ignore: str = "extra_float_digits") -> PgBouncer:
    """Start PgBouncer in `mode` (transaction, session) in front of `server`.

    `reset_query=""` turns off the DISCARD ALL a session-mode PgBouncer runs when a client leaves
    (as poolers configured for speed do): then nothing but Tidemark itself can clean up after it.
    `ignore`: its ignore_startup_parameters (startup parameters it drops instead of refusing).
    """
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)")
    assert server.password is not None, "PgBouncer needs the test server's password"
    params = conninfo.conninfo_to_dict(server.admin_dsn)
    folder = Path(tempfile.mkdtemp(prefix="tm-pgbouncer-"))
    port = free_port()
    userlist = folder / "userlist.txt"
    userlist.touch(mode=0o600)
    userlist.write_text(f'"{params["user"]}" "{server.password}"\n')
    lines = [
        "[databases]",
        f"* = host={params['host']} port={params['port']}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        f"auth_file = {userlist}",
        f"pool_mode = {mode}",
        "default_pool_size = 10",
        "max_client_conn = 200",
        f"admin_users = {params['user']}",
        f"logfile = {folder / 'pgbouncer.log'}",
        f"ignore_startup_parameters = {ignore}",
    ]
    if reset_query is not None:
        lines.append(f"server_reset_query = {reset_query}")
    (folder / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: run it as the test server's user
        import pwd

        from app.core.service_user import SERVICE_USER

        pw = pwd.getpwnam(SERVICE_USER)
        for f in (folder, userlist, folder / "pgbouncer.ini"):
            os.chown(f, pw.pw_uid, pw.pw_gid)
        kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd="/")
    process = subprocess.Popen([PGBOUNCER, str(folder / "pgbouncer.ini")], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    bouncer = PgBouncer(mode, port, server, folder, process)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"pgbouncer exited with {process.returncode}: {bouncer.log()}")
        try:
            with psycopg.connect(bouncer.dsn("postgres"), connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    try:
        wait_for(up, f"pgbouncer ({mode} mode) to accept connections")
    except BaseException:
        bouncer.stop()
        raise
    return bouncer


@pytest.fixture(scope="session")
def pgbouncer_transaction(pg_server: Server) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the test server."""
    bouncer = start_pgbouncer(pg_server, "transaction")
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def pgbouncer_session(pg_server: Server) -> Iterator[PgBouncer]:
    """PgBouncer in session mode, with no reset query: Tidemark must clean up after itself."""
    bouncer = start_pgbouncer(pg_server, "session", reset_query="")
    yield bouncer
    bouncer.stop()


class BlackHoleProxy:
    """A TCP proxy on loopback that forwards bytes both ways until told to black-hole.

    Black-holed, it stops forwarding in both directions but keeps every socket open, as a
    silent network partition does: neither end sees an error. New connections are still
    accepted and forwarded (only what was open when the partition began goes silent), so a
    second connection can still reach the server, unless `refuse_new` is set too.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._silenced: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._black_hole = threading.Event()
        self.refuse_new = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="black-hole-proxy", daemon=True)
        self._thread.start()

    def black_hole(self, *, refuse_new: bool = False) -> None:
        """From now on, forward nothing on the connections open now (and, with refuse_new, on new ones)."""
        with self._lock:
            self.refuse_new = refuse_new
            self._silenced.update(self._pairs)
            self._black_hole.set()

    def dsn(self, server_dsn: str) -> str:
        """`server_dsn` with host and port pointed at the proxy."""
        params = conninfo.conninfo_to_dict(server_dsn)
        params.update(host="127.0.0.1", port=str(self.port))
        return conninfo.make_conninfo(**params)

    def close(self) -> None:
        """Stop the proxy and close every socket."""
        self._stop.set()
        self._thread.join(10)
        for s in list(self._pairs):
            s.close()
        self.listener.close()
        self._selector.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    self._accept()
                    continue
                with self._lock:
                    silent = sock in self._silenced
                if silent:  # leave the bytes unread (the kernel still ACKs them); stop watching
                    self._selector.unregister(sock)
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                peer = self._pairs.get(sock)
                if not data or peer is None:
                    self._drop(sock)
                    continue
                try:
                    peer.sendall(data)
                except OSError:
                    self._drop(sock)

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        with self._lock:
            refuse = self.refuse_new
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._pairs[client] = upstream
            self._pairs[upstream] = client
            if refuse:
                self._silenced.update((client, upstream))
        if not refuse:
            for s in (client, upstream):
                self._selector.register(s, selectors.EVENT_READ, None)

    def _drop(self, sock: socket.socket) -> None:
        peer = self._pairs.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._pairs.pop(s, None)
            try:
                self._selector.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
