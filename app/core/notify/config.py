"""Which notifications a target has: `[notifications.NAME]` tables (kind, events, timeout, lock_wait)
in environments.toml, named by a profile's `notify = ["NAME"]`, and in a project's tidemark.toml,
where they apply to every target of the project. A URL is never in either file: it is a secret in
the keyring (account `notify:NAME`) or, for CI, in the variable TIDEMARK_NOTIFY_URL_<NAME>.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import UsageError

if TYPE_CHECKING:
    from app.core.connect import Target

KINDS = ("webhook", "slack")
# The events a notification can ask for; one word each, as they are typed in --events and the files.
EVENTS = ("finished", "failed", "rollback", "drift", "lock-wait")
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_LOCK_WAIT_S = 60.0
MAX_TIMEOUT_S = 60.0
ENVIRONMENT, PROJECT = "environment", "project"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_FIELDS = ("kind", "events", "timeout", "lock_wait")


@dataclass(frozen=True)
class Notification:
    """One notification target: a name (its URL's key in the keyring), what it is and when it is sent."""

    name: str
    kind: str
    events: tuple[str, ...]
    timeout_s: float = DEFAULT_TIMEOUT_S  # the whole delivery, retry included
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S  # "lock-wait": sent once a run has waited this long for the lock
    scope: str = ENVIRONMENT  # where it is defined: environments.toml, or a project's tidemark.toml

    def to_table(self) -> dict[str, Any]:
        """Its TOML table (no URL: there is none to write)."""
        table: dict[str, Any] = {"kind": self.kind, "events": list(self.events)}
        if self.timeout_s != DEFAULT_TIMEOUT_S:
            table["timeout"] = self.timeout_s
        if self.lock_wait_s != DEFAULT_LOCK_WAIT_S:
            table["lock_wait"] = self.lock_wait_s
        return table


def check_name(name: str) -> str:
    """The name, or UsageError saying what a name may be."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"notification name {name!r}: 1-63 letters, digits, '.', '_' or '-', starting with a "
                         "letter or digit")
    return name


def parse_events(text: str) -> tuple[str, ...]:
    """`failed,drift` as a tuple, each checked (UsageError naming the unknown one)."""
    events = tuple(dict.fromkeys(e.strip() for e in text.split(",") if e.strip()))
    return _checked_events(events, "--events")


def _checked_events(events: object, where: str) -> tuple[str, ...]:
    if not isinstance(events, list | tuple) or not events or not all(isinstance(e, str) for e in events):
        raise UsageError(f"{where}: events must be a list of one or more of {', '.join(EVENTS)}")
    for e in events:
        if e not in EVENTS:
            raise UsageError(f"{where}: unknown event {e!r} (known: {', '.join(EVENTS)})")
    return tuple(events)


def from_table(name: str, table: object, where: str, scope: str) -> Notification:
    """A notification read from a file; UsageError naming the file, the table and the field."""
    at = f"{where}: [notifications.{name}]"
    if not _NAME.match(str(name)):
        _bad(f"{at}: the name must be 1-63 letters, digits, '.', '_' or '-'")
    if not isinstance(table, dict):
        _bad(f"{at} must be a table (kind = \"slack\", events = [\"failed\"])")
    assert isinstance(table, dict)
    if "url" in table:
        _bad(f"{at}: a URL is not read from a file (it is a secret); remove the line and store it with "
             f"`tidemark notify add {name} --kind {table.get('kind', 'webhook')} --events ...`")
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        _bad(f"{at}: unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})")
    kind = table.get("kind")
    if kind not in KINDS:
        _bad(f"{at}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    events = _checked_events(table.get("events"), f"{at}: events")
    timeout = _seconds(table.get("timeout", DEFAULT_TIMEOUT_S), f"{at}: timeout", MAX_TIMEOUT_S)
    lock_wait = _seconds(table.get("lock_wait", DEFAULT_LOCK_WAIT_S), f"{at}: lock_wait", math.inf)
    return Notification(name, str(kind), events, timeout, lock_wait, scope)


def _seconds(value: object, where: str, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= most:
        limit = f" and at most {most:g}" if most != math.inf else ""
        _bad(f"{where} must be a number of seconds above 0{limit}, not {value!r}")
    return float(value)  # type: ignore[arg-type]


def _bad(message: str) -> None:
    raise UsageError(message)


# --- the files ------------------------------------------------------------------------------------

def saved() -> dict[str, Notification]:
    """The notifications of environments.toml (`[notifications.NAME]`)."""
    from app.core.environments import environments_file
    from app.core.environments_store import read_doc

    path = environments_file()
    table = read_doc(path)[0].get("notifications", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: 'notifications' must be a table of [notifications.NAME] tables")
    return {name: from_table(name, t, str(path), ENVIRONMENT) for name, t in table.items()}


def of_project(migrations_dir: Path) -> dict[str, Notification]:
    """The notifications of the tidemark.toml of the project the folder is in (none without one)."""
    from app.core.layouts.config import find

    project = find(migrations_dir)
    if project is None:
        return {}
    table = project.notifications
    if not isinstance(table, dict):
        raise UsageError(f"{project.path}: 'notifications' must be a table of [notifications.NAME] tables")
    return {name: from_table(name, t, str(project.path), PROJECT) for name, t in table.items()}


def notifies(target: Target) -> bool:
    """False for the local sandbox and the throwaway servers of rehearse and drift (not the user's targets)."""
    return not (target.source == "sandbox" or target.source.endswith(" sandbox"))


def for_target(target: Target, migrations_dir: Path) -> list[Notification]:
    """The notifications of a run on this target: its profile's, then its project's (each name once).

    Read before a run starts, so a wrong table is bad input (exit 2) and not a surprise at the end.
    """
    if not notifies(target):
        return []
    out: dict[str, Notification] = {}
    # The names travel on the target (a saved environment's; a fleet's NAME/db and NAME/schema members
    # are copies of it): no second read of a profile that a test or the app may have built in memory.
    named: tuple[str, ...] = getattr(target, "notify", ()) or ()
    if named:
        from app.core.environments import environments_file

        profile = target.source.removeprefix("environment ")
        defined = saved()
        for name in named:
            if name not in defined:
                raise UsageError(f"{environments_file()}: environment {profile!r} names notification "
                                 f"{name!r}, which no [notifications.{name}] table defines (add it with "
                                 f"`tidemark notify add {name} --env {profile} ...`)")
            out[name] = defined[name]
    for name, n in of_project(migrations_dir).items():
        out.setdefault(name, n)
    return list(out.values())


def url_variable(name: str) -> str:
    """The environment variable that gives a notification's URL where there is no keyring (CI)."""
    return "TIDEMARK_NOTIFY_URL_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def url_of(name: str) -> tuple[str | None, str | None]:
    """The URL of a notification and, when there is none, why: from TIDEMARK_NOTIFY_URL_<NAME>, else the keyring."""
    from app.core import passwords

    given = os.environ.get(url_variable(name))
    if given:
        return given, None
    try:
        url = passwords.get_secret(passwords.notify_account(name), "the notification's URL", FALLBACK)
    except passwords.KeyringUnavailable as exc:
        return None, exc.message.split(";", 1)[0]
    if url is None:
        return None, (f"no URL is stored for it (store one with `tidemark notify add {name} ...`, or set "
                      f"{url_variable(name)})")
    return url, None


FALLBACK = "set TIDEMARK_NOTIFY_URL_<NAME> instead, or unlock/install a keyring (e.g. gnome-keyring)"


def check_url(url: str) -> str:
    """An http(s) URL with a host, stripped; UsageError (never echoing the URL: it is a secret) otherwise."""
    from urllib.parse import urlsplit

    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("the URL must be an http:// or https:// address with a host (e.g. Slack's "
                         "https://hooks.slack.com/services/...); nothing was saved")
    if any(c.isspace() for c in url):
        raise UsageError("the URL holds spaces or line breaks; nothing was saved")
    return url
