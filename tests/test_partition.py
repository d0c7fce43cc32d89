"""A silent network partition (a TCP proxy the test owns stops forwarding, keeping both sockets
open) fails the run within the deadline, with a clear message, and frees the migration lock."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import conninfo

from app.core.connect import Target
from app.core.deadline import DEADLINE_ENV
from app.core.errors import ConnectionLost
from app.core.options import Options
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir, in_thread, sleeping, wait_for
from tests.pooler import BlackHoleProxy

DEADLINE_S = 2.0


@pytest.fixture
def proxy(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[BlackHoleProxy]:
    """A proxy in front of the test database, and a short deadline."""
    monkeypatch.setenv(DEADLINE_ENV, str(DEADLINE_S))
    params = conninfo.conninfo_to_dict(database.dsn)
    p = BlackHoleProxy(params["host"], int(params["port"]))
    yield p
    p.close()


def _lock_holders(db: Database) -> list[tuple]:
    return db.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")


@pytest.mark.parametrize("pipelined", [True, False], ids=["pipelined", "one-by-one"])
def test_partition_mid_migration_fails_within_the_deadline_and_frees_the_lock(
    proxy: BlackHoleProxy, database: Database, migrations: MigrationDir, pipelined: bool
) -> None:
    migrations.add("first", "CREATE TABLE first (id int);\n")
    migrations.add("slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(1);\n")
    migrations.add("after", "CREATE TABLE after (id int);\n")
    runner = MigrationRunner(Target(proxy.dsn(database.dsn), "test"), migrations.path, Options(pipeline=pipelined))
    t, raised = in_thread(runner.run_migrations)
    wait_for(lambda: sleeping(database), "the slow migration to run")
    cut = time.monotonic()
    proxy.black_hole()
    t.join(60)
    took = time.monotonic() - cut
    assert not t.is_alive(), "migrate hung on a silent partition"
    assert len(raised) == 1 and isinstance(raised[0], ConnectionLost), raised
    message = str(raised[0])
    assert "no answer from the server for 2 s (a network partition?)" in message
    assert "freed the migration lock" in message and "`tidemark status`" in message
    assert took < DEADLINE_S * 4 + 5, took
    wait_for(lambda: not _lock_holders(database), "the server to free the migration lock", timeout=10)
    # whatever the server did with those on the wire (a pipelined run sent "after" already),
    # schema and history agree on each
    recorded = " ".join(r[0] for r in database.query("SELECT name FROM public._migrations"))
    for table in ("first", "slow", "after"):
        assert database.exists(table) == (f"_{table}.sql" in recorded), (table, recorded)


def test_a_long_statement_is_not_a_partition(
    proxy: BlackHoleProxy, database: Database, migrations: MigrationDir
) -> None:
    """Waiting longer than the deadline on a statement the server is running is fine."""
    migrations.add("slow", f"SELECT pg_sleep({DEADLINE_S * 2.5});\nCREATE TABLE slow (id int);\n")
    runner = MigrationRunner(Target(proxy.dsn(database.dsn), "test"), migrations.path)
    result = runner.run_migrations()
    assert [m.name for m in result.applied] == [f.name for f in sorted(migrations.path.iterdir())]
    assert database.exists("slow")


def test_an_unreachable_server_is_named_and_the_run_ends(
    proxy: BlackHoleProxy, database: Database, migrations: MigrationDir
) -> None:
    """New connections are black-holed too: the watchdog cannot ask, and says so."""
    migrations.add("slow", "SELECT pg_sleep(1);\nCREATE TABLE slow (id int);\n")
    runner = MigrationRunner(Target(proxy.dsn(database.dsn), "test"), migrations.path)
    t, raised = in_thread(runner.run_migrations)
    wait_for(lambda: sleeping(database), "the slow migration to run")
    proxy.black_hole(refuse_new=True)
    t.join(60)
    assert not t.is_alive(), "migrate hung on a silent partition"
    assert len(raised) == 1 and isinstance(raised[0], ConnectionLost), raised
    assert "the server cannot be reached either" in str(raised[0])
    # the test's proxy keeps the server's side open: end that session, as the server's keepalives would
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid <> pg_backend_pid()")
