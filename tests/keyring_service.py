"""A real Secret Service for the keyring tests: a private D-Bus session bus and gnome-keyring-daemon.

The keyring lives in a temporary HOME/XDG_DATA_HOME, so a new "login" collection is created,
unlocked with a password made up at run time. Readiness is polled on the bus with a deadline.
Use it as a fixture: `secret_service = pytest.fixture(scope="module")(keyring_service.secret_service)`.
"""

from __future__ import annotations

import os
import secrets
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BACKEND = "keyring.backends.SecretService.Keyring"
READY_TIMEOUT_S = 60.0  # a deadline, not a wait: under two busy test workers 20 s was once not enough


@dataclass
class SecretService:
    """A running Secret Service; `env` holds the variables a subprocess needs to reach it."""

    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def subprocess_env(self, **extra: str) -> dict[str, str]:
        """os.environ plus this bus, with the SecretService backend forced."""
        return {**os.environ, **self.env, "PYTHON_KEYRING_BACKEND": BACKEND, **extra}

    def stop(self) -> None:
        """Stop the daemons we started (by their pid) and remove the folder."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start(attempts: int = 3) -> SecretService:
    """Start dbus-daemon and gnome-keyring-daemon; skip when gnome-keyring is not installed.

    On a loaded machine the daemon sometimes never creates its login collection (seen in CI once
    in several runs): a fresh bus and daemon are tried again, each with its own deadline.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_once()
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _start_once() -> SecretService:
    daemon = shutil.which("gnome-keyring-daemon")
    bus = shutil.which("dbus-daemon")
    if not daemon or not bus:
        pytest.skip("gnome-keyring-daemon or dbus-daemon is not installed (Debian: gnome-keyring dbus)")
    root = Path(tempfile.mkdtemp(prefix="tm-keyring-"))
    env = {}
    for key, sub in (("HOME", "home"), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_RUNTIME_DIR", "run"), ("XDG_CACHE_HOME", "cache")):
        (root / sub).mkdir(mode=0o700)
        env[key] = str(root / sub)
    service = SecretService(root, env)
    try:
        bus_proc = subprocess.Popen([bus, "--session", "--nofork", "--nopidfile", "--print-address=1"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                    env={**os.environ, **env})
        service.processes.append(bus_proc)
        env["DBUS_SESSION_BUS_ADDRESS"] = _read_address(bus_proc)
        log = (root / "gnome-keyring.log").open("w")
        keyring_proc = subprocess.Popen([daemon, "--foreground", "--unlock", "--components=secrets"],
                                        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **env})
        service.processes.append(keyring_proc)
        assert keyring_proc.stdin is not None
        keyring_proc.stdin.write(secrets.token_urlsafe(16).encode())  # the new login keyring's password
        keyring_proc.stdin.close()
        _wait_ready(service, keyring_proc)
    except BaseException:
        service.stop()
        raise
    return service


def secret_service() -> Iterator[SecretService]:
    """Fixture body: a running service, stopped at the end of the scope."""
    service = start()
    try:
        yield service
    finally:
        service.stop()


def backend(service: SecretService):  # -> keyring.backends.SecretService.Keyring
    """The SecretService keyring backend of this bus (the bus address is read from os.environ)."""
    from keyring.backends import SecretService as ss

    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.env["DBUS_SESSION_BUS_ADDRESS"]
    return ss.Keyring()


def _read_address(proc: subprocess.Popen) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=READY_TIMEOUT_S):
            raise RuntimeError("dbus-daemon printed no address")
    address = proc.stdout.readline().strip()
    if not address:
        raise RuntimeError(f"dbus-daemon exited ({proc.poll()}) without an address")
    return address


def _wait_ready(service: SecretService, proc: subprocess.Popen) -> None:
    """Poll the bus until the new login collection exists unlocked, or the deadline passes.

    Only calls that never prompt are polled: asking for the default collection before the
    daemon has made it would start a "create keyring" prompt, dismissed without a display.
    """
    import secretstorage

    saved = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.env["DBUS_SESSION_BUS_ADDRESS"]
    deadline = time.monotonic() + READY_TIMEOUT_S
    last: Exception | None = None
    try:
        bus = secretstorage.dbus_init()
        try:
            while time.monotonic() < deadline:
                try:
                    if secretstorage.check_service_availability(bus) and any(
                            c.collection_path.endswith("/login") and not c.is_locked()
                            for c in secretstorage.get_all_collections(bus)):
                        break
                except Exception as exc:  # not on the bus yet: any D-Bus error means "try again"
                    last = exc
                try:
                    code = proc.wait(timeout=0.05)  # the poll interval, and it notices a daemon that died
                except subprocess.TimeoutExpired:
                    continue
                log = (service.root / "gnome-keyring.log").read_text(errors="replace")
                raise RuntimeError(f"gnome-keyring-daemon exited with {code}: {log.strip()[-500:]}")
            else:
                raise RuntimeError(f"the Secret Service was not ready within {READY_TIMEOUT_S} s: {last!r}")
        finally:
            bus.close()
        kr = backend(service)  # and it works end to end through keyring
        probe = secrets.token_hex(8)
        kr.set_password("tidemark-test-ready", "probe", probe)
        assert kr.get_password("tidemark-test-ready", "probe") == probe
        kr.delete_password("tidemark-test-ready", "probe")
    finally:
        if saved is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = saved
