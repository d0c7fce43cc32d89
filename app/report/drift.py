"""The drift check's one-line verdict, shared by the CLI and the desktop app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.drift import DriftResult


def drift_headline(r: DriftResult) -> str:
    """One line: agree, or how many differ, or what did not replay."""
    n = len(r.replayed)
    if r.replay_error is not None:
        return f"the files do not replay: {r.replay_error}"
    if r.ok:
        return f"no drift: the schema is what its {n} applied migration{'s' if n != 1 else ''} produce"
    k = len(r.differences)
    return f"drift: {k} object{'s' if k != 1 else ''} differ{'s' if k == 1 else ''} from what the files produce"
