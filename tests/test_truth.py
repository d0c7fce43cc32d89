"""Messages that tell the truth: Ctrl-C, lost connections in rollbacks, data a rollback loses,
baselines of objects that are not there. Real servers, the CLI in-process."""

from __future__ import annotations

import json
import signal
import threading

from tests.conftest import Database, MigrationDir, in_thread, run_cli, sleeping, wait_for


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


# --- Ctrl-C says what is known, and is recorded ------------------------------------------------


def _sigint_when_sleeping(database: Database) -> list[BaseException]:
    """Send SIGINT to this (the main) thread once a migration sleeps; the list gets what went wrong."""
    main_thread = threading.get_ident()
    problems: list[BaseException] = []

    def interrupt() -> None:
        try:
            wait_for(lambda: sleeping(database), "the migration to sleep")
            signal.pthread_kill(main_thread, signal.SIGINT)
        except BaseException as exc:  # reported by the test, never lost in a thread
            problems.append(exc)

    threading.Thread(target=interrupt, daemon=True).start()
    return problems


def test_ctrl_c_names_the_migration_and_what_the_history_says(database: Database, migrations: MigrationDir
                                                             ) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);\nSELECT pg_sleep(30);\n")
    migrations.add("c", "CREATE TABLE c (id int);\n")
    problems = _sigint_when_sleeping(database)
    r = run_cli("migrate", "--no-pipeline", *_args(database, migrations))
    assert not problems
    assert r.code == 130, r.stderr
    assert "was rolled back by the server" not in r.stderr
    assert "1 migration of this run applied (20260101000001_a.sql)" in r.stderr
    assert "20260101000002_b.sql did not commit: nothing of it remains and it is not recorded as applied" in r.stderr
    assert [n for (n,) in database.query("SELECT name FROM public._migrations")] == ["20260101000001_a.sql"]
    assert not database.exists("b")
    rows = database.query("SELECT migration_name, version, error_message FROM public._migration_audit "
                          "WHERE event = 'interrupted'")
    assert len(rows) == 1 and rows[0][:2] == ("20260101000002_b.sql", "20260101000002")
    assert "did not commit" in rows[0][2]
    r = run_cli("history", *_args(database, migrations))
    assert "interrupted" in r.stdout


def test_ctrl_c_during_a_rollback_says_it_is_still_applied(database: Database, migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n-- ROLLBACK: SELECT pg_sleep(30); DROP TABLE a;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    problems = _sigint_when_sleeping(database)
    r = run_cli("rollback", "1", *_args(database, migrations))
    assert not problems
    assert r.code == 130, r.stderr
    assert "the rollback of 20260101000001_a.sql did not commit: it is still applied" in r.stderr
    assert database.exists("a") and database.scalar("SELECT count(*) FROM public._migrations") == 1
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'interrupted'") == 1


# --- a connection lost during a rollback -------------------------------------------------------


def test_connection_lost_in_a_rollback_never_advises_migrate(database: Database, migrations: MigrationDir
                                                            ) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n-- ROLLBACK: SELECT pg_sleep(30); DROP TABLE a;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    out_box: list = []
    t, out = in_thread(lambda: out_box.append(run_cli("rollback", "1", *_args(database, migrations))))
    wait_for(lambda: sleeping(database), "the rollback to sleep")
    database.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE query ILIKE '%pg_sleep%' AND pid <> pg_backend_pid()")
    t.join(30)
    assert not out and len(out_box) == 1
    r = out_box[0]
    assert r.code == 1, r.stderr
    assert "tidemark migrate" not in r.stderr
    assert "check `tidemark status` to see whether 20260101000001_a.sql is still applied" in r.stderr
    assert "terminating connection due to administrator command" in r.stderr  # libpq's whole message
    assert database.exists("a")


# --- baseline checks what the files create -------------------------------------------------------


def test_baseline_refuses_when_the_database_lacks_what_the_files_create(database: Database,
                                                                        migrations: MigrationDir) -> None:
    migrations.add("orders", "CREATE TABLE public.orders (id int);\n"
                   "CREATE INDEX orders_id_idx ON public.orders (id);\n")
    migrations.add("more", "CREATE SCHEMA app;\nCREATE TYPE mood AS ENUM ('ok');\nCREATE VIEW v AS SELECT 1 AS x;\n"
                   "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n")
    database.execute("CREATE TABLE public.orders (id int)")  # only the table is there
    r = run_cli("baseline", "20260101000002", *_args(database, migrations))
    assert r.code == 2, r.stderr
    for missing in ("20260101000001_orders.sql: index public.orders_id_idx", "schema app", "type mood",
                    "view v", "function f"):
        assert missing in r.stderr
    assert "table public.orders" not in r.stderr
    assert not database.exists("public._migrations"), "history left exactly as it was"
    r = run_cli("baseline", "20260101000002", "--force", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 2


def test_baseline_of_a_database_that_has_everything(database: Database, migrations: MigrationDir) -> None:
    migrations.add("orders", "CREATE TABLE public.orders (id int);\n"
                   "CREATE INDEX orders_id_idx ON public.orders (id);\n")
    database.execute("CREATE TABLE public.orders (id int); CREATE INDEX orders_id_idx ON public.orders (id)")
    r = run_cli("baseline", "20260101000001", *_args(database, migrations))
    assert r.code == 0, r.stderr
