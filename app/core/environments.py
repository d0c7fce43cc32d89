"""Environments (connection profiles) shared by the CLI and the desktop app.

API for the CLI and the app: list_environments, get_environment, save_environment,
delete_environment, resolve_environment (-> Target), test_environment / test_target (-> EnvironmentCheck).
A profile is stored in `environments.toml` in the config folder (written atomically, mode
0600); its password only in the OS keyring (app.core.passwords), or none: a password command
(app.core.password_command) gives one per connection; an SSH hop is app.core.tunnel's.
Without a stored password libpq falls back to PGPASSWORD and ~/.pgpass, so CI keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from app.core import environments_store, passwords
from app.core.connect import Target, describe_dsn
from app.core.envcheck import EnvironmentCheck, test_target
from app.core.errors import UsageError
from app.core.passwords import KeyringUnavailable
from app.core.reach import access_problems

FILE_NAME = "environments.toml"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_COLOUR = re.compile(r"^(#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|[A-Za-z]{3,20})$")
# Fields that choose the server; a DSN replaces all of them.
CONNECTION_FIELDS = ("host", "port", "database", "user", "service")

Notify = Callable[[str], None]
AskPassword = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Profile:
    """One environment: where to connect (a DSN without password, a service, or fields) and how."""

    name: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    sslmode: str | None = None
    sslrootcert: str | None = None
    service: str | None = None
    dsn: str | None = None
    migrations_dir: str | None = None
    protected: bool | None = None  # None: by the name (contains "prod"); always a bool once built
    colour: str | None = None
    groups: tuple[str, ...] = ()  # tags a fleet command selects by (`--group NAME`)
    databases: str | None = None  # a LIKE pattern: a fleet runs on every matching database of the server
    schemas: str | None = None  # a LIKE pattern: a fleet runs on every matching schema of the database
    sslcert: str | None = None
    sslkey: str | None = None
    ssh: str | None = None  # an SSH hop: [user@]host[:port] or a Host alias (app.core.tunnel)
    password_command: str | None = None  # instead of a stored password (app.core.password_command)
    # Flyway `${name}` values for this environment ([environments.NAME.placeholders]); pairs, so the
    # profile stays hashable.
    placeholders: tuple[tuple[str, str], ...] = ()
    notify: tuple[str, ...] = ()  # names of [notifications.NAME] (app.core.notify); their URLs: the keyring

    def __post_init__(self) -> None:
        if self.protected is None:
            object.__setattr__(self, "protected", default_protected(self.name))

    def conninfo(self) -> str:
        """The libpq connection string (never holds a password)."""
        from psycopg import conninfo

        params: dict[str, Any] = conninfo.conninfo_to_dict(self.dsn) if self.dsn else {}
        for key, value in (("host", self.host), ("port", self.port), ("dbname", self.database),
                           ("user", self.user), ("service", self.service), ("sslmode", self.sslmode),
                           ("sslrootcert", self.sslrootcert), ("sslcert", self.sslcert), ("sslkey", self.sslkey)):
            if value not in (None, ""):
                params[key] = str(value)
        params.pop("password", None)
        return conninfo.make_conninfo("", **params)

    def display(self) -> str:
        """`user@host:port/db` or `service NAME`: never a password."""
        return describe_dsn(self.conninfo())

    def validate(self) -> None:
        """Raise UsageError naming the first invalid field."""
        for _, problem in _problems(self):
            raise UsageError(f"environment {self.name!r}: {problem}")

    def to_table(self) -> dict[str, Any]:
        """The TOML table of the profile (set fields only)."""
        table = {k: v for k, v in asdict(self).items() if k != "name" and v is not None and v != "" and v != ()}
        for key in ("groups", "notify"):
            if key in table:
                table[key] = list(table[key])
        if "placeholders" in table:
            table["placeholders"] = dict(self.placeholders)
        return table


@dataclass(frozen=True)
class EnvironmentTarget(Target):
    """A Target resolved from a profile, with the profile's migrations folder and colour."""

    migrations_dir: Path | None = None
    colour: str | None = None
    placeholders: tuple[tuple[str, str], ...] = ()  # the profile's Flyway `${name}` values
    notify: tuple[str, ...] = ()  # the profile's notifications (app.core.notify), kept by a fleet's replace()


@dataclass(frozen=True)
class SaveResult:
    """What save_environment did; `password_from_dsn`: a password was moved out of the DSN."""

    profile: Profile
    password_stored: bool
    password_from_dsn: bool


@dataclass(frozen=True)
class DeleteResult:
    """What delete_environment did; `keyring_problem` when the keyring could not be checked."""

    name: str
    password_deleted: bool
    keyring_problem: str | None = None


def default_protected(name: str) -> bool:
    """Environments whose name contains "prod" are protected unless said otherwise."""
    return "prod" in name.lower()


def environments_file() -> Path:
    """The profiles file in the config folder (TIDEMARK_HOME in tests)."""
    from app.core.dirs import config_dir

    return config_dir() / FILE_NAME


def _read() -> dict[str, Profile]:
    return environments_store.read_profiles(environments_file())


def _write(profiles: dict[str, Profile]) -> None:
    environments_store.write_profiles(environments_file(), profiles)


# --- public API ------------------------------------------------------------------------------------

def list_environments() -> list[Profile]:
    """Every profile, sorted by name."""
    return [p for _, p in sorted(_read().items())]


def get_environment(name: str) -> Profile:
    """One profile; UsageError naming the known ones when it does not exist."""
    profiles = _read()
    if name not in profiles:
        raise UsageError(_unknown(name, profiles))
    return profiles[name]


def save_environment(profile: Profile, password: str | None = None) -> SaveResult:
    """Add or replace a profile; a password (given, or found in the DSN) goes to the keyring only."""
    profile, dsn_password = _strip_dsn_password(profile)
    if dsn_password and password and dsn_password != password:
        raise UsageError(f"environment {profile.name!r}: two different passwords given (in the DSN and "
                         "separately): give one")
    password = password or dsn_password
    profile.validate()
    if password:
        status = passwords.keyring_status()
        if status.problem:
            raise KeyringUnavailable(f"cannot store the password of {profile.name!r}: {status.problem}; "
                                     "nothing was saved (add it without a password and use ~/.pgpass or "
                                     "PGPASSWORD, or unlock/install a keyring)")
    old = _read()
    _write({**old, profile.name: profile})
    if password:
        try:
            passwords.set_password(profile.name, password)
        except KeyringUnavailable:
            _write(old)  # neither the profile nor the password: the user retries as a whole
            raise
    return SaveResult(profile, bool(password), bool(dsn_password))


def delete_environment(name: str) -> DeleteResult:
    """Remove a profile and its keyring entry."""
    profiles = _read()
    if name not in profiles:
        raise UsageError(_unknown(name, profiles))
    problem = None
    deleted = False
    try:
        deleted = passwords.delete_password(name)
    except KeyringUnavailable as exc:
        problem = exc.message
    del profiles[name]
    _write(profiles)
    return DeleteResult(name, deleted, problem)


def password_stored(name: str) -> bool | None:
    """True/False whether the keyring holds a password for the environment; None if it cannot tell."""
    try:
        return passwords.get_password(name) is not None
    except KeyringUnavailable:
        return None


def resolve_environment(name: str, *, notify: Notify | None = None, ask_password: AskPassword | None = None,
                        whole: bool = False) -> EnvironmentTarget:
    """The Target of a profile, with its password from the keyring (None: libpq finds one).

    `ENV/DATABASE`, `ENV/SCHEMA`, `ENV/DATABASE/SCHEMA`: one target of a profile with patterns.
    A profile with patterns by its name alone stands for many targets: UsageError, unless
    `whole` (a fleet expanding it: app.core.fleet_targets).
    """
    name, _, member = name.partition("/")
    profile = get_environment(name)
    password = None
    # A password command replaces the keyring: nothing to look up (or to warn about).
    problem = None if profile.password_command else passwords.keyring_status().problem
    if problem is None and not profile.password_command:
        try:
            password = passwords.get_password(name)
        except KeyringUnavailable as exc:
            problem = exc.message
    if problem:
        if notify is not None:
            notify(f"note: the keyring cannot give the password of {name!r} ({_cause(problem)}); "
                   "falling back to a prompt, PGPASSWORD or ~/.pgpass")
        if ask_password is not None:
            password = ask_password(f"Password for {name} ({profile.display()}): ") or None
    target = profile_target(profile, password)
    if member or ((profile.databases or profile.schemas) and not whole):
        from app.core import fleet_targets

        if not member:
            raise UsageError(fleet_targets.stands_for_many(name, profile.databases, profile.schemas))
        return fleet_targets.member_target(target, member, profile.databases, profile.schemas)
    return target


def profile_target(profile: Profile, password: str | None) -> EnvironmentTarget:
    """The Target a profile describes, with this password (None: the password command, or libpq's own)."""
    folder = Path(profile.migrations_dir).expanduser() if profile.migrations_dir else None
    return EnvironmentTarget(profile.conninfo(), f"environment {profile.name}", profile.name, password,
                             bool(profile.protected), folder, profile.colour, profile.placeholders,
                             profile.notify, ssh=profile.ssh, password_command=profile.password_command)


def test_environment(name: str, *, notify: Notify | None = None,
                     ask_password: AskPassword | None = None) -> EnvironmentCheck:
    """Connect to an environment and report server, login, missing privileges and latency."""
    return test_target(resolve_environment(name, notify=notify, ask_password=ask_password, whole=True))


test_environment.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def split_password(dsn: str) -> tuple[str, str | None]:
    """A DSN without its password, and the password (None when it held none)."""
    from psycopg import ProgrammingError, conninfo

    try:
        params = conninfo.conninfo_to_dict(dsn)
    except ProgrammingError as exc:
        from app.core.errors import redact

        raise UsageError(f"dsn is not a valid connection string: {redact(str(exc)).splitlines()[0]}") from None
    password = params.pop("password", None)
    if password is None:
        return dsn, None
    if re.match(r"^postgres(ql)?://", dsn, re.IGNORECASE):
        return _url_without_password(dsn), str(password)  # keep the URL form the user typed
    return conninfo.make_conninfo("", **params), str(password)


def _url_without_password(url: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{hosts}" if userinfo.split(":", 1)[0] else hosts
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _problems(p: Profile) -> list[tuple[str | None, str]]:
    """(field, message) for every invalid field; field None for the profile as a whole."""
    out: list[tuple[str | None, str]] = []
    if not isinstance(p.name, str) or not _NAME.match(p.name):
        out.append(("name", "the name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"))
    for key in ("host", "database", "user", "sslrootcert", "service", "dsn", "migrations_dir", "sslmode", "colour",
                "databases", "schemas", "sslcert", "sslkey", "ssh", "password_command"):
        value = getattr(p, key)
        if value is not None and not isinstance(value, str):
            out.append((key, f"field {key!r} must be text, not {type(value).__name__}"))
    if out:
        return out
    if p.port is not None and (isinstance(p.port, bool) or not isinstance(p.port, int) or not 0 < p.port < 65536):
        out.append(("port", f"field 'port' must be a number from 1 to 65535, not {p.port!r}"))
    if not isinstance(p.protected, bool):
        out.append(("protected", f"field 'protected' must be true or false, not {p.protected!r}"))
    if p.sslmode is not None and p.sslmode not in SSLMODES:
        out.append(("sslmode", f"field 'sslmode' must be one of {', '.join(SSLMODES)}, not {p.sslmode!r}"))
    if not isinstance(p.groups, tuple) or not all(isinstance(g, str) and _NAME.match(g) for g in p.groups):
        out.append(("groups", "field 'groups' must be a list of names (letters, digits, '.', '_', '-'), "
                    f"not {p.groups!r}"))
    if not isinstance(p.notify, tuple) or not all(isinstance(n, str) and _NAME.match(n) for n in p.notify):
        out.append(("notify", "field 'notify' must be a list of notification names (`tidemark notify list`), "
                    f"not {p.notify!r}"))
    out += _placeholder_problems(p.placeholders)
    out += access_problems(p.ssh, p.password_command)
    if p.colour is not None and not _COLOUR.match(p.colour):
        out.append(("colour", f"field 'colour' must be #rgb, #rrggbb or a colour name, not {p.colour!r}"))
    if p.dsn:
        try:
            _, pw = split_password(p.dsn)
        except UsageError as exc:
            out.append(("dsn", exc.message))
        else:
            if pw is not None:
                out.append(("dsn", "the DSN holds a password: passwords belong in the keyring "
                            f"(`tidemark env edit {p.name} --password-stdin`)"))
        others = [k for k in CONNECTION_FIELDS if getattr(p, k) not in (None, "")]
        if others:
            out.append(("dsn", f"give either a DSN or separate fields ({', '.join(others)}), not both"))
    return out


def _placeholder_problems(placeholders: object) -> list[tuple[str | None, str]]:
    from app.core.layouts.placeholders import check_name

    example = 'placeholders = { schema = "app" }'
    if not isinstance(placeholders, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in placeholders):
        return [("placeholders", f"field 'placeholders' must be a table of names and text, e.g. {example}")]
    for name, value in placeholders:
        problem = check_name(name) if isinstance(name, str) else "placeholder names must be text"
        if problem is None and not isinstance(value, str):
            problem = f"placeholder {name!r} must be text, not {type(value).__name__} (e.g. {name} = \"value\")"
        if problem is not None:
            return [("placeholders", problem)]
    return []


def _strip_dsn_password(profile: Profile) -> tuple[Profile, str | None]:
    if not profile.dsn:
        return profile, None
    dsn, password = split_password(profile.dsn)
    return (replace(profile, dsn=dsn), password) if password is not None else (profile, None)


def _unknown(name: str, profiles: dict[str, Profile]) -> str:
    if not profiles:
        return (f"unknown environment {name!r}: none is defined yet (add one with "
                f"`tidemark env add {name} --dsn postgresql://user@host/db`)")
    return f"unknown environment {name!r} (known: {', '.join(sorted(profiles))}; see `tidemark env list`)"


def _cause(problem: str) -> str:
    """The cause part of a keyring problem, without the advice after ';'."""
    return problem.split(";", 1)[0]


__all__ = [
    "DeleteResult", "EnvironmentCheck", "EnvironmentTarget", "KeyringUnavailable", "Profile", "SaveResult",
    "default_protected", "delete_environment", "environments_file", "get_environment", "list_environments",
    "password_stored", "profile_target", "resolve_environment", "save_environment", "split_password",
    "test_environment", "test_target",
]
