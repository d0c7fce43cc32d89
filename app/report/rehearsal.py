"""The rehearsal as text lines: the CLI prints them, the desktop app shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.rehearse import RehearsalResult

_ROLLBACK_TEXT = {
    "verified": "rollback verified",
    "differs": "ROLLBACK DOES NOT RESTORE THE SCHEMA",
    "failed": "ROLLBACK FAILED",
    "manual": "rollback manual",
    "not-reached": "rollback not tried",
    "not-run": "did not run",
}


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
        out.append(f"copy: {r.objects} objects, catalog equal to the source's")
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
    counts = ", ".join(f"{r.count(k)} {k}" for k in ("verified", "differs", "failed", "manual", "not-reached")
                       if r.count(k))
    out.append(f"rehearsal {verdict}" + (f": rollbacks {counts}" if counts else "")
               + f" in {r.total_ms / 1000:.1f} s; nothing was written to {r.source}")
    return out
