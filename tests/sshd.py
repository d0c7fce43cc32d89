"""A real OpenSSH server for the tunnel tests: on a loopback port, keys and config in a temp folder.

Debian's `openssh-server` (/usr/sbin/sshd), started as a normal child process: its host key,
the client's key, known_hosts and the client's ssh config are made here, so the tests never
read or change ~/.ssh. The client config is handed to Tidemark through TIDEMARK_SSH_CONFIG.
Hosts in that config: `hop1` (direct), `hop2` (ProxyJump hop1, the same sshd again),
`stranger` (a known_hosts without this server's key), `via-stranger` (ProxyJump stranger),
`nokey` (a key the server does not know), `closed` (a port nothing listens on).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def available() -> bool:
    """sshd and ssh-keygen are installed (Debian: openssh-server)."""
    return Path(SSHD).is_file() and shutil.which("ssh-keygen") is not None and shutil.which("ssh") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tidemark-test", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)


@dataclass
class Sshd:
    """A running sshd and the client side made for it."""

    root: Path
    port: int
    process: subprocess.Popen
    log: Path
    config: Path  # the client's ssh config (TIDEMARK_SSH_CONFIG)
    known_hosts: Path
    empty_known_hosts: Path

    def log_text(self) -> str:
        """What sshd logged so far (LogLevel DEBUG1: forwarded channels name their target)."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def forwards_to(self, port: int) -> int:
        """How many forwarded connections sshd opened to 127.0.0.1:PORT."""
        return self.log_text().count(f"target 127.0.0.1 port {port}")

    def stop(self) -> None:
        """End sshd and remove its folder."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Sshd:
    """Generate keys and configs, start sshd, wait until it greets (deadline 20 s)."""
    root = Path(tempfile.mkdtemp(prefix="tidemark-sshd-"))
    _keygen(root / "host_key")
    _keygen(root / "user_key")
    _keygen(root / "other_key")
    (root / "authorized_keys").write_text((root / "user_key.pub").read_text())
    port = _free_port()
    (root / "sshd_config").write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {root}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PermitTTY no
X11Forwarding no
MaxStartups 100
LogLevel DEBUG1
""")
    host_pub = (root / "host_key.pub").read_text().split()
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    empty = root / "empty_known_hosts"
    empty.write_text("")
    user = getpass.getuser()
    common = (f"  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentitiesOnly yes\n"
              "  GlobalKnownHostsFile /dev/null\n")
    config = root / "ssh_config"
    config.write_text(
        f"Host hop1\n{common}  IdentityFile {root}/user_key\n  UserKnownHostsFile {known}\n\n"
        f"Host hop2\n{common}  IdentityFile {root}/user_key\n  UserKnownHostsFile {known}\n  ProxyJump hop1\n\n"
        f"Host stranger\n{common}  IdentityFile {root}/user_key\n  UserKnownHostsFile {empty}\n\n"
        f"Host via-stranger\n{common}  IdentityFile {root}/user_key\n  UserKnownHostsFile {known}\n"
        "  ProxyJump stranger\n\n"
        f"Host nokey\n{common}  IdentityFile {root}/other_key\n  UserKnownHostsFile {known}\n\n"
        f"Host closed\n  HostName 127.0.0.1\n  Port {_free_port()}\n  User {user}\n"
    )
    config.chmod(0o600)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    log = root / "sshd.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=log_file)
    server = Sshd(root, port, proc, log, config, known, empty)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = server.log_text()
            server.stop()
            raise RuntimeError(f"sshd exited with {proc.returncode}: {text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return server
        except OSError:
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
    server.stop()
    raise RuntimeError("sshd did not answer within 20 s")
