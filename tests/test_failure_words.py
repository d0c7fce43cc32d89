"""A failed migration says how many later migrations did not run, and says nothing of them when it was
the last to run (it said "later migrations did not run" after the last pending one). Real servers:
one at a time, sent ahead (pipeline), outside a transaction, and the CLI's own output."""

from __future__ import annotations

import pytest

from app.core.connect import Target
from app.core.errors import MigrationFailed
from app.core.options import Options
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir, run_cli

BAD = "CREATE TABLE t_bad (id int);\nSELECT 1 / 0;\n"


def _failure(db: Database, m: MigrationDir, **options: object) -> str:
    runner = MigrationRunner(Target(db.dsn, "test"), m.path, Options(**options))  # type: ignore[arg-type]
    with pytest.raises(MigrationFailed) as failed:
        runner.run_migrations()
    first = str(failed.value).splitlines()[0]  # then the server's ERROR, DETAIL, HINT lines
    return first.removeprefix(f"{failed.value.info.location()}: ")  # the summary, without its FILE:LINE


@pytest.mark.parametrize("pipeline", [True, False], ids=["sent-ahead", "one-at-a-time"])
def test_the_last_pending_migration_failing_names_no_later_ones(database: Database, migrations: MigrationDir,
                                                               pipeline: bool) -> None:
    migrations.add("one", "CREATE TABLE t_one (id int);\n")
    bad = migrations.add("bad", BAD)
    said = _failure(database, migrations, pipeline=pipeline)
    assert said == f"{bad.name} failed and was rolled back; nothing of it remains", said


@pytest.mark.parametrize("pipeline", [True, False], ids=["sent-ahead", "one-at-a-time"])
def test_a_failure_counts_the_later_migrations_that_did_not_run(database: Database, migrations: MigrationDir,
                                                               pipeline: bool) -> None:
    bad = migrations.add("bad", BAD)
    migrations.add("two", "CREATE TABLE t_two (id int);\n")
    migrations.add("three", "CREATE TABLE t_three (id int);\n")
    said = _failure(database, migrations, pipeline=pipeline)
    assert said == f"{bad.name} failed and was rolled back; nothing of it remains, 2 later migrations did not run"
    assert not database.exists("public.t_two")
    bad.write_text("CREATE TABLE t_bad (id int);\n", encoding="utf-8")  # fixed: the next one fails, one after it
    migrations.path.joinpath(sorted(p.name for p in migrations.path.glob("*_two.sql"))[0]).write_text(BAD)
    said = _failure(database, migrations, pipeline=pipeline)
    assert said.endswith("nothing of it remains, 1 later migration did not run"), said


def test_a_repeatable_after_the_versioned_ones_is_counted(database: Database, migrations: MigrationDir) -> None:
    (migrations.path / "V1__bad.sql").write_text(BAD, encoding="utf-8")  # a Flyway project: repeatables run last
    (migrations.path / "R__view.sql").write_text("CREATE OR REPLACE VIEW v_one AS SELECT 1 AS one;\n",
                                                 encoding="utf-8")
    said = _failure(database, migrations)
    assert said.endswith("nothing of it remains, 1 later migration did not run"), said
    assert "V1__bad.sql" in said


def test_outside_a_transaction_the_same(database: Database, migrations: MigrationDir) -> None:
    migrations.add("one", "CREATE TABLE t_one (id int);\n")
    bad = migrations.add("bad", "-- tidemark:no-transaction\nSELECT 1 / 0;\n")
    said = _failure(database, migrations)
    assert said == f"{bad.name} failed at its first statement, outside a transaction; it is not recorded as applied"
    migrations.add("after", "CREATE TABLE t_after (id int);\n")
    said = _failure(database, migrations)
    assert said.endswith("it is not recorded as applied, 1 later migration did not run"), said


def test_the_cli_says_it_the_same_way(database: Database, migrations: MigrationDir) -> None:
    bad = migrations.add("bad", BAD)
    args = ["--dsn", database.dsn, "--migrations-dir", str(migrations.path)]
    r = run_cli("migrate", *args)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{bad.name} failed and was rolled back; nothing of it remains" in r.stderr, r.stderr
    assert "did not run" not in r.stdout + r.stderr
    migrations.add("later", "CREATE TABLE t_later (id int);\n")
    r = run_cli("migrate", *args)
    assert "nothing of it remains, 1 later migration did not run" in r.stderr, r.stderr
