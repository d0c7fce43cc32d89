"""The profiles file (`environments.toml`): read with every field checked, written atomically (0600).

Parsed once for as long as the file stays as it is (same inode, size and mtime): a fleet resolves
each of its environments by name, and 1000 targets must not mean 1000 parses of the same file.
"""

from __future__ import annotations

import os
import tempfile
import threading
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import UsageError
from app.core.toml_lines import line_of as _line_of
from app.core.toml_lines import toml_position as _toml_position

if TYPE_CHECKING:
    from app.core.environments import Profile

_HEADER = (
    "# Tidemark environments (connection profiles), written by `tidemark env` and the app.\n"
    "# Passwords and notification URLs are never stored here: they live in the OS keyring\n"
    "# (or ~/.pgpass / PGPASSWORD, TIDEMARK_NOTIFY_URL_<NAME>).\n\n"
)

_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Profile]]] = {}


def read_profiles(path: Path) -> dict[str, Profile]:
    """Every profile of the file ({} when there is none); UsageError naming the line of a bad one."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc} (check the file's permissions)") from None
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _cache_lock:
        hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return dict(hit[1])  # Profiles are frozen: sharing them is safe, the dict is the caller's
    profiles = _parse(path)
    with _cache_lock:
        _cache[path] = (stamp, profiles)
    return dict(profiles)


def read_doc(path: Path) -> tuple[dict[str, Any], str]:
    """The file as a TOML document and its text ({} and "" when there is none); one-line errors naming the
    line. app.core.notify reads its `[notifications]` table from here."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc} (check the file's permissions)") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: not UTF-8 text (fix the line, or remove the file and add the "
                         "environments again)") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        line, reason = _toml_position(exc)
        raise UsageError(f"{path}:{line}: invalid TOML: {reason} (fix the line, or remove the file and add "
                         "the environments again)") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise UsageError(f"{path}: invalid TOML: arrays or inline tables nested too deeply to read (fix the "
                         "file, or remove it and add the environments again)") from None


def _parse(path: Path) -> dict[str, Profile]:
    doc, text = read_doc(path)
    envs = doc.get("environments", {})
    if not isinstance(envs, dict):
        raise UsageError(f"{path}:{_line_of(text, 'environments')}: 'environments' must be a table of profiles")
    profiles = {}
    for name, table in envs.items():
        where = f"{path}:{_line_of(text, name)}"
        if not isinstance(table, dict):
            raise UsageError(f"{where}: environment {name!r} must be a table ([environments.{name}])")
        profile = _from_table(name, table, path, text)
        for key, problem in _problems(profile):
            raise UsageError(f"{path}:{_line_of(text, name, key)}: environment {name!r}: {problem}")
        profiles[name] = profile
    return profiles


def _from_table(name: str, table: dict[str, Any], path: Path, text: str) -> Profile:
    where = f"{path}:{_line_of(text, name, 'password')}"
    if "password" in table:
        raise UsageError(f"{where}: environment {name!r}: passwords are not read from this file; remove the "
                         f"line and store it with `tidemark env edit {name} --password-stdin`")
    from app.core.environments import Profile

    known = {f.name for f in fields(Profile)} - {"name"}
    unknown = sorted(set(table) - known)
    if unknown:
        where = f"{path}:{_line_of(text, name, unknown[0])}"
        raise UsageError(f"{where}: environment {name!r}: unknown field {unknown[0]!r} "
                         f"(known: {', '.join(sorted(known))})")
    for key in ("groups", "notify"):
        if isinstance(table.get(key), list):
            table = {**table, key: tuple(table[key])}
    if isinstance(table.get("placeholders"), dict):
        table = {**table, "placeholders": tuple(table["placeholders"].items())}
    return Profile(name=name, **table)


def _problems(profile: Profile) -> list[tuple[str | None, str]]:
    from app.core.environments import _problems as problems

    return problems(profile)


def write_profiles(path: Path, profiles: dict[str, Profile]) -> None:
    """Replace the file's profiles, atomically (never half-written, never world-readable); the file's
    `[notifications]` table (app.core.notify's) is kept as it is."""
    doc: dict[str, Any] = {"version": 1, "environments": {n: profiles[n].to_table() for n in sorted(profiles)}}
    kept = read_doc(path)[0].get("notifications")
    if kept:
        doc["notifications"] = kept
    write_doc(path, doc)


def write_doc(path: Path, doc: dict[str, Any]) -> None:
    """Replace the file with this document, atomically and readable by its owner only."""
    import tomli_w

    text = _HEADER + tomli_w.dumps(doc)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp creates the file 0600 in the same folder, so the rename is atomic and never
        # leaves a half-written or world-readable profiles file.
        fd, tmp = tempfile.mkstemp(prefix=".environments-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        with _cache_lock:
            _cache.pop(path, None)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
