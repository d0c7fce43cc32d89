"""Secrets in the OS keyring (service "tidemark"): environment passwords (account = the environment's
name) and notification URLs (account `notify:NAME`, see app.core.notify), through one set of helpers.

The keyring is the only place Tidemark keeps a password. Where there is no usable backend
(keyring's `fail` backend on a headless server) or the collection is locked, the callers get
one readable line and fall back to asking, or to libpq's PGPASSWORD / ~/.pgpass; never to a
file of ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import UsageError

SERVICE = "tidemark"

_FALLBACK = "use ~/.pgpass or PGPASSWORD instead, or unlock/install a keyring (e.g. gnome-keyring)"


class KeyringUnavailable(UsageError):
    """The OS keyring cannot be used: no backend, locked, or its service failed."""


@dataclass(frozen=True)
class KeyringStatus:
    """Which keyring backend is in use, and why it cannot be used (None: it can; the cause only)."""

    backend: str
    problem: str | None = None

    @property
    def available(self) -> bool:
        """True when passwords can be stored and read."""
        return self.problem is None


def account(environment: str) -> str:
    """The keyring account (username) of an environment's password."""
    return environment


def keyring_status() -> KeyringStatus:
    """The backend in use; a problem when it is keyring's fail/null backend."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception as exc:  # keyring's backend discovery can fail in many ways (bad config, imports)
        return KeyringStatus("none", f"the keyring could not be initialised ({_short(exc)})")
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring | null.Keyring):
        return KeyringStatus(name, "no keyring backend is available on this machine (keyring's "
                             f"{type(backend).__module__.rsplit('.', 1)[-1]} backend: a headless server?)")
    return KeyringStatus(name)


def notify_account(name: str) -> str:
    """The keyring account of a notification's URL (a ':' never occurs in an environment's name)."""
    return f"notify:{name}"


def get_password(environment: str) -> str | None:
    """The stored password, or None when none is stored; KeyringUnavailable when it cannot look."""
    return get_secret(account(environment), "the password")


def set_password(environment: str, password: str) -> None:
    """Store (or replace) an environment's password; KeyringUnavailable when it cannot."""
    if not password:
        raise UsageError("an empty password cannot be stored")
    set_secret(account(environment), password, "the password")


def delete_password(environment: str) -> bool:
    """Delete a stored password; True when one was there. KeyringUnavailable when it cannot look."""
    return delete_secret(account(environment), "the password")


def get_secret(key: str, what: str = "the secret", fallback: str = _FALLBACK) -> str | None:
    """The secret stored under this account, or None; KeyringUnavailable when it cannot look."""
    kr = _backend(fallback)
    try:
        return kr.get_password(SERVICE, key)
    except Exception as exc:  # any backend failure (D-Bus, locked, prompt dismissed) means "cannot look"
        raise _unavailable(exc, f"read {what}", fallback) from None


def set_secret(key: str, value: str, what: str = "the secret", fallback: str = _FALLBACK) -> None:
    """Store (or replace) the secret of an account; KeyringUnavailable when it cannot."""
    kr = _backend(fallback)
    try:
        kr.set_password(SERVICE, key, value)
    except Exception as exc:  # see get_secret
        raise _unavailable(exc, f"store {what}", fallback) from None


def delete_secret(key: str, what: str = "the secret", fallback: str = _FALLBACK) -> bool:
    """Delete the secret of an account; True when one was there. KeyringUnavailable when it cannot look."""
    from keyring.errors import PasswordDeleteError

    kr = _backend(fallback)
    try:
        if kr.get_password(SERVICE, key) is None:
            return False
        kr.delete_password(SERVICE, key)
    except PasswordDeleteError:
        return False
    except Exception as exc:  # see get_secret
        raise _unavailable(exc, f"delete {what}", fallback) from None
    return True


def _backend(fallback: str = _FALLBACK):  # -> keyring.backend.KeyringBackend; import lazily (start-up time)
    status = keyring_status()
    if status.problem:
        raise KeyringUnavailable(f"{status.problem}; {fallback}")
    import keyring

    return keyring.get_keyring()


def _unavailable(exc: BaseException, doing: str, fallback: str = _FALLBACK) -> KeyringUnavailable:
    from keyring.errors import KeyringLocked

    if isinstance(exc, KeyringLocked) or "locked" in str(exc).lower():
        rest = fallback.split(", or unlock", 1)[0]  # the advice other than unlocking, which comes first here
        return KeyringUnavailable(f"cannot {doing}: the keyring is locked (unlock your system password "
                                  f"manager, e.g. log in to the desktop session); or {rest}")
    return KeyringUnavailable(f"cannot {doing}: the keyring failed ({_short(exc)}); {fallback}")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
