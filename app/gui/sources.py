"""Where the app can connect: saved environments, the local sandbox, or a DSN and a folder.

The environments and sandbox modules are optional here (imports guarded): without them the
app still works with "Open DSN / folder...". Nothing in this module touches the network:
resolving a source to a runner happens on the worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.connect import Target
    from app.core.runner import MigrationRunner

SANDBOX_KEY = "sandbox"

# Colours a DBA reads at a glance; an environment may carry its own.
_NAME_COLOURS = (
    (("prod", "live"), "#c62828"),
    (("stag", "preprod", "uat", "qa"), "#ef6c00"),
    (("dev", "local", "test", "sandbox"), "#2e7d32"),
)


def colour_for(name: str, protected: bool = False) -> str:
    """A colour for an environment name (red for production-like or protected ones)."""
    low = name.lower()
    for needles, colour in _NAME_COLOURS:
        if any(n in low for n in needles):
            return colour
    return "#c62828" if protected else "#1565c0"


@dataclass(frozen=True)
class Source:
    """One entry of the environment bar."""

    key: str  # stable id, kept in the settings ("env:production", "sandbox", "dsn:...")
    name: str  # what the title bar and the confirmations show
    kind: str  # "environment", "sandbox" or "dsn"
    colour: str
    protected: bool = False
    dsn: str | None = None
    migrations_dir: Path | None = None
    target: Target | None = field(default=None, compare=False)  # a ready Target (tests, DSN sources)
    detail: str = ""  # user@host:port/db, for the banner
    groups: tuple[str, ...] = ()  # a saved environment's groups (the overview groups its rows by them)

    def make_runner(self, options: Any = None, *, whole: bool = False) -> MigrationRunner:
        """Resolve the connection and build a runner (worker thread: may read the keyring or start the sandbox).

        `whole`: an environment with databases/schemas patterns as itself, for the overview to expand
        (alone it stands for many targets and is refused: see resolve_environment)."""
        from app.core.runner import MigrationRunner
        from app.paths import example_migrations_dir

        folder = self.migrations_dir
        if self.target is not None:
            target = self.target
        elif self.kind == "sandbox":
            target, sandbox_folder = _start_sandbox()
            folder = folder or sandbox_folder or example_migrations_dir()
        elif self.kind == "environment":
            from app.core.environments import resolve_environment  # type: ignore[import-not-found]

            target = resolve_environment(self.name, whole=whole)
            folder = folder or getattr(target, "migrations_dir", None)
        else:
            from app.core.connect import resolve_target

            target = resolve_target(self.dsn or "")
        if folder is None:
            from app.core.files import default_migrations_dir

            folder = default_migrations_dir()
        typed = session_password(self.key)
        if typed is not None:
            from dataclasses import replace

            target = replace(target, password=typed)
        return MigrationRunner(target, Path(folder), options)


_passwords: dict[str, str] = {}  # typed in the app this session: in memory only, never written
_passwords_lock = threading.Lock()


def remember_password(key: str, password: str) -> None:
    """Keep a typed password for a source until the app quits (memory only)."""
    with _passwords_lock:
        _passwords[key] = password


def session_password(key: str) -> str | None:
    """The password typed for a source this session, if any."""
    with _passwords_lock:
        return _passwords.get(key)


_started_sandbox = threading.Event()  # set when this app started the sandbox server: it stops it on quit


def _start_sandbox() -> tuple[Target, Path | None]:
    from app.core import sandbox

    was_running = sandbox.default_sandbox().running()
    target = sandbox.sandbox_target()
    if not was_running:
        _started_sandbox.set()
    folder = None
    if hasattr(sandbox, "migrations_dir_for"):
        folder = sandbox.migrations_dir_for(Path.cwd())
    return target, folder


def stop_sandbox_if_started() -> bool:
    """Stop the sandbox server if this app started it (the CLI leaves it running; the app cleans up)."""
    if not _started_sandbox.is_set():
        return False
    from app.core import sandbox

    try:
        stopped = sandbox.default_sandbox().stop()
    except Exception as exc:  # quitting must go on; say why in the log
        from app.gui.crash import write_log

        write_log(f"could not stop the sandbox: {exc}")
        return False
    _started_sandbox.clear()
    return stopped


def dsn_source(dsn: str, migrations_dir: Path, *, name: str | None = None, protected: bool = False) -> Source:
    """A source for any DSN and folder ("Open DSN / folder...")."""
    from app.core.connect import Target, describe_dsn

    label = name or describe_dsn(dsn)
    target = Target(dsn, "--dsn", environment=name, protected=protected)
    return Source(f"dsn:{describe_dsn(dsn)}|{migrations_dir}", label, "dsn", colour_for(label, protected),
                  protected, dsn, migrations_dir, target, describe_dsn(dsn))


def target_source(target: Target, migrations_dir: Path, name: str | None = None) -> Source:
    """A source for a ready Target (tests, scripts)."""
    label = name or target.environment or target.display()
    return Source(f"target:{label}", label, "dsn", colour_for(label, target.protected), target.protected,
                  target.dsn, migrations_dir, target, target.display())


def environments_available() -> bool:
    """True when app.core.environments is installed."""
    try:
        import app.core.environments  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def sandbox_available() -> bool:
    """True when app.core.sandbox is installed."""
    try:
        from app.core.sandbox import sandbox_target  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def _profile_value(profile: Any, *names: str) -> Any:
    for n in names:
        if isinstance(profile, dict) and n in profile:
            return profile[n]
        if hasattr(profile, n):
            return getattr(profile, n)
    return None


def environment_source(profile: Any) -> Source:
    """A source for a saved environment profile (fields read defensively: the module is optional)."""
    name = str(_profile_value(profile, "name"))
    protected = bool(_profile_value(profile, "protected"))
    colour = _profile_value(profile, "colour", "color") or colour_for(name, protected)
    folder = _profile_value(profile, "migrations_dir", "migrations_folder", "migrations")
    detail = ""
    display = _profile_value(profile, "display")
    if callable(display):
        try:
            detail = str(display())
        except Exception:  # a display helper that fails must not hide the environment
            detail = ""
    if not detail:
        host = _profile_value(profile, "host") or ""
        port = _profile_value(profile, "port") or ""
        db = _profile_value(profile, "database", "dbname") or ""
        user = _profile_value(profile, "user") or ""
        service = _profile_value(profile, "service")
        detail = f"service {service}" if service else f"{user + '@' if user else ''}{host}:{port}/{db}"
    groups = tuple(_profile_value(profile, "groups") or ())
    return Source(f"env:{name}", name, "environment", str(colour), protected,
                  migrations_dir=Path(folder).expanduser() if folder else None, detail=detail, groups=groups)


def list_sources() -> tuple[list[Source], str | None]:
    """Saved environments and the sandbox, and a one-line problem reading them (or None)."""
    out: list[Source] = []
    problem = None
    if environments_available():
        from app.core.environments import list_environments  # type: ignore[import-not-found]

        try:
            profiles = list_environments()
        except Exception as exc:  # a broken environments file: say so, keep the app usable
            problem = f"cannot read the saved environments: {exc}"
            profiles = []
        out.extend(environment_source(p) for p in profiles)
    if sandbox_available():
        out.append(Source(SANDBOX_KEY, "Local sandbox", "sandbox", "#2e7d32", False,
                          detail="embedded PostgreSQL in your data folder"))
    return out, problem


def merged(saved: list[Source], opened: list[Source]) -> tuple[list[Source], list[str]]:
    """The environment bar's entries, one per name: the saved ones (and the sandbox) as listed, then
    the databases opened by DSN, the latest opening of a name in place of an earlier one.

    An opened database named like a saved environment is left out (the saved one is what the name
    means, in the CLI too); the returned notes say which, for the log.
    """
    out: list[Source] = []
    for s in saved:
        if all(s.name != o.name for o in out):
            out.append(s)
    taken = {s.name for s in out}
    latest: dict[str, Source] = {}
    for s in opened:
        latest.pop(s.name, None)  # re-inserted: the latest opening keeps the place of the newest
        latest[s.name] = s
    notes = [f"the database opened as {name!r} ({s.detail}) is not listed: a saved environment has that name; "
             "open it again under another name" for name, s in latest.items() if name in taken]
    return out + [s for name, s in latest.items() if name not in taken], notes
