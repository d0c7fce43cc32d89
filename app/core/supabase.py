"""Supabase projects as they are: `supabase/config.toml`, and the Supabase shim.

The shim (resources/supabase/shim.sql) is just enough of a Supabase database for Supabase
migrations to run on plain PostgreSQL and on the sandbox: the auth schema, auth.users, the
claim functions, the API roles and the extensions schema. It is not Supabase, and it is
installed only where `auth.users` does not exist.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from app.core.connect import Target
from app.core.errors import DatabaseError, UsageError
from app.paths import resources_dir

if TYPE_CHECKING:
    from app.core.progress import CancelToken
    from app.core.protection import Confirmation

SHIM_MARKER = "Tidemark Supabase shim"


@dataclass(frozen=True)
class SupabaseConfig:
    """The settings of `supabase/config.toml` that Tidemark shows or uses."""

    path: Path
    project_id: str | None = None
    db_port: int | None = None
    db_shadow_port: int | None = None
    db_major_version: int | None = None
    migrations_enabled: bool = True
    raw: dict[str, object] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        """One line: project id, database version and port."""
        parts = [f"Supabase project {self.project_id or '(no project_id)'}"]
        if self.db_major_version:
            parts.append(f"PostgreSQL {self.db_major_version}")
        if self.db_port:
            parts.append(f"local port {self.db_port}")
        return ", ".join(parts) + f" ({self.path})"


def config_candidates(start: Path | None = None, migrations_dir: Path | None = None) -> list[Path]:
    """Where find_config looks, in order: next to a `supabase/migrations` folder, then `supabase/config.toml`
    of the project folder (a status without one says where it looked)."""
    candidates = []
    if migrations_dir is not None:
        candidates.append(migrations_dir.resolve().parent / "config.toml")
    candidates.append((start or Path.cwd()) / "supabase" / "config.toml")
    return list(dict.fromkeys(candidates))


def find_config(start: Path | None = None, migrations_dir: Path | None = None) -> Path | None:
    """`supabase/config.toml` of a project folder, or next to a `supabase/migrations` folder."""
    for c in config_candidates(start, migrations_dir):
        if c.is_file():
            return c
    return None


def read_config(path: Path) -> SupabaseConfig:
    """Parse config.toml; a broken file is a one-line error naming it and the line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise UsageError(f"{path}: not valid TOML: arrays or inline tables nested too deeply to read "
                         "(fix the file)") from None
    db = data.get("db") if isinstance(data.get("db"), dict) else {}
    assert isinstance(db, dict)
    migrations = db.get("migrations") if isinstance(db.get("migrations"), dict) else {}
    assert isinstance(migrations, dict)
    project_id = data.get("project_id")
    return SupabaseConfig(
        path=path,
        project_id=str(project_id) if project_id is not None else None,
        db_port=_int(db.get("port"), path, "db.port"),
        db_shadow_port=_int(db.get("shadow_port"), path, "db.shadow_port"),
        db_major_version=_int(db.get("major_version"), path, "db.major_version"),
        migrations_enabled=bool(migrations.get("enabled", True)),
        raw=data,
    )


def _int(value: object, path: Path, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{path}: {key} must be a whole number (got {value!r})")
    return value


def project_config(start: Path | None = None, migrations_dir: Path | None = None) -> SupabaseConfig | None:
    """The Supabase settings of the project, or None when it is not a Supabase project."""
    path = find_config(start, migrations_dir)
    return read_config(path) if path else None


# --- the shim --------------------------------------------------------------------------------


def shim_sql() -> str:
    """The shim's SQL text."""
    return (resources_dir() / "supabase" / "shim.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ShimResult:
    """What applying the shim did."""

    installed: bool
    message: str
    extensions: tuple[str, ...] = ()


def shim_state(conn: psycopg.Connection) -> str:
    """'none' (no auth.users), 'shim' (ours), or 'supabase' (a real, or foreign, auth.users)."""
    row = conn.execute(
        "SELECT to_regclass('auth.users') IS NOT NULL, "
        "coalesce(obj_description(to_regnamespace('auth'), 'pg_namespace'), '')"
    ).fetchone()
    assert row is not None
    if not row[0]:
        return "none"
    return "shim" if str(row[1]).startswith(SHIM_MARKER) else "supabase"


def shim_skipped(conn: psycopg.Connection) -> ShimResult | None:
    """What applying the shim here would do when it installs nothing (auth.users exists), else None."""
    state = shim_state(conn)
    if state == "supabase":
        return ShimResult(False, "auth.users exists: this looks like a Supabase database; the shim was not installed")
    if state == "shim":
        return ShimResult(False, "the Supabase shim is already installed", _extensions(conn))
    return None


def apply_shim_conn(conn: psycopg.Connection, allowed: Callable[[], object] | None = None) -> ShimResult:
    """Install the shim on this connection's database, in one transaction, unless auth.users exists.

    `allowed` is called just before it changes anything (the protection rule's check).
    """
    skipped = shim_skipped(conn)
    if skipped is not None:
        return skipped
    if allowed is not None:
        allowed()
    try:
        with conn.transaction():
            conn.execute(shim_sql())
    except psycopg.Error as exc:  # the server's refusal is the environment's, not a bug: one line that says it
        said = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
        state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
        raise DatabaseError(f"the Supabase shim was not installed, none of it (one transaction, rolled back): "
                            f"{said}{state}") from None
    return ShimResult(True, "Supabase shim installed (a shim, not Supabase)", _extensions(conn))


def apply_shim(target: Target, confirmed: Confirmation | None = None,
               cancel: CancelToken | None = None) -> ShimResult:
    """Install the shim on a target database (see apply_shim_conn); a protected one needs `confirmed`.

    `cancel` interrupts the running statement (the shim's transaction is then rolled back).
    """
    from app.core.protection import Action, enforce
    from app.core.runner_session import connection

    with connection(target, cancel) as conn:
        return apply_shim_conn(conn, lambda: enforce(confirmed, target, Action.SHIM, ["the Supabase shim"]))


def _extensions(conn: psycopg.Connection) -> tuple[str, ...]:
    rows = conn.execute(
        "SELECT e.extname FROM pg_extension e WHERE e.extname IN ('uuid-ossp', 'pgcrypto') ORDER BY 1"
    ).fetchall()
    return tuple(r[0] for r in rows)
