"""Adding, removing and listing notifications: their tables in environments.toml (named by profiles)
or in a project's tidemark.toml, their URLs in the keyring. The URL never reaches a file; a failure
to store it leaves the files as they were."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from app.core import passwords
from app.core.errors import UsageError
from app.core.notify.config import ENVIRONMENT, FALLBACK, PROJECT, Notification, of_project, saved, url_variable

PROJECT_FILE = "tidemark.toml"


@dataclass(frozen=True)
class Listed:
    """A notification as `notify list` shows it: where it is defined, who uses it, where its URL is."""

    notification: Notification
    file: str
    environments: tuple[str, ...]  # the profiles naming it (project ones: every target of the project)
    url: str  # "keyring", "variable" (TIDEMARK_NOTIFY_URL_<NAME>), "none" or "unknown" (keyring unavailable)


def _keyring_ready(name: str) -> None:
    problem = passwords.keyring_status().problem
    if problem:
        raise passwords.KeyringUnavailable(f"cannot store the URL of notification {name!r}: {problem}; nothing was "
                                           f"saved (set {url_variable(name)} where the runs happen instead)")


def add(n: Notification, url: str, *, environment: str | None = None, project_dir: Path | None = None) -> Path:
    """Define (or redefine) a notification for an environment or a project and store its URL; the file written."""
    _keyring_ready(n.name)
    if n.scope == ENVIRONMENT:
        assert environment is not None
        path, restore = _add_to_environments(n, environment)
    else:
        assert project_dir is not None
        path, restore = _add_to_project(n, project_dir)
    try:
        passwords.set_secret(passwords.notify_account(n.name), url, "the notification's URL", FALLBACK)
    except passwords.KeyringUnavailable:
        restore()  # neither the table nor the URL: the user retries as a whole
        raise
    return path


def _add_to_environments(n: Notification, environment: str):  # -> (path, restore)
    from app.core.environments import environments_file, get_environment
    from app.core.environments_store import read_doc, write_doc

    get_environment(environment)  # a UsageError naming the known ones
    path = environments_file()
    doc, _ = read_doc(path)
    old = _copy(doc)
    doc.setdefault("notifications", {})[n.name] = n.to_table()
    profile = doc["environments"][environment]
    names = list(profile.get("notify", []))
    if n.name not in names:
        profile["notify"] = [*names, n.name]
    write_doc(path, doc)
    return path, lambda: write_doc(path, old)


def _copy(doc: dict) -> dict:
    return tomllib.loads(__import__("tomli_w").dumps(doc)) if doc else {}


def _add_to_project(n: Notification, project_dir: Path):  # -> (path, restore)
    import tomli_w

    path = project_dir / PROJECT_FILE
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    text = _without(old, n.name, path) if old is not None else ""
    block = tomli_w.dumps({"notifications": {n.name: n.to_table()}})
    new = text + ("\n" if text and not text.endswith("\n") else "") + ("\n" if text.strip() else "") + block
    try:
        doc = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        doc = {}
    if doc.get("notifications", {}).get(n.name) != n.to_table():
        raise UsageError(f"{path}: cannot add [notifications.{n.name}] to this file as it is written (a "
                         "`notifications = {...}` inline table?); add the table by hand, then store the URL with "
                         f"`tidemark notify add {n.name} --project ...` again")
    _write_text(path, new)
    return path, lambda: (_write_text(path, old) if old is not None else path.unlink(missing_ok=True))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _without(text: str, name: str, path: Path) -> str:
    """The text without the `[notifications.NAME]` table (its header line to the next header)."""
    q = re.escape(name)
    header = re.compile(rf"^[ \t]*\[[ \t]*notifications[ \t]*\.[ \t]*(?:{q}|\"{q}\"|'{q}')[ \t]*\][^\n]*\n?",
                        re.MULTILINE)
    m = header.search(text)
    if m is None:
        return text
    nxt = re.compile(r"^[ \t]*\[", re.MULTILINE).search(text, m.end())
    out = text[: m.start()] + (text[nxt.start():] if nxt else "")
    try:
        left = tomllib.loads(out).get("notifications", {})
    except tomllib.TOMLDecodeError:
        left = {name: None}
    if name in left:
        raise UsageError(f"{path}: cannot take [notifications.{name}] out of this file as it is written; edit it by "
                         "hand")
    return out


@dataclass(frozen=True)
class Removed:
    """What `notify remove` did."""

    name: str
    file: str
    environments: tuple[str, ...]  # profiles that named it
    url_deleted: bool
    keyring_problem: str | None = None


def remove(name: str, *, project_dir: Path | None = None) -> Removed:
    """Remove a notification from environments.toml (and every profile naming it), or with `project_dir`
    from its tidemark.toml; its URL from the keyring unless the other file still defines the name."""
    from app.core.environments import environments_file
    from app.core.environments_store import read_doc, write_doc

    path = environments_file()
    doc, _ = read_doc(path)
    env_defined = name in doc.get("notifications", {})
    project_file = project_dir / PROJECT_FILE if project_dir is not None else None
    named: list[str] = []
    if project_file is None:
        if not env_defined:
            raise UsageError(f"no notification {name!r} in {path} (`tidemark notify list` shows them; one of a "
                             "project's tidemark.toml is removed with --project)")
        del doc["notifications"][name]
        if not doc["notifications"]:
            del doc["notifications"]
        for env, table in doc.get("environments", {}).items():
            if name in table.get("notify", []):
                named.append(env)
                table["notify"] = [x for x in table["notify"] if x != name]
                if not table["notify"]:
                    del table["notify"]
        write_doc(path, doc)
        still = name in of_project(Path.cwd())
        where = str(path)
    else:
        text = project_file.read_text(encoding="utf-8") if project_file.is_file() else ""
        if name not in of_project(project_dir):  # type: ignore[arg-type]
            raise UsageError(f"no notification {name!r} in {project_file}")
        _write_text(project_file, _without(text, name, project_file))
        still = env_defined
        where = str(project_file)
    deleted, problem = False, None
    if not still:
        try:
            deleted = passwords.delete_secret(passwords.notify_account(name), "the notification's URL", FALLBACK)
        except passwords.KeyringUnavailable as exc:
            problem = exc.message.split(";", 1)[0]
    return Removed(name, where, tuple(named), deleted, problem)


def listing(project_dir: Path) -> tuple[list[Listed], str | None]:
    """Every notification (environments.toml's, then the project's) and the keyring's problem, if any."""
    from app.core.environments import environments_file, list_environments

    problem = passwords.keyring_status().problem
    out = []
    profiles = list_environments()
    for scope, defined, file in ((ENVIRONMENT, saved(), str(environments_file())),
                                 (PROJECT, of_project(project_dir), str(project_dir / PROJECT_FILE))):
        for name, n in sorted(defined.items()):
            envs = tuple(p.name for p in profiles if name in p.notify) if scope == ENVIRONMENT else ()
            out.append(Listed(n, file, envs, _where_url(name, problem)))
    return out, problem


def _where_url(name: str, problem: str | None) -> str:
    if os.environ.get(url_variable(name)):
        return "variable"
    if problem:
        return "unknown"
    try:
        found = passwords.get_secret(passwords.notify_account(name), "the notification's URL", FALLBACK)
    except passwords.KeyringUnavailable:
        return "unknown"
    return "keyring" if found is not None else "none"
