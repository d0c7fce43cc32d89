"""Window settings (geometry, last environment) in QSettings; never a password."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORG = "Tidemark"
APP = "tidemark-gui"


def make_settings() -> QSettings:
    """The app's QSettings: an INI file under TIDEMARK_HOME when set (tests, smoke tests), else Qt's default place."""
    if os.environ.get("TIDEMARK_HOME"):
        from app.core.dirs import config_dir

        return QSettings(str(config_dir() / "gui.ini"), QSettings.Format.IniFormat)
    return QSettings(ORG, APP)


def strip_password(dsn: str) -> str:
    """The DSN without a password, fit to be remembered (libpq finds the password in ~/.pgpass)."""
    from psycopg import ProgrammingError, conninfo

    try:
        params = conninfo.conninfo_to_dict(dsn)
    except ProgrammingError:
        return ""
    params.pop("password", None)
    return conninfo.make_conninfo("", **params)


def read_str(settings: QSettings, key: str, default: str = "") -> str:
    """A string setting."""
    value = settings.value(key)
    return default if value is None else str(value)


def read_bool(settings: QSettings, key: str, default: bool = False) -> bool:
    """A boolean setting (INI files hold "true"/"false").

    Not `settings.value(key, default, bool)`: with PySide6 6.12 that conversion corrupts the
    refcount of True/False ("bool_dealloc" fatal error at interpreter exit).
    """
    value = settings.value(key)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def remember_dsn(settings: QSettings, dsn: str, folder: Path, name: str, protected: bool) -> None:
    """Keep the last opened DSN source (without its password)."""
    settings.setValue("dsn/dsn", strip_password(dsn))
    settings.setValue("dsn/folder", str(folder))
    settings.setValue("dsn/name", name)
    settings.setValue("dsn/protected", protected)


def recall_dsn(settings: QSettings) -> tuple[str, Path, str, bool] | None:
    """The last opened DSN source, if any."""
    dsn = read_str(settings, "dsn/dsn")
    folder = read_str(settings, "dsn/folder")
    if not dsn or not folder:
        return None
    return dsn, Path(folder), read_str(settings, "dsn/name"), read_bool(settings, "dsn/protected")
