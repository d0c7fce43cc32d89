"""The one rule for what a change to a target needs: typed confirmation, backup, a summary.

Every caller (the CLI, the desktop app, fleets, scripts) asks `requirement()` what an action
on a target needs, gets a `Confirmation` from `confirm()` once the user has given it, and
passes that to the runner. The runner calls `enforce()` inside the migration lock, at the
point where something would change: on a protected target no change happens without a
confirmation issued for that target and that action, used once, and (for migrate) the backup
it names is taken by the runner itself before the first migration runs. So no path can skip
it by forgetting to ask.

A confirmation may name what the user saw (the planned migrations): if the database no
longer matches what was confirmed when the lock is held, nothing runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from app.core.errors import UsageError

if TYPE_CHECKING:
    from app.core.connect import Target

BACKUP_MODES = ("schema", "full")
DEFAULT_BACKUP = "schema"  # what a protected target gets before migrate unless told otherwise
SANDBOX_SOURCE = "sandbox"  # Target.source of the local sandbox (app.core.sandbox.SOURCE)


class Action(StrEnum):
    """What is about to change; the value is the verb the messages use."""

    MIGRATE = "migrate"
    ROLLBACK = "roll back"
    BASELINE = "baseline"
    REPAIR = "repair"
    IMPORT = "import history"
    SHIM = "install the Supabase shim"


class ProtectionRequired(UsageError):
    """A change to a protected target came without its confirmation: nothing was changed."""


@dataclass(frozen=True)
class Requirement:
    """What `action` on `target` needs before it may run."""

    action: Action
    target_key: str
    name: str  # what the user types on a protected target, and what messages call it
    protected: bool
    backup: str | None  # the backup taken before it runs unless waived (protected migrate)
    summary: bool  # an interactive caller shows what will run and asks OK/Cancel (unprotected, not the sandbox)

    @property
    def typed_name(self) -> str | None:
        """The text to type, or None when no typed confirmation is needed."""
        return self.name if self.protected else None


def target_key(target: Target) -> str:
    """What a confirmation is bound to: the connection and the environment (never the password)."""
    return f"{target.environment or ''}\x00{target.source}\x00{target.dsn}"


def confirmation_name(target: Target) -> str:
    """What the user types: the environment's name, else the connection's display form."""
    return target.environment or target.display()


def requirement(target: Target, action: Action) -> Requirement:
    """The rule: protected targets need the typed name (and, for migrate, a backup); others a summary."""
    protected = bool(target.protected)
    return Requirement(
        action=action,
        target_key=target_key(target),
        name=confirmation_name(target),
        protected=protected,
        backup=DEFAULT_BACKUP if protected and action is Action.MIGRATE else None,
        summary=not protected and target.source != SANDBOX_SOURCE,
    )


@dataclass(eq=False)
class Confirmation:
    """Issued by `confirm()` for one action on one target; the runner uses it once.

    `backup` is the backup the runner takes before migrating (None: none); `planned` the names the
    user saw, in order (None: not shown, e.g. `--yes`).
    """

    action: Action
    target_key: str
    backup: str | None
    planned: tuple[str, ...] | None
    by: str  # "typed", "--yes", "not protected": for the log, never a secret
    backup_waived: bool = False
    _used: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def use(self) -> None:
        """Mark it spent; a second use is refused (one confirmation, one run)."""
        with self._lock:
            if self._used:
                raise ProtectionRequired(f"this confirmation to {self.action} was already used: confirm again. "
                                         "Nothing was changed")
            self._used = True


def confirm(need: Requirement, *, typed: str | None = None, assume_yes: bool = False,
            backup: str | None = "default", no_backup: bool = False,
            planned: list[str] | tuple[str, ...] | None = None) -> Confirmation:
    """A confirmation for `need`, or UsageError when what was typed does not match.

    On a protected target either `typed` equals the name or `assume_yes` (a CI's `--yes`) stands
    for it. `backup`: "default" takes the requirement's (schema on protected migrate), or a mode
    of BACKUP_MODES, or None; `no_backup` waives it explicitly (and is said so in the run's log).
    """
    if need.protected and not assume_yes:
        if typed is None:
            raise ProtectionRequired(f"{need.name} is a protected environment: {need.action} needs its name "
                                     "typed to confirm. Nothing was changed")
        if typed.strip() != need.name:
            raise ProtectionRequired(f"confirmation did not match {need.name!r}: nothing was changed")
    if no_backup and backup not in ("default", None):
        raise UsageError("--backup and --no-backup contradict each other: give one")
    mode = None if no_backup else (need.backup if backup == "default" else backup)
    if mode is not None and mode not in BACKUP_MODES:
        raise UsageError(f"unknown backup mode {mode!r}: use one of {', '.join(BACKUP_MODES)}")
    if mode is not None and need.action is not Action.MIGRATE:
        raise UsageError(f"a backup is taken before migrate, not before {need.action}")
    by = "--yes" if need.protected and assume_yes else "typed" if need.protected else "not protected"
    return Confirmation(need.action, need.target_key, mode, tuple(planned) if planned is not None else None, by,
                        backup_waived=no_backup and need.backup is not None)


def confirm_all(needs: list[Requirement], *, fleet_name: str, typed: str | None = None, assume_yes: bool = False,
                backup: str | None = "default", no_backup: bool = False,
                planned: dict[str, list[str]] | None = None) -> dict[str, Confirmation]:
    """One confirmation for a whole fleet run: `fleet_name` typed once (or `assume_yes`) stands for every
    protected target's name. Returns a Confirmation per target key, each bound to its own target.

    `planned` maps a target key to what the user was shown would change there.
    """
    if any(n.protected for n in needs) and not assume_yes:
        if typed is None:
            names = ", ".join(n.name for n in needs if n.protected)
            raise ProtectionRequired(f"protected environments ({names}): {needs[0].action} needs {fleet_name!r} "
                                     "typed to confirm, or --yes. Nothing was changed")
        if typed.strip() != fleet_name:
            raise ProtectionRequired(f"confirmation did not match {fleet_name!r}: nothing was changed")
    out = {}
    for need in needs:
        seen = (planned or {}).get(need.target_key)
        out[need.target_key] = confirm(need, assume_yes=True, backup=backup, no_backup=no_backup, planned=seen)
        if need.protected:
            out[need.target_key].by = "--yes" if assume_yes else f"typed {fleet_name!r}"
    return out


def enforce(confirmed: Confirmation | None, target: Target, action: Action,
            will_change: list[str]) -> Confirmation | None:
    """Inside the lock, just before anything changes: refuse unless the rule is met.

    `will_change` names what is about to run (in order). Returns the confirmation in force (None on
    an unprotected target given none). Raises ProtectionRequired, nothing changed.
    """
    need = requirement(target, action)
    if confirmed is None:
        if need.protected:
            raise ProtectionRequired(f"{need.name} is a protected environment: {action} needs a confirmation "
                                     "(its name typed, or --yes) and none was given. Nothing was changed")
        return None
    if confirmed.target_key != need.target_key or confirmed.action is not action:
        raise ProtectionRequired(f"the confirmation given was for another "
                                 f"{'action' if confirmed.target_key == need.target_key else 'database'}: "
                                 f"{action} on {need.name} needs its own. Nothing was changed")
    confirmed.use()
    if confirmed.planned is not None and tuple(will_change) != confirmed.planned:
        raise ProtectionRequired(f"what would {action} on {need.name} changed since it was confirmed "
                                 f"({_changed(confirmed.planned, will_change)}): review it and confirm again. "
                                 "Nothing was changed")
    return confirmed


def _changed(seen: tuple[str, ...], now: list[str]) -> str:
    added = [n for n in now if n not in seen]
    gone = [n for n in seen if n not in now]
    parts = []
    if added:
        parts.append("now also " + ", ".join(added[:3]) + (" ..." if len(added) > 3 else ""))
    if gone:
        parts.append("no longer " + ", ".join(gone[:3]) + (" ..." if len(gone) > 3 else ""))
    return "; ".join(parts) or "in another order"


__all__ = [
    "BACKUP_MODES",
    "Action",
    "Confirmation",
    "ProtectionRequired",
    "Requirement",
    "confirm",
    "confirm_all",
    "confirmation_name",
    "enforce",
    "requirement",
    "target_key",
]
