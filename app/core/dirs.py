"""The user's folders for Tidemark: configuration, data (sandbox, backups) and logs.

`TIDEMARK_HOME` puts all three under one folder: tests, CI and the packaged smoke test
never touch a user's real configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "tidemark"


def _home() -> Path | None:
    value = os.environ.get("TIDEMARK_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Where environments.toml lives."""
    home = _home()
    if home:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    """Where the sandbox cluster and backups live."""
    home = _home()
    if home:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def log_dir() -> Path:
    """Where the log file of unexpected errors is written."""
    home = _home()
    if home:
        return home / "logs"
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def log_file() -> Path:
    """The log file of unexpected errors (created on first use)."""
    return log_dir() / "tidemark.log"


def private_dir(path: Path) -> Path:
    """Create `path` and the missing folders up to it 0700 (data and backups are the user's alone).

    mkdir(mode=) with parents=True makes only the last folder with that mode; the ones above
    it would get the umask's.
    """
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=0o700, exist_ok=True)
        os.chmod(p, 0o700)  # mkdir's mode is filtered by the umask; 0700 is never wider than asked
    return path
