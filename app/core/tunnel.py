"""SSH tunnels through the system's OpenSSH client: one per hop and database per process.

`ssh -N -L 127.0.0.1:PORT:DBHOST:DBPORT HOP` with a free loopback port; connections then go to
that port. The user's ssh config (ProxyJump, IdentityFile, agents, known_hosts) applies as
it is, under rules of ours that come first (ssh keeps the first value it reads), through a small
config file passed with -F that includes the user's: BatchMode (never a prompt), strict host key
checking (never an unknown or changed key accepted), no connection sharing with the user's
ControlMaster (our tunnel must end when we end it). With -F, ssh passes the same file to the
ssh it starts for a ProxyJump hop, so every hop obeys the same rules.

Closed on every exit path: `close_all()` at interpreter exit (atexit) and by the CLI after each
command; ssh runs in a process group of its own, so Ctrl-C reaches only us (the runner may still
need the tunnel to check what committed) and closing kills the group, ProxyJump children too.
A SIGKILLed CLI takes its ssh with it on Linux (PR_SET_PDEATHSIG, set when the main thread
starts the tunnel). TIDEMARK_SSH_CONFIG names the config to include instead of ~/.ssh/config
and /etc/ssh/ssh_config (tests use it to stay off the user's files).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.core.errors import ConnectionFailed, UsageError

OPEN_TIMEOUT_S = 30.0  # ssh's own ConnectTimeout (10 s) per hop, ProxyJump included
CLOSE_TIMEOUT_S = 5.0
_HOP = re.compile(r"^(?:(?P<user>[^@\s/]+)@)?(?P<host>\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9_.%+-]+)"
                  r"(?::(?P<port>\d{1,5}))?$")
RULES = (
    "BatchMode yes", "StrictHostKeyChecking yes", "UpdateHostKeys no", "ControlMaster no", "ControlPath none",
    "ExitOnForwardFailure yes", "ConnectTimeout 10", "ServerAliveInterval 15", "ServerAliveCountMax 3",
    "LogLevel INFO", "PermitLocalCommand no", "RequestTTY no",
)


class SshFailed(ConnectionFailed):
    """ssh could not open the tunnel: the hop, and ssh's own reason."""


@dataclass(frozen=True)
class Hop:
    """An SSH hop as typed: `[user@]host[:port]` or a Host alias of the ssh config."""

    text: str
    destination: str  # user@host or host, for ssh
    port: int | None

    def __str__(self) -> str:
        return self.text


def parse_hop(text: str, where: str = "ssh") -> Hop:
    """Check and split `[user@]host[:port]`; UsageError naming the field otherwise."""
    m = _HOP.match(text.strip()) if isinstance(text, str) else None
    if not m or text.strip().startswith("-"):
        raise UsageError(f"{where}: {text!r} is not an SSH hop: give [user@]host[:port] or a Host alias of "
                         "~/.ssh/config (jump hosts go in the ssh config as ProxyJump)")
    port = int(m["port"]) if m["port"] else None
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"{where}: port {port} of {text!r} must be from 1 to 65535")
    host = m["host"][1:-1] if m["host"].startswith("[") else m["host"]
    return Hop(text.strip(), f"{m['user']}@{host}" if m["user"] else host, port)


@dataclass
class Tunnel:
    """A running `ssh -N -L`: loopback port `port` leads to `remote` as seen from the last hop."""

    hop: Hop
    remote: str  # host:port or a socket path, as seen from the last hop
    port: int
    process: subprocess.Popen
    stderr: IO[bytes]
    config: Path
    owner_pid: int = field(default_factory=os.getpid)

    def alive(self) -> bool:
        """True while ssh runs."""
        return self.process.poll() is None

    def stderr_text(self, start: int = 0) -> str:
        """What ssh wrote on stderr (from byte `start`)."""
        self.stderr.flush()
        self.stderr.seek(start)
        return self.stderr.read().decode("utf-8", "replace")

    def stderr_size(self) -> int:
        """Bytes ssh has written on stderr so far."""
        return os.fstat(self.stderr.fileno()).st_size

    def close(self) -> None:
        """End ssh and its process group (a ProxyJump ssh too); wait for it; remove the config file."""
        if self.owner_pid == os.getpid():  # a forked child must not end its parent's tunnel
            _end(self.process)
            self.config.unlink(missing_ok=True)
        self.stderr.close()


_tunnels: dict[tuple[str, str], Tunnel] = {}
_opening: dict[tuple[str, str], threading.Lock] = {}  # one per hop and remote: others open theirs meanwhile
_lock = threading.Lock()  # guards the two dicts, never held while ssh starts


def open_tunnel(hop: str | Hop, remote: str) -> Tunnel:
    """The tunnel to `remote` (host:port or socket path, seen from the hop): reused, or opened now.

    Thread-safe: any thread may open or reuse it; one ssh per hop and remote in this process.
    """
    hop = hop if isinstance(hop, Hop) else parse_hop(hop)
    key = (hop.text, remote)
    with _lock:
        opening = _opening.setdefault(key, threading.Lock())
    with opening:
        with _lock:
            tunnel = _tunnels.get(key)
            if tunnel is not None and tunnel.alive() and tunnel.owner_pid == os.getpid():
                return tunnel
            _tunnels.pop(key, None)
        if tunnel is not None:  # ssh ended (the server went away, a network change): open anew
            tunnel.close()
        try:
            tunnel = _start(hop, remote)
        except SshFailed:
            check_jumps(jumps(hop))  # a jump host to blame is named as such (ssh's lines do not say which)
            raise
        with _lock:
            _tunnels[key] = tunnel
        return tunnel


def close(hop: str | Hop, remote: str) -> bool:
    """Close one tunnel (the app, when it leaves an environment); True when one was open."""
    key = (hop.text if isinstance(hop, Hop) else parse_hop(hop).text, remote)
    with _lock:
        tunnel = _tunnels.pop(key, None)
    if tunnel is not None:
        tunnel.close()
    return tunnel is not None


def close_all() -> None:
    """Close every tunnel of this process (the CLI after each command, the app when it quits)."""
    with _lock:
        tunnels = list(_tunnels.values())
        _tunnels.clear()
    for tunnel in tunnels:
        tunnel.close()


def open_tunnels() -> list[Tunnel]:
    """The tunnels open now (for tests and the app's status line)."""
    with _lock:
        return [t for t in _tunnels.values() if t.alive()]


atexit.register(close_all)


def ssh_binary() -> str:
    """The OpenSSH client; UsageError when none is installed."""
    found = shutil.which("ssh")
    if not found:
        raise UsageError("no `ssh` client found on PATH: install OpenSSH (Debian/Ubuntu: apt install "
                         "openssh-client; Windows: Settings > Optional features > OpenSSH Client)")
    return found


def remote_of(host: str | None, port: int | str | None) -> str:
    """ssh's -L destination for a database host and port (a Unix socket folder gives the socket)."""
    host = host or "localhost"
    port = str(port or 5432)
    if host.startswith("/"):
        return f"{host.rstrip('/')}/.s.PGSQL.{port}"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _write_config() -> Path:
    user = os.environ.get("TIDEMARK_SSH_CONFIG")
    includes = [Path(user).expanduser().resolve()] if user else [Path.home() / ".ssh" / "config",
                                                                 Path("/etc/ssh/ssh_config")]
    lines = ["# Tidemark's rules for one tunnel (ssh keeps the first value), then the user's config.",
             *RULES, *(f'Include "{p}"' for p in includes)]
    fd, name = tempfile.mkstemp(prefix="tidemark-ssh-", suffix=".conf")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return Path(name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(hop: Hop, remote: str, timeout: float = OPEN_TIMEOUT_S, extra: tuple[str, ...] = ()) -> Tunnel:
    ssh = ssh_binary()
    deadline = time.monotonic() + timeout
    for _ in range(3):  # another program may take the free port between our look and ssh's bind
        port = _free_port()
        config = _write_config()
        cmd = [ssh, "-F", str(config), *extra, "-N", "-L", f"127.0.0.1:{port}:{remote}",
               *(["-p", str(hop.port)] if hop.port else []), "--", hop.destination]
        err = tempfile.TemporaryFile()  # noqa: SIM115  # ssh writes to it as long as the tunnel lives
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    close_fds=True, **_detach())
        except OSError as exc:
            err.close()
            config.unlink(missing_ok=True)
            raise SshFailed(f"SSH hop {hop}: cannot run {ssh}: {exc.strerror or exc}") from None
        tunnel = Tunnel(hop, remote, port, proc, err, config)
        if _wait_listening(tunnel, deadline):
            # Listening means logged in on the last hop: ssh and its ProxyJump ssh have read the
            # file and never read it again, so it goes now (a SIGKILLed CLI leaves none behind).
            config.unlink(missing_ok=True)
            return tunnel
        text = tunnel.stderr_text()
        tunnel.close()
        if "address already in use" in text.lower() and time.monotonic() < deadline:
            continue
        raise SshFailed(explain(hop, text, proc.returncode, timeout))
    raise SshFailed(f"SSH hop {hop}: no free loopback port could be bound for the tunnel")


def _wait_listening(tunnel: Tunnel, deadline: float) -> bool:
    """Poll until ssh listens on the port (it does once logged in), ssh exits, or the deadline."""
    while time.monotonic() < deadline:
        if not tunnel.alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", tunnel.port), timeout=1.0):
                pass
        except OSError:
            try:  # the pause between polls ends early when ssh exits
                tunnel.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            continue
        return tunnel.alive()
    return False


def _detach() -> dict:
    """Popen arguments: ssh in a process group of its own (and dying with us, where we can say so)."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    kwargs: dict = {"process_group": 0}
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        # PR_SET_PDEATHSIG fires when the *thread* that started ssh ends: only the main thread
        # lives as long as the process. Resolved before fork, so the child only makes the call.
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        kwargs["preexec_fn"] = lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    return kwargs


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        if os.name == "nt":
            proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=CLOSE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        if os.name != "nt":
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        proc.wait()


# --- ssh's reasons --------------------------------------------------------------------------------

_NOISE = re.compile(r"^(@+|@\s.*@|Warning: Permanently added .*|Pseudo-terminal .*|debug\d: .*|\*+.*)$")


def reason_lines(text: str) -> list[str]:
    """ssh's stderr without banners and decoration, one line each."""
    return [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip() and not _NOISE.match(ln.strip())]


def explain(hop: Hop, text: str, returncode: int | None, timeout: float) -> str:
    """One line: which hop failed and ssh's own reason, with what to do for a host key."""
    lines = reason_lines(text)
    unknown = next((m for ln in lines if (m := re.search(r"host key is known for (\S+)", ln))), None)
    changed = next((m for ln in lines if (m := re.search(r"Host key for (\S+) has changed", ln))), None)
    if changed or any("REMOTE HOST IDENTIFICATION HAS CHANGED" in ln for ln in text.splitlines()):
        host = changed.group(1) if changed else hop.destination
        return (f"SSH hop {hop}: the host key of {host} has CHANGED since it was saved in known_hosts (a "
                "reinstalled server, or someone in the middle); nothing was accepted: ask the server's "
                f"administrator for its fingerprint; if the new key is right, `ssh-keygen -R {host}`, then "
                f"`ssh {hop}` once and compare the fingerprint it shows")
    if unknown or any("Host key verification failed" in ln for ln in lines):
        host = unknown.group(1) if unknown else hop.destination
        return (f"SSH hop {hop}: the host key of {host} is not in known_hosts and Tidemark never accepts an "
                f"unchecked one: run `ssh {hop}` once, compare the fingerprint it shows with the one the "
                "server's administrator gives (on the server: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), "
                "and answer yes")
    if returncode is None:
        reason = f"the tunnel did not open within {timeout:.0f} s"
        if lines:
            reason += f" ({lines[0]})"
    else:
        reason = _pick(lines) or f"ssh exited with status {returncode} and said nothing"
    return f"SSH hop {hop}: {reason}"


def _pick(lines: list[str]) -> str | None:
    """The most telling line: a denial, a route or name failure, else the first."""
    for pattern in ("Permission denied", "Could not resolve", "connect to host", "Connection refused",
                    "Connection timed out", "No route", "open failed", "Bad configuration", "bind"):
        for ln in lines:
            if pattern.lower() in ln.lower():
                return ln
    return lines[0] if lines else None


def jumps(hop: str | Hop) -> list[str]:
    """The ProxyJump hosts ssh goes through to reach the hop, first first (`ssh -G`); [] for none."""
    hop = hop if isinstance(hop, Hop) else parse_hop(hop)
    config = _write_config()
    try:
        out = subprocess.run([ssh_binary(), "-F", str(config), "-G", *(["-p", str(hop.port)] if hop.port else []),
                              "--", hop.destination], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    finally:
        config.unlink(missing_ok=True)
    value = next((ln.split(None, 1)[1] for ln in out.splitlines() if ln.startswith("proxyjump ")), "none")
    return [] if value.strip() == "none" else [j.strip() for j in value.split(",") if j.strip()]


def check_jumps(chain: list[str]) -> None:
    """Reach each jump host alone, in order, through the ones before it; SshFailed naming the first that fails.

    Its forward goes to port 9 on the jump host and is never used: only ssh's login is tested.
    """
    for i, jump in enumerate(chain):
        through = ",".join(chain[:i]) or "none"
        try:
            hop = parse_hop(jump, "ProxyJump")
        except UsageError:
            return  # a form we do not parse (ssh:// URIs): the whole tunnel's error stands
        try:
            _start(hop, "127.0.0.1:9", extra=("-o", f"ProxyJump={through}")).close()
        except SshFailed as exc:
            which = f"jump {i + 1} of {len(chain)}"
            raise SshFailed(exc.message.replace(f"SSH hop {hop}:", f"SSH hop {hop} ({which}):", 1)) from None


# PostgreSQL's SSLRequest: any PostgreSQL answers it with one byte, 'S' or 'N', before a login.
_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def probe(tunnel: Tunnel, timeout: float = 10.0) -> None:
    """Check that the database answers through the tunnel (env test's second step); SshFailed if not."""
    start = tunnel.stderr_size()
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", tunnel.port), timeout=timeout) as s:
            s.sendall(_SSL_REQUEST)
            answer = s.recv(1)
    except OSError as exc:
        answer = b""
        failure = exc.strerror or str(exc)
    else:
        failure = "the connection was closed"
    if answer in (b"S", b"N"):
        return
    if answer:
        raise SshFailed(f"SSH hop {tunnel.hop} reached, but {tunnel.remote} does not answer as PostgreSQL through "
                        f"it (it sent {answer!r}): check the database host and port as the hop sees them")
    if tunnel.process.poll() is None:
        try:  # ssh logs why the channel failed just after closing it: wait for it a moment, or its exit
            tunnel.process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
    said = _pick(reason_lines(tunnel.stderr_text(start)))
    raise SshFailed(f"SSH hop {tunnel.hop} reached, but {tunnel.remote} cannot be reached through it: "
                    f"{said or failure} (check the database host and port as the hop sees them)")
