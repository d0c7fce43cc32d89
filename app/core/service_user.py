"""PostgreSQL refuses to run as root (CI machines and containers often are): then the local
server runs as a dedicated OS user, as the wheel's own layer does, and what it must reach
(binaries, data and socket folders) is opened to it, never the user's home."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from app.core.errors import ServerError
from app.core.pg_binaries import Binaries

SERVICE_USER = "tidemark-pg"


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_service_user() -> str:
    import pwd

    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=True, capture_output=True)
    return SERVICE_USER


def open_path_for_others(path: Path) -> None:
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
        make_readable(part)
        os.replace(part, dest)
    return Binaries(dest / binaries.bin_dir.name, binaries.major, binaries.origin)


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


def make_readable(tree: Path) -> None:
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
