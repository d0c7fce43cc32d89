"""Which migrations folder and which target a runner gets when the caller names neither in full."""

from __future__ import annotations

from pathlib import Path

from app.core.connect import Target
from app.core.files import default_migrations_dir


def migrations_folder(target: Target, given: str | Path | None = None) -> Path:
    """The folder to use: the one given, the environment's own, the sandbox's, or ./migrations."""
    if given:
        return Path(given)
    own = getattr(target, "migrations_dir", None)  # a saved environment's folder
    if own:
        return Path(own)
    if target.source == "sandbox":
        from app.core.sandbox import migrations_dir_for

        return migrations_dir_for(Path.cwd())  # no migrations here: the bundled examples
    return default_migrations_dir()


def saved_environment(name: str) -> Target:
    """A saved environment's target (environments.toml and the keyring)."""
    from app.core.environments import resolve_environment

    return resolve_environment(name)


def local_sandbox() -> Target:
    """The local sandbox's target (started when needed)."""
    from app.core.sandbox import sandbox_target

    return sandbox_target()
