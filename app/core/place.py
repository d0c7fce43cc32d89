"""Where a target's history lives: `public` for a plain target, the tenant's schema for a schema target.

One value names the history tables, the migration lock's key and the search_path a target's
migrations run under, so every module asks it instead of spelling `public._migrations`. A plain
target's place is `PUBLIC`, whose names, key and (absent) search_path are exactly those Tidemark
always used: existing databases keep working unchanged. A schema target (`ENV/SCHEMA`, from a
profile's `schemas` pattern) keeps `"tenant_a"._migrations` and the rest in its own schema, takes a
lock keyed by that schema (tenants of one database run side by side; two runs on one schema exclude
each other), and runs with `search_path = "tenant_a", public`: unqualified names land in the tenant,
and what is shared in public (extensions, their types and functions) still resolves.

The connection carries its place (`connect` sets it from `Target.schema`), so the code below a
runner, which is handed a connection, reads it with `place_of(conn)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from app.core.errors import UsageError

# The logical names: also the real ones of PUBLIC (kept so old code and tests read as before).
MIGRATIONS = "public._migrations"
ROLLBACKS = "public._migration_rollbacks"
AUDIT = "public._migration_audit"
REPEATABLES = "public._migration_repeatables"
LOGICAL = (MIGRATIONS, ROLLBACKS, AUDIT, REPEATABLES)


def _key(name: str) -> int:
    # A fixed name plus the history table, as golang-migrate derives its key from schema and table.
    return int.from_bytes(hashlib.sha256(f"tidemark:{name}".encode()).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Place:
    """The schema holding a target's history; its tables, lock key and search_path."""

    schema: str = "public"

    def __post_init__(self) -> None:
        # The names go into SQL text and string literals (to_regclass('...')): refuse what would
        # need more than identifier quoting, with the name, rather than quote it wrong.
        bad = next((c for c in ("'", '"', "\\", "\x00") if c in self.schema), None)
        if bad is not None or not self.schema:
            raise UsageError(f"schema {self.schema!r}: Tidemark keeps history only in a schema whose name has no "
                             "quote, backslash or NUL (rename it, or narrow the --schemas pattern)")

    @property
    def is_public(self) -> bool:
        """True for a plain target (history in public, as always)."""
        return self.schema == "public"

    @property
    def ident(self) -> str:
        """The schema as an SQL identifier: `public` as written, any other double-quoted."""
        return "public" if self.is_public else f'"{self.schema}"'

    def qualify(self, logical: str) -> str:
        """The real name of a history table given by its logical (public) name."""
        if self.is_public or not logical.startswith("public."):
            return logical
        return f"{self.ident}.{logical[len('public.'):]}"

    @property
    def migrations(self) -> str:
        """`public._migrations`, or `"tenant_a"._migrations`."""
        return self.qualify(MIGRATIONS)

    @property
    def rollbacks(self) -> str:
        """The rollbacks table."""
        return self.qualify(ROLLBACKS)

    @property
    def audit(self) -> str:
        """The audit table."""
        return self.qualify(AUDIT)

    @property
    def repeatables(self) -> str:
        """The repeatables table."""
        return self.qualify(REPEATABLES)

    def words(self, text: str) -> str:
        """A message naming the history tables by their logical names, with this place's real ones."""
        if self.is_public:
            return text
        for logical in LOGICAL:
            text = text.replace(logical, self.qualify(logical))
        return text

    @property
    def lock_key(self) -> int:
        """The advisory lock key: PUBLIC's is the one Tidemark always took."""
        return _key(f"{self.ident}._migrations")

    @property
    def search_path(self) -> str | None:
        """The path a schema target's session runs with (None: the server's, as always)."""
        return None if self.is_public else f"{self.ident}, public"

    def startup_options(self) -> str | None:
        """libpq `options` that set the search_path for the whole session (None for PUBLIC).

        A startup setting, not a SET: `RESET ALL` after each migration, and the `RESET search_path`
        a generated rollback may hold, then return to the tenant's path, not to the server's.
        """
        if self.search_path is None:
            return None
        value = f"{self.ident},public"  # libpq splits options at spaces: a space in the name is escaped
        return "-c search_path=" + value.replace(" ", "\\ ")


PUBLIC = Place()


def place_of(conn: Any) -> Place:
    """The place a connection was opened for (PUBLIC for any connection not opened by `connect`)."""
    return getattr(conn, "tidemark_place", PUBLIC)
