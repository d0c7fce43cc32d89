"""Fleets: status, dry-run, migrate and rollback on --environments / --group, on real databases.

Each target is its own database on the test server, saved as an environment; the stop rule,
canaries, locks and the one confirmation for protected targets are exercised for real.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest

from app.cli.main import main
from app.cli.output import Streams
from app.core import environments as envs
from app.core.fleet import Outcome
from tests.conftest import Database, MigrationDir, Server, fresh_database, run_cli, wait_for


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True



@pytest.fixture
def tenants(home: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[dict[str, Database]]:
    """Three databases saved as environments t1, t2, t3 in group 'tenants' (t3 also protected)."""
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    with ExitStack() as stack:
        dbs = {}
        for name in ("t1", "t2", "t3"):
            db = stack.enter_context(fresh_database(pg_server))
            dsn, _ = envs.split_password(db.dsn)
            envs.save_environment(envs.Profile(name, dsn=dsn, migrations_dir=str(migrations.path),
                                               groups=("tenants",), protected=name == "t3"))
            dbs[name] = db
        yield dbs


def _two_files(migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n-- ROLLBACK: DROP TABLE a;\n")
    migrations.add("b", "CREATE TABLE b (id int);\n-- ROLLBACK: DROP TABLE b;\n")


def _applied(db: Database) -> list[str]:
    if not db.exists("public._migrations"):
        return []
    return [r[0][15:] for r in db.query("SELECT name FROM public._migrations ORDER BY version")]


def test_groups_are_saved_listed_and_validated(home: Path) -> None:
    assert run_cli("env", "add", "eu1", "--host", "db1", "--group", "tenants", "--group", "eu").code == 0
    assert envs.get_environment("eu1").groups == ("tenants", "eu")
    r = run_cli("env", "list", "--json")
    assert json.loads(r.stdout)["environments"][0]["groups"] == ["tenants", "eu"]
    assert "tenants,eu" in run_cli("env", "list").stdout
    assert run_cli("env", "edit", "eu1", "--group", "us").code == 0
    assert envs.get_environment("eu1").groups == ("us",)
    assert run_cli("env", "edit", "eu1", "--no-groups").code == 0
    assert envs.get_environment("eu1").groups == ()
    r = run_cli("env", "add", "bad", "--host", "h", "--group", "no spaces")
    assert r.code == 2 and "'groups' must be a list of names" in r.stderr
    r = run_cli("status", "--group", "nobody-here")
    assert r.code == 2 and "no environment is in group 'nobody-here'" in r.stderr


def test_migrate_a_group_with_yes_then_status_and_rollback(tenants: dict[str, Database],
                                                           migrations: MigrationDir) -> None:
    _two_files(migrations)
    r = run_cli("migrate", "--group", "tenants", "--yes")
    assert r.code == 0, r.stderr
    assert all(_applied(db) == ["a.sql", "b.sql"] for db in tenants.values())
    assert "[t2] 2/2 applied 20260101000002_b.sql" in r.stdout
    assert "applied: 3 ok (of 3 targets)" in r.stdout
    # The protected one was backed up first, as a single run is.
    assert "[t3] backup (schema) written to" in r.stdout

    r = run_cli("status", "--group", "tenants", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 0 and [t["outcome"] for t in doc["targets"]] == ["ok"] * 3
    assert all(len(t["result"]["migrations"]) == 2 for t in doc["targets"])
    r = run_cli("rollback", "1", "--environments", "t1,t2")
    assert r.code == 0, r.stderr
    assert _applied(tenants["t1"]) == _applied(tenants["t2"]) == ["a.sql"]
    assert _applied(tenants["t3"]) == ["a.sql", "b.sql"]


def test_protected_targets_need_one_confirmation_for_the_whole_run(tenants: dict[str, Database],
                                                                   migrations: MigrationDir) -> None:
    _two_files(migrations)
    r = run_cli("migrate", "--group", "tenants")  # no terminal, no --yes
    assert r.code == 2 and "1 protected environment (t3)" in r.stderr and "--yes" in r.stderr
    assert all(_applied(db) == [] for db in tenants.values())

    def typed(text: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["migrate", "--group", "tenants"], Streams(stdin=_Terminal(text), stdout=out, stderr=err))
        return code, out.getvalue(), err.getvalue()

    code, _, err = typed("t3\n")
    assert code == 2 and "did not match 'tenants'" in err
    assert "t3: 2: 20260101000001_a.sql, 20260101000002_b.sql" in err
    assert all(_applied(db) == [] for db in tenants.values())
    code, _out, err = typed("tenants\n")
    assert code == 0, err
    assert all(_applied(db) == ["a.sql", "b.sql"] for db in tenants.values())


def test_the_stop_rule_lets_the_running_migration_finish_and_starts_nothing_new(
        tenants: dict[str, Database], migrations: MigrationDir) -> None:
    migrations.add("a", "SELECT pg_advisory_xact_lock(4242);\nCREATE TABLE a (id int);\n")
    migrations.add("b", "CREATE TABLE b (id int);\n")
    tenants["t1"].execute("CREATE TABLE a (id int)")  # t1 fails on its first migration, once let go
    holders = {n: psycopg.connect(tenants[n].dsn, autocommit=True) for n in ("t1", "t2")}
    for h in holders.values():
        h.execute("SELECT pg_advisory_lock(4242)")  # both first migrations wait on it (locks are per database)
    result: dict[str, object] = {}

    def go() -> None:
        out, err = io.StringIO(), io.StringIO()
        # --no-pipeline: a pipelined run has up to 4 migrations on their way, which the stop rule lets finish.
        result["code"] = main(["migrate", "--environments", "t2,t1,t3", "--parallel", "2", "--yes", "--json",
                               "--no-pipeline"], Streams(stdin=io.StringIO(), stdout=out, stderr=err))
        result["doc"] = json.loads(out.getvalue()) if out.getvalue() else err.getvalue()

    def waiting(name: str) -> bool:
        return tenants[name].scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'") == 1

    t = threading.Thread(target=go)
    t.start()
    try:
        wait_for(lambda: waiting("t1") and waiting("t2"), "t1 and t2 to wait in their first migration")
        holders["t1"].close()  # t1 goes on and fails while t2 is still in its first migration
        wait_for(lambda: tenants["t1"].exists("public._migration_audit")
                 and tenants["t1"].scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'failed'"),
                 "t1 to fail")
    finally:
        for h in holders.values():
            h.close()  # t2's first migration goes on and commits
        t.join(60)
    assert result["code"] == 1, result
    outcomes = {x["name"]: x["outcome"] for x in result["doc"]["targets"]}
    assert outcomes == {"t2": Outcome.STOPPED.value, "t1": Outcome.FAILED.value, "t3": Outcome.NOT_STARTED.value}
    assert _applied(tenants["t2"]) == ["a.sql"], "the running migration finished, the next did not start"
    assert _applied(tenants["t1"]) == [] and _applied(tenants["t3"]) == []


def test_continue_runs_the_others_and_a_failed_canary_stops_everything(
        tenants: dict[str, Database], migrations: MigrationDir) -> None:
    _two_files(migrations)
    tenants["t2"].execute("CREATE TABLE b (id int)")
    r = run_cli("migrate", "--group", "tenants", "--yes", "--on-failure", "continue", "--parallel", "1")
    assert r.code == 1
    assert _applied(tenants["t1"]) == _applied(tenants["t3"]) == ["a.sql", "b.sql"]
    assert _applied(tenants["t2"]) == ["a.sql"]
    assert r.stdout.index("t2  ") < r.stdout.index("t1  "), "failures first in the table"
    row = next(line for line in r.stdout.splitlines() if line.startswith("t2  "))
    assert "failed" in row and "20260101000002_b.sql" in row  # the first line of its error

    for db in tenants.values():
        db.execute("DROP TABLE IF EXISTS a, b, public._migrations, public._migration_audit, "
                   "public._migration_rollbacks")
    tenants["t2"].execute("CREATE TABLE b (id int)")
    r = run_cli("migrate", "--group", "tenants", "--yes", "--canary", "t2", "--on-failure", "continue")
    assert r.code == 1 and "2 not started" in r.stdout
    assert _applied(tenants["t1"]) == _applied(tenants["t3"]) == []
    r = run_cli("migrate", "--group", "tenants", "--yes", "--canary", "nope")
    assert r.code == 2 and "--canary nope: not among the targets" in r.stderr


def test_a_locked_target_exits_3_with_the_others_done(tenants: dict[str, Database], migrations: MigrationDir) -> None:
    from app.core import lock

    _two_files(migrations)
    with psycopg.connect(tenants["t1"].dsn, autocommit=True) as other:
        assert lock.try_acquire(other)
        r = run_cli("migrate", "--group", "tenants", "--yes")
    assert r.code == 3, r.stdout + r.stderr
    assert "locked" in r.stdout
    assert _applied(tenants["t1"]) == [] and _applied(tenants["t2"]) == _applied(tenants["t3"]) == ["a.sql", "b.sql"]


def test_fleet_and_single_target_options_contradict(tenants: dict[str, Database]) -> None:
    r = run_cli("status", "--group", "tenants", "--environment", "t1")
    assert r.code == 2 and "not both" in r.stderr
    r = run_cli("migrate", "--environments", "t1,nope", "--yes")
    assert r.code == 2 and "unknown environment 'nope'" in r.stderr
    r = run_cli("migrate", "--group", "tenants", "--yes", "--parallel", "0")
    assert r.code == 2 and "--parallel must be 1 or more" in r.stderr


def test_a_profile_with_a_database_pattern_is_a_fleet_of_every_matching_database(
        home: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    _two_files(migrations)
    prefix = f"tn{abs(hash(str(home))) % 10**6}_"
    admin = psycopg.connect(pg_server.admin_dsn, autocommit=True)
    try:
        for i in range(3):
            admin.execute(f'CREATE DATABASE "{prefix}{i}"')
        dsn, _ = envs.split_password(pg_server.admin_dsn)
        envs.save_environment(envs.Profile("tenants", dsn=dsn, migrations_dir=str(migrations.path),
                                           databases=f"{prefix}%", groups=("all",)))
        r = run_cli("migrate", "--group", "all", "--yes", "--json")
        doc = json.loads(r.stdout)
        assert r.code == 0, r.stderr
        assert [t["name"] for t in doc["targets"]] == [f"tenants/{prefix}{i}" for i in range(3)]
        for i in range(3):
            with psycopg.connect(pg_server.dsn(f"{prefix}{i}")) as conn:
                assert conn.execute("SELECT count(*) FROM public._migrations").fetchone()[0] == 2
        # Shards of a CI matrix: disjoint, and together every target.
        seen = []
        for part in ("1/2", "2/2"):
            r = run_cli("status", "--group", "all", "--shard", part, "--json")
            assert r.code == 0, r.stderr
            seen += [t["name"] for t in json.loads(r.stdout)["targets"]]
        assert sorted(seen) == [f"tenants/{prefix}{i}" for i in range(3)]
        r = run_cli("status", "--group", "all", "--shard", "3/2")
        assert r.code == 2 and "I must be from 1 to N" in r.stderr
        envs.save_environment(envs.Profile("nomatch", dsn=dsn, databases="no_such_db_%", groups=("none",)))
        r = run_cli("status", "--group", "none")
        assert r.code == 2 and "no database of" in r.stderr and "matches 'no_such_db_%'" in r.stderr
    finally:
        for i in range(3):
            admin.execute(f'DROP DATABASE IF EXISTS "{prefix}{i}" WITH (FORCE)' if pg_server.major >= 13
                          else f'DROP DATABASE IF EXISTS "{prefix}{i}"')
        admin.close()


def test_a_target_whose_server_is_down_fails_alone_with_continue(tenants: dict[str, Database],
                                                                 migrations: MigrationDir) -> None:
    _two_files(migrations)
    envs.save_environment(envs.Profile("down", host="127.0.0.1", port=1, database="x", user="x",
                                       groups=("tenants",), migrations_dir=str(migrations.path)))
    r = run_cli("migrate", "--group", "tenants", "--yes", "--on-failure", "continue", "--json")
    doc = json.loads(r.stdout)
    outcomes = {t["name"]: t["outcome"] for t in doc["targets"]}
    assert r.code == 1 and outcomes == {"down": "failed", "t1": "ok", "t2": "ok", "t3": "ok"}
    assert "cannot connect" in next(t["error"] for t in doc["targets"] if t["name"] == "down")


def test_promote_brings_a_target_up_to_what_the_source_has_applied(tenants: dict[str, Database],
                                                                    migrations: MigrationDir) -> None:
    _two_files(migrations)
    c = migrations.add("c", "CREATE TABLE c (id int);\n")
    assert run_cli("migrate", "--env", "t1", "--target", "20260101000002").code == 0
    r = run_cli("promote", "--from", "t1", "--to", "t2")
    assert r.code == 0, r.stderr
    assert "promote to 20260101000002_b.sql, the last migration applied on t1" in r.stdout
    assert _applied(tenants["t2"]) == ["a.sql", "b.sql"]
    r = run_cli("promote", "--from", "t1", "--group", "tenants", "--yes")
    assert r.code == 0, r.stdout + r.stderr
    assert _applied(tenants["t3"]) == ["a.sql", "b.sql"], "the protected one, confirmed by --yes"
    assert not any(db.exists("public.c") for db in tenants.values())
    r = run_cli("promote", "--from", "t1", "--to", "t3")  # protected, but nothing to change: nothing to confirm
    assert r.code == 0 and "nothing to promote: t3 already has everything up to 20260101000002_b.sql" in r.stdout
    c.write_text("CREATE TABLE c (id int);\n")
    assert run_cli("migrate", "--env", "t1").code == 0
    c.write_text("CREATE TABLE c (id bigint);\n")  # changed after it was applied on t1
    r = run_cli("promote", "--from", "t1", "--to", "t2")
    assert r.code == 2 and "t1 has 1 modified (20260101000003_c.sql)" in r.stderr
    assert _applied(tenants["t2"]) == ["a.sql", "b.sql"]


def test_rehearse_a_group_on_throwaway_copies(tenants: dict[str, Database], migrations: MigrationDir) -> None:
    _two_files(migrations)
    r = run_cli("rehearse", "--environments", "t1,t2", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 0, r.stderr
    assert [t["outcome"] for t in doc["targets"]] == ["ok", "ok"]
    assert all(t["result"]["ok"] for t in doc["targets"])
    assert all(_applied(db) == [] for db in tenants.values()), "nothing written to the targets"


def test_report_on_a_group_is_one_file_with_every_target(tenants: dict[str, Database], migrations: MigrationDir,
                                                         tmp_path: Path) -> None:
    _two_files(migrations)
    assert run_cli("migrate", "--env", "t1").code == 0
    out = tmp_path / "fleet.json"
    r = run_cli("report", "--group", "tenants", "--output", str(out))
    assert r.code == 0, r.stderr
    doc = json.loads(out.read_text())
    assert [e["name"] for e in doc["environments"]] == ["t2", "t3", "t1"]  # pending before clean
    html = tmp_path / "fleet.html"
    assert run_cli("report", "--group", "tenants", "--html", "--output", str(html)).code == 0
    assert "t3" in html.read_text() and "20260101000002_b.sql" in html.read_text()
