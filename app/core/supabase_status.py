"""The Supabase status of one database: config.toml, the auth state, both histories side by side.

`supabase-status` (the CLI) and Environment ▸ Supabase status (the app) read and word it here,
so both say the same. Nothing here imports psycopg at load time: the CLI's parser reads
SHIM_CONTENTS for its `--help`, which must stay quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.text import visible

if TYPE_CHECKING:
    from app.core.connect import Target
    from app.core.files import MigrationFile
    from app.core.supabase import SupabaseConfig
    from app.core.supabase_history import Entry

# What the shim installs: the CLI's description of `supabase-shim` and the app's confirmation say it.
SHIM_CONTENTS = ("the auth schema with auth.users, auth.uid()/role()/email()/jwt() reading request.jwt.claims, "
                 "the roles anon, authenticated and service_role, the extensions schema with uuid-ossp and "
                 "pgcrypto where the server has them. A shim for running Supabase migrations on plain "
                 "PostgreSQL, not Supabase. Skipped where auth.users exists.")

# The auth state (app.core.supabase.shim_state) in words; the app shows its own action for the command.
AUTH_WORDS = {"none": "auth.users: none (`tidemark supabase-shim` installs the shim)",
              "shim": "auth.users: Tidemark's Supabase shim (not Supabase)",
              "supabase": "auth.users: present (Supabase's own)"}

HEADERS = ("VERSION", "MIGRATION", "FILE", "SUPABASE CLI", "TIDEMARK")


@dataclass(frozen=True)
class SupabaseStatus:
    """What `read_status` found: the project's settings, the database, its auth state, every version."""

    config: SupabaseConfig | None
    database: str  # the target's display form (never the password)
    history_exists: bool
    auth: str  # "none", "shim" or "supabase"
    entries: tuple[Entry, ...]
    looked_in: tuple[Path, ...] = ()  # where config.toml was looked for (supabase.config_candidates)

    def config_line(self) -> str:
        """config.toml's summary, or that there is none and where it was looked for ("here" named no
        folder: the app has no working directory, and the CLI's may not be the project's)."""
        if self.config:
            return self.config.summary()
        if not self.looked_in:
            return "no supabase/config.toml"
        places = [visible(str(p)) for p in self.looked_in]  # a folder's name may hold control characters
        return "no supabase/config.toml: looked for " + (" and ".join(places) if len(places) < 3
                                                         else ", ".join(places[:-1]) + " and " + places[-1])

    def auth_line(self) -> str:
        """The auth state in words."""
        return AUTH_WORDS[self.auth]

    def history_line(self) -> str | None:
        """That the Supabase CLI's table is missing, or None when it is there."""
        from app.core.supabase_history import TABLE

        if self.history_exists:
            return None
        return f"{TABLE}: not in this database (the Supabase CLI has not migrated it)"

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """One row per version, in HEADERS' order."""
        return [(e.version, e.name, "yes" if e.on_disk else "MISSING",
                 "applied" if e.in_supabase else "-", "applied" if e.in_tidemark else "-") for e in self.entries]

    def advice(self) -> str | None:
        """What to do about versions only the Supabase CLI applied, or None."""
        only_theirs = [e for e in self.entries if e.in_supabase and not e.in_tidemark]
        if not only_theirs:
            return None
        return (f"{len(only_theirs)} applied by the Supabase CLI only: `tidemark import-history --from supabase` "
                "records them without running anything")


def read_status(target: Target, files: list[MigrationFile], config: SupabaseConfig | None,
                looked_in: tuple[Path, ...] = ()) -> SupabaseStatus:
    """Read both histories and the auth state of `target` (only reads), beside `files` and `config`
    (`looked_in`: where config.toml was looked for)."""
    from app.core import history
    from app.core.connect import connect
    from app.core.supabase import shim_state
    from app.core.supabase_history import compare, read_rows, table_exists

    with connect(target) as conn:
        exists = table_exists(conn)
        rows = read_rows(conn)
        ours = {r.version for r in history.read_applied(conn)} if history.tables_exist(conn) else set()
        auth = shim_state(conn)
    return SupabaseStatus(config, target.display(), exists, auth, tuple(compare(files, rows, ours)), looked_in)
