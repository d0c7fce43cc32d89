"""The rehearsal as text lines: the CLI prints them, the desktop app shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.text import counted

if TYPE_CHECKING:
    from app.core.rehearse import RehearsalResult

_ROLLBACK_TEXT = {
    "verified": "rollback verified",
    "differs": "ROLLBACK DOES NOT RESTORE THE SCHEMA",
    "failed": "ROLLBACK FAILED",
    "refused-changed": "ROLLBACK STOPPED BUT CHANGED THE SCHEMA",
    "manual": "rollback manual",
    "not-reached": "rollback not tried",
    "not-run": "did not run",
    "no-rollback": "no rollback to try",
}


_PROBLEMS = ("differs", "failed", "refused-changed")  # counted only when they occurred
_UNTRIED = {"manual": "no rollback SQL is known", "not-reached": "a newer one's rollback could not run",
            "no-rollback": "a Flyway repeatable or baseline migration has none"}


def rollback_counts(r: RehearsalResult) -> str:
    """`2 verified, 1 manual, 0 not tried`: verified, manual and not tried always (so a count of what
    was never tried is never missing from a summary), what went wrong when it occurred."""
    parts = [f"{r.count('verified')} verified"]
    parts += [f"{r.count(k)} {k}" for k in _PROBLEMS if r.count(k)]
    parts += [f"{r.count('manual')} manual", f"{r.count('not-reached') + r.count('not-run')} not tried"]
    if r.count("no-rollback"):
        parts.append(f"{r.count('no-rollback')} with no rollback to try")
    return ", ".join(parts)


def rehearsal_headline(r: RehearsalResult) -> str:
    """One sentence for the verdict: "every rollback restored the schema exactly" only when each one did."""
    if not r.ok:
        return "Rehearsal FAILED: read the lines marked in capitals before running on the real database"
    n = len(r.migrations)
    if not n:
        return "Rehearsal passed: nothing is pending, so nothing was rehearsed"
    if r.count("verified") == n:
        return "Rehearsal passed: every rollback restored the schema exactly"
    untried = "; ".join(f"{k}: {why}, so not tried" for k, why in _UNTRIED.items() if r.count(k))
    return (f"Rehearsal passed: every migration applied; rollbacks: {rollback_counts(r)} ({untried}); "
            "only the verified ones are known to restore the schema")


def rehearsal_lines(r: RehearsalResult) -> list[str]:
    """The rehearsal, readable: copy, each migration and its rollback, the verdict."""
    out: list[str] = []
    out.append(f"rehearsal of {r.source} (PostgreSQL {r.source_version}) on a throwaway copy "
               f"(PostgreSQL {r.sandbox_version})")
    out.extend(f"note: {note}" for note in r.notes)
    if r.restore_error:
        out.append(f"copy FAILED: restoring the schema gave an error: {r.restore_error}")
    elif r.restore_differences:
        out.append(f"copy FAILED: the copy's catalog differs from the source's in {len(r.restore_differences)} "
                   "object(s):")
        out.extend(f"    {d}" for d in r.restore_differences)
    elif r.migrations:
        out.append(f"copy: {counted(r.objects, 'object')}, catalog equal to the source's")
    n = len(r.migrations)
    if not n:
        out.append("nothing pending: nothing to rehearse")
    for i, m in enumerate(r.migrations, start=1):
        ran = f"applied in {m.apply_ms} ms" if m.applied else ("FAILED" if m.apply_error else "not run")
        rb = _ROLLBACK_TEXT.get(m.rollback, m.rollback)
        if m.rollback_ms is not None:
            rb += f" ({m.rollback_ms} ms)"
        out.append(f"  [{i}/{n}] {m.name}: {ran}; {rb}")
        if m.apply_error:
            out.extend(f"        {line}" for line in m.apply_error.splitlines())
        if m.rollback_note and m.rollback != "verified":
            out.extend(f"        {line}" for line in m.rollback_note.splitlines())
        out.extend(f"        {d}" for d in m.differences)
    verdict = "PASSED" if r.ok else "FAILED"
    counts = rollback_counts(r)
    out.append(f"rehearsal {verdict} on PostgreSQL {r.sandbox_version}" + (f": rollbacks {counts}" if n else "")
               + f" in {r.total_ms / 1000:.1f} s; nothing was written to {r.source}")
    return out
