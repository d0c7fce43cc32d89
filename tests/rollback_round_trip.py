"""Apply one migration by the CLI, roll it back by the CLI, and check nothing is left of it."""

from __future__ import annotations

from collections.abc import Callable

from app.core.catalog import diff, snapshot
from tests.conftest import Database, MigrationDir, run_cli


def cli_args(db: Database, m: MigrationDir) -> list[str]:
    """The CLI options naming the test database and migrations folder."""
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def newest(db: Database, column: str) -> object:
    """A column of the newest history row."""
    return db.scalar(f"SELECT {column} FROM public._migrations ORDER BY version DESC LIMIT 1")


def round_trip(db: Database, migrations: MigrationDir, sql: str,
               also: Callable[[], object] = lambda: None) -> str:
    """The stored generated rollback of `sql`, once it has given back the catalog and what `also` reads."""
    with db.connect() as conn:
        before = snapshot(conn)
    extra = also()
    path = migrations.add("m", sql)
    r = run_cli("migrate", *cli_args(db, migrations))
    assert r.code == 0, r.stderr
    assert newest(db, "rollback_kind") == "generated", newest(db, "rollback_note")
    stored = str(newest(db, "rollback_sql") or "")
    r = run_cli("rollback", "1", *cli_args(db, migrations))
    assert r.code == 0, f"{r.stderr}\n--- stored rollback:\n{stored}"
    path.unlink()
    with db.connect() as conn:
        assert diff(before, snapshot(conn)) == [], stored
    assert also() == extra, stored
    return stored
