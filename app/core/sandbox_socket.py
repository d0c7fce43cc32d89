"""The sandbox's Unix socket folder: where it is, and keeping it private.

The sandbox's server trusts every connection on its socket, so the folder holding it is what
keeps other OS users out: 0700, owned by us (or the server's service user), never a symlink.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from app.core.errors import ServerError
from app.core.localserver import is_postgres_process
from app.core.service_user import SERVICE_USER

TCP_ONLY = sys.platform == "win32"  # no Unix socket for libpq there: 127.0.0.1 with trust
_SOCKET_PATH_MAX = 100  # sun_path holds 104-108 bytes, and ".s.PGSQL.NNNNN" goes after the folder


def socket_dir_for(root: Path) -> Path | None:
    """The private folder of a sandbox's Unix socket (None on Windows)."""
    if TCP_ONLY:
        return None
    own = root / "run"
    if len(str(own)) <= _SOCKET_PATH_MAX:
        return own
    # A deep data folder would overflow sun_path: a private folder in the temp dir instead.
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"tidemark-{os.getuid()}-{tag}"  # type: ignore[attr-defined]


def private_socket_dir(d: Path | None) -> None:
    """Make the socket folder 0700, and refuse one that another OS user made (trust rides on it)."""
    if d is None:
        return
    d.mkdir(parents=True, exist_ok=True)
    owners = {os.getuid()}  # type: ignore[attr-defined]
    with contextlib.suppress(KeyError, ImportError):
        import pwd

        owners.add(pwd.getpwnam(SERVICE_USER).pw_uid)
    if d.stat().st_uid not in owners or d.is_symlink():
        raise ServerError(f"the sandbox socket folder {d} belongs to another user: remove it, then run again")
    d.chmod(0o700)


def remove_stale_socket_locks(d: Path | None) -> None:
    """Lock files of a killed server in our private socket folder (PostgreSQL refuses a zombie's)."""
    if d is None or not d.is_dir():
        return
    for lock in d.glob(".s.PGSQL.*.lock"):
        try:
            pid = int(lock.read_text().split("\n", 1)[0].strip())
        except (OSError, ValueError):
            pid = -1
        if pid > 0 and _alive(pid) and is_postgres_process(pid):
            continue
        for stale in (lock, lock.with_suffix("")):
            with contextlib.suppress(OSError):
                stale.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
