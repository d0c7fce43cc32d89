"""Flyway's baseline migrations (`B<version>__desc.sql`): an empty database starts from one.

As Flyway does: on a database with no history, migrate runs the highest baseline migration at
or below the target instead of the versioned migrations up to its version, then the versioned
ones after it; on a database with history they are ignored. The versioned files it stands for
are recorded as applied with it, in its transaction (baselined, rollback manual: what was
before it is an empty database), so `status` shows them applied and later runs go on from
there. The baseline file gets a history row of its own only when no versioned file has its
version (a project that deleted the old files); otherwise the audit trail records its run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.core import history
from app.core.files import MigrationFile, version_key


def start(history_empty: bool, files: list[MigrationFile], baselines: list[MigrationFile],
          upto: str | None) -> MigrationFile | None:
    """The baseline migration an empty database starts from (with the files it `covers`), or None."""
    if not history_empty or not baselines:
        return None
    limit = version_key(upto) if upto else None
    eligible = [b for b in baselines if limit is None or version_key(b.version) <= limit]
    if not eligible:
        return None
    chosen = max(eligible, key=lambda b: version_key(b.version))
    top = version_key(chosen.version)
    return replace(chosen, covers=tuple(f for f in files if version_key(f.version) <= top))


def note(b: MigrationFile) -> str:
    """What a run says about starting from a baseline migration."""
    n = len(b.covers)
    skipped = f"; {n} versioned migration{'s' if n != 1 else ''} up to it recorded as applied with it" if n else ""
    return f"empty database: starting from the baseline migration {b.name} (version {b.version}){skipped}"


def shown(files: list[MigrationFile], baselines: list[MigrationFile], applied_names: set[str]) -> list[MigrationFile]:
    """The files status lists: the versioned ones, and an applied baseline file that has a row of its own."""
    versions = {version_key(f.version) for f in files}
    return files + [b for b in baselines if b.name in applied_names and version_key(b.version) not in versions]


def rows(b: MigrationFile, batch_id: str, elapsed: Any, transactional: bool, actor: history.Actor
         ) -> list[history.Row]:
    """The history and audit rows that commit with a baseline migration's run."""
    audit = history.audit_values(actor)
    manual = f"covered by the baseline migration {b.name}: undo by hand (before it the database was empty)"
    out = []
    if all(version_key(f.version) != version_key(b.version) for f in b.covers):
        out.append(history.Row(history.MIGRATIONS, {
            "name": b.name, "version": b.version, "checksum": b.checksum, "raw_checksum": b.raw_checksum,
            "execution_time_ms": elapsed, "rollback_sql": None, "rollback_kind": "manual",
            "rollback_note": "a baseline migration: undo by hand (before it the database was empty)",
            "batch_id": batch_id, "title": b.title, "description": b.description or None, "applied_sql": b.text,
            "transactional": transactional, **audit}))
    for f in b.covers:
        out.append(history.Row(history.MIGRATIONS, {
            "name": f.name, "version": f.version, "checksum": f.checksum, "raw_checksum": f.raw_checksum,
            "execution_time_ms": 0, "rollback_sql": None, "rollback_kind": "manual", "rollback_note": manual,
            "batch_id": batch_id, "title": f.title, "description": f.description or None, "applied_sql": f.text,
            "transactional": transactional, "baselined": True, **audit}))
        out.append(history.Row(history.AUDIT, {
            "event": history.Event.BASELINED, "migration_name": f.name, "version": f.version, "batch_id": batch_id,
            "execution_time_ms": 0, "checksum": f.checksum, "reason": f"covered by the baseline migration {b.name}",
            **audit}))
    out.append(history.Row(history.AUDIT, {
        "event": history.Event.APPLIED, "migration_name": b.name, "version": b.version, "batch_id": batch_id,
        "execution_time_ms": elapsed, "checksum": b.checksum, **audit}))
    return out
