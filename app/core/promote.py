"""Promotion: bring a target up to what a source environment has applied, and no further."""

from __future__ import annotations

from app.core.errors import UsageError
from app.core.files import version_key
from app.core.status import MigrationStatus, State


def promotion_point(status: MigrationStatus, source: str) -> tuple[str, str]:
    """(version, name) of the newest migration applied on `source`; UsageError when its state is not clean.

    A source with modified files, failed migrations or out-of-order pending ones is not a state
    to copy: which files it means is not certain. Nothing applied is nothing to promote.
    """
    problems = []
    for state, word in ((State.MODIFIED, "modified"), (State.FAILED, "failed"), (State.MISSING, "missing")):
        names = [m.name for m in status.migrations if m.state is state]
        if names:
            problems.append(f"{len(names)} {word} ({', '.join(names[:3])}{' ...' if len(names) > 3 else ''})")
    late = [m.name for m in status.pending if m.out_of_order]
    if late:
        problems.append(f"{len(late)} out of order ({', '.join(late[:3])}{' ...' if len(late) > 3 else ''})")
    if problems:
        raise UsageError(f"promote: {source} has {'; '.join(problems)}: fix that on {source} first (see "
                         f"`tidemark status --env {source}`). Nothing was changed")
    if not status.applied:
        raise UsageError(f"promote: nothing is applied on {source}: nothing to promote")
    newest = max(status.applied, key=lambda m: version_key(m.version))
    return newest.version, newest.name
