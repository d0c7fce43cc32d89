"""The rollback's data: one statement's inverse, the catalog reads it needs, the whole plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.sql import Statement
from app.core.status import RollbackKind  # one enum for every module (status shows it too)

if TYPE_CHECKING:
    import psycopg

# search_path as the session had it before the migration (a marker for `Inverse.search_path`)
DEFAULT_PATH = "RESET search_path"


@dataclass(frozen=True)
class Inverse:
    """The inverse of one statement: SQL to run (possibly none), or why there is none."""

    sql: tuple[str, ...] = ()
    manual: str | None = None
    search_path: str | None = None  # statement that sets the path it must run under (None: as is)


NOTHING = Inverse()


@dataclass(frozen=True)
class CatalogRead:
    """A catalog query run just before a statement; `resolve` turns its rows into the inverse."""

    query: str
    params: tuple
    resolve: Callable[[list[tuple]], Inverse]
    describe: str  # for dry runs: what is read
    run: Callable[[psycopg.Connection], list[tuple]] | None = None  # reads more than one query can (DO blocks)
    # whether it reads the database when applied (so what ran before must have run); False, or a callable
    # answering False, when it resolves from what earlier reads found
    live: bool | Callable[[psycopg.Connection], bool] = True
    # given pg_catalog's names, the step it comes to without reading, if it can tell (creation_schema)
    settle: Callable[[frozenset[str]], Step | None] | None = None
    # told, just before it runs, the rollback of the file's statements before it (None: manual), when its
    # check must see what that rollback does after its own inverse (observed.py)
    so_far: Callable[[str | None], None] | None = None

    def reads_now(self, conn: psycopg.Connection) -> bool:
        """Whether fetching it now queries the database (what was sent before it must have run)."""
        return self.live(conn) if callable(self.live) else self.live

    def fetch(self, conn: psycopg.Connection) -> list[tuple]:
        """Run the read on the migration's connection, in its transaction."""
        if self.run is not None:
            return self.run(conn)
        return conn.execute(self.query, self.params).fetchall()


@dataclass(frozen=True)
class Step:
    """What undoing one statement needs: a fixed inverse, or a catalog read first.

    `after`, when set, is called with the rows `read` gave and returns a second read that
    runs right after the statement; its `resolve` gives the inverse (used where the
    statement picks a name, as CREATE INDEX without one does).
    """

    inverse: Inverse | None = None
    read: CatalogRead | None = None
    after: Callable[[list[tuple]], CatalogRead] | None = None


@dataclass(frozen=True)
class RollbackPlan:
    """The rollback of a whole migration."""

    kind: RollbackKind
    sql: str | None
    reason: str = ""  # why manual


def assemble(statements: Sequence[Statement], inverses: Sequence[Inverse], custom: str | None) -> RollbackPlan:
    """The migration's rollback: custom SQL if given, else the inverses in reverse order."""
    if custom:
        return RollbackPlan(RollbackKind.CUSTOM, custom)
    for st, inv in zip(statements, inverses, strict=True):
        if inv.manual:
            return RollbackPlan(RollbackKind.MANUAL, None, f"line {st.line}: {inv.manual}")
    parts: list[str] = []
    path: str | None = None
    for inv in reversed(inverses):
        if inv.sql and inv.search_path is not None and inv.search_path != path:
            if not (path is None and inv.search_path == DEFAULT_PATH):
                parts.append(inv.search_path)
            path = inv.search_path
        parts.extend(inv.sql)
    if path not in (None, DEFAULT_PATH):
        parts.append(DEFAULT_PATH)
    return RollbackPlan(RollbackKind.GENERATED, _join(parts))


def _join(parts: list[str]) -> str:
    """Statements joined for storage; comment lines (dry runs) get no semicolon."""
    out = []
    for p in parts:
        out.append(p if p.lstrip().startswith("--") else p.rstrip().rstrip(";") + ";")
    return "\n".join(out)
