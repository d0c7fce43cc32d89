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
