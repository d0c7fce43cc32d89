"""Drift against the files in words: the verdict line the app's Compare view and the report's drift section show.

"agrees with its files" is said only of a check that ran and found every object alike
(`DriftResult.ok`): a replay that failed or a difference never reads as agreement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.drift import DriftResult
    from app.report.model import DriftSection


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


def drift_section(environment: str, r: DriftResult) -> DriftSection:
    """The report's drift section of a check's result."""
    from app.report.model import DriftDifference, DriftSection
    return DriftSection(
        ok=r.ok, verdict=drift_verdict(environment, r), replayed=len(r.replayed), objects=r.objects,
        ignored=r.ignored, sandbox_version=r.sandbox_version, replay_error=r.replay_error, notes=tuple(r.notes),
        differences=tuple(DriftDifference(d.key, d.words(environment), d.files, d.target) for d in r.differences),
        total_ms=r.total_ms,
    )


def drift_dict(d: DriftSection | None) -> dict[str, object] | None:
    """The JSON report's `drift` (resources/report.schema.json); None when the report did not check."""
    if d is None:
        return None
    return {
        "ok": d.ok, "verdict": d.verdict, "replayed": d.replayed, "objects": d.objects, "ignored": d.ignored,
        "sandbox_version": d.sandbox_version, "replay_error": d.replay_error, "notes": list(d.notes),
        "differences": [{"key": x.key, "words": x.words, "files": x.files, "target": x.target}
                        for x in d.differences],
        "total_ms": d.total_ms,
    }


def drift_headline(r: DriftResult) -> str:
    """One line: agree, or how many differ, or what did not replay."""
    n = len(r.replayed)
    if r.replay_error is not None:
        return f"the files do not replay: {r.replay_error}"
    if r.ok:
        return f"no drift: the schema is what its {n} applied migration{'s' if n != 1 else ''} produce"
    k = len(r.differences)
    return f"drift: {k} object{'s' if k != 1 else ''} differ{'s' if k == 1 else ''} from what the files produce"
