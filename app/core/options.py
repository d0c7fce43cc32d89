"""How migrations run: timeouts, retries, what may be run past (a light module: status needs it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """How migrations run: timeouts, retries, what may be run past."""

    lock_timeout_ms: int | None = None
    statement_timeout_ms: int | None = None
    index_timeout_ms: int | None = None  # statement_timeout for concurrent index builds
    retries: int = 0  # on lock timeout (SQLSTATE 55P03), with backoff
    retry_backoff_s: float = 1.0
    wait_lock_s: float = 0.0
    allow_modified: bool = False
    allow_out_of_order: bool = False
    slow_threshold_ms: int = 60_000
    supabase_history: bool = False  # also keep supabase_migrations.schema_migrations in step
    pipeline: bool = True  # send plain migrations ahead while the server runs earlier ones (batch.py)
    # Flyway `${name}` values from `--placeholder name=value`; they win over the profile's and tidemark.toml's.
    placeholders: tuple[tuple[str, str], ...] = ()
