"""Drift against the files in words: the verdict line the app's Compare view and the report's drift section show.

"agrees with its files" is said only of a check that ran and found every object alike
(`DriftResult.ok`): a replay that failed or a difference never reads as agreement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.drift import DriftResult


def _n(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def drift_verdict(environment: str, r: DriftResult) -> str:
    """`production agrees with its files (3 applied migrations replayed, 12 objects compared)`, or what differs."""
    if r.replay_error is not None:
        return f"{environment}: its files do not replay, so nothing was compared: {r.replay_error}"
    if r.ok:
        return (f"{environment} agrees with its files ({_n(len(r.replayed), 'applied migration')} replayed, "
                f"{_n(r.objects, 'object')} compared)")
    k = len(r.differences)
    return f"{environment}: {_n(k, 'object')} differ{'s' if k == 1 else ''} from what its files produce"
