"""`tidemark.toml` at a project's root: the layout and the migrations folder it declares,
Flyway placeholder values (`placeholders = { schema = "app" }`) shared by every environment, and
whether Sqitch verify scripts run on deploy (`verify = false`; on by default), notifications for
every target of the project (`[notifications.NAME]`, checked by app.core.notify.config), and the
schema file `migrate` writes after a run (`schema_file = "db/schema.sql"`, as --dump-schema)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import UsageError

FILE = "tidemark.toml"
KNOWN = ("layout", "migrations", "placeholders", "verify", "notifications", "schema_file")
_STRINGS = ("layout", "migrations", "schema_file")


@dataclass(frozen=True)
class Project:
    """What a tidemark.toml says."""

    path: Path  # the tidemark.toml
    layout: str | None = None
    migrations: Path | None = None  # resolved against the file's folder
    placeholders: dict[str, str] = field(default_factory=dict)  # Flyway `${name}` values
    verify: bool = True  # Sqitch: run each change's verify script after its deploy (app.core.verify)
    notifications: object = field(default_factory=dict)  # the raw table; app.core.notify.config checks it
    schema_file: Path | None = None  # `migrate` writes the schema there after a run (resolved against the folder)


def load(path: Path) -> Project:
    """Read one tidemark.toml (UsageError naming the file, line and key when it is wrong)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    unknown = sorted(set(doc) - set(KNOWN))
    if unknown:
        raise UsageError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(KNOWN)})")
    for key in _STRINGS:
        if key in doc and not isinstance(doc[key], str):
            raise UsageError(f'{path}: {key} must be a string, e.g. {key} = "{_EXAMPLE[key]}"')
    layout = doc.get("layout")
    if layout is not None:
        from app.core.layouts import check_name

        check_name(layout, path)
    migrations = doc.get("migrations")
    verify = doc.get("verify", True)
    if not isinstance(verify, bool):
        raise UsageError(f"{path}: verify must be true or false, e.g. verify = false")
    schema_file = doc.get("schema_file")
    return Project(path, layout, path.parent / migrations if migrations else None,
                   _placeholders(doc.get("placeholders", {}), path), verify, doc.get("notifications", {}),
                   path.parent / schema_file if schema_file else None)


def _placeholders(table: object, path: Path) -> dict[str, str]:
    """The `placeholders` table: names to text (UsageError naming the file and the entry)."""
    from app.core.layouts.placeholders import check_name

    if not isinstance(table, dict):
        raise UsageError(f'{path}: placeholders must be a table, e.g. placeholders = {{ schema = "app" }}')
    for name, value in table.items():
        problem = check_name(name)
        if problem is not None:
            raise UsageError(f"{path}: {problem}")
        if not isinstance(value, str):
            raise UsageError(f'{path}: placeholder {name!r} must be text, e.g. {name} = "value"')
    return dict(table)


_EXAMPLE = {"layout": "dbmate", "migrations": "db/migrations", "schema_file": "db/schema.sql"}


def at(root: Path) -> Project | None:
    """The tidemark.toml of this folder, if it has one."""
    path = root / FILE
    return load(path) if path.is_file() else None


def find(directory: Path) -> Project | None:
    """The tidemark.toml of the project a migrations folder is in: the folder's, or its nearest parent's."""
    try:
        start = directory.resolve()
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
        return None
    for folder in (start, *start.parents):
        found = at(folder)
        if found is not None:
            return found
    return None
