"""Messages that tell the truth: Ctrl-C, lost connections in rollbacks, data a rollback loses,
baselines of objects that are not there. Real servers, the CLI in-process."""

from __future__ import annotations

import json

from tests.conftest import Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


# --- what a rollback loses -----------------------------------------------------------------------


def _orders_with_status(database: Database, migrations: MigrationDir) -> None:
    migrations.add("orders", "CREATE TABLE public.orders (id int PRIMARY KEY);\n")
    migrations.add("status", "ALTER TABLE public.orders ADD COLUMN status text;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0


def test_rollback_dry_run_says_which_values_are_lost(database: Database, migrations: MigrationDir) -> None:
    _orders_with_status(database, migrations)
    r = run_cli("rollback", "2", "--dry-run", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert "20260101000002_status.sql: drops column status of public.orders; the values in it are lost" in r.stdout
    assert "20260101000001_orders.sql: drops table public.orders; its rows are lost" in r.stdout
    doc = json.loads(run_cli("rollback", "1", "--dry-run", "--json", *_args(database, migrations)).stdout)
    assert doc["irreversible"] == [
        "20260101000002_status.sql: drops column status of public.orders; the values in it are lost"]
    assert database.exists("public.orders"), "a dry run changes nothing"


def test_rollback_says_what_it_loses_before_it_runs(database: Database, migrations: MigrationDir) -> None:
    _orders_with_status(database, migrations)
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code == 0, r.stderr
    said = r.stdout.index("drops column status of public.orders; the values in it are lost")
    assert said < r.stdout.index("rolled back 1 migration")


def test_a_rollback_that_loses_nothing_says_nothing_of_loss(database: Database, migrations: MigrationDir) -> None:
    migrations.add("orders", "CREATE TABLE public.orders (id int PRIMARY KEY);\n")
    migrations.add("idx", "CREATE INDEX orders_id_idx ON public.orders (id);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert r.code == 0 and "cannot be undone" not in r.stdout
