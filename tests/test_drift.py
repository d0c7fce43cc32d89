"""`tidemark drift`: the target's schema against what its applied migrations produce, replayed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Database, MigrationDir, run_cli
from tests.test_fleet import tenants  # noqa: F401 (fixture)


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _applied(database: Database, migrations: MigrationDir) -> None:
    """A target with tables, an index built concurrently, a function, a grant and a comment, all migrated."""
    database.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tm_reader') "
                     "THEN CREATE ROLE tm_reader NOLOGIN; END IF; END $$;")
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"
                   "COMMENT ON TABLE users IS 'who logs in';\nGRANT SELECT ON users TO tm_reader;\n")
    migrations.add("email_index", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n")
    migrations.add("greet", "CREATE FUNCTION greet(who text) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || who $$;\n")
    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 0, r.stdout + r.stderr


def test_an_untouched_target_agrees(database: Database, migrations: MigrationDir) -> None:
    _applied(database, migrations)
    r = run_cli("drift", *_args(database, migrations), "--json")
    assert r.code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["differences"] == [] and doc["replay_error"] is None
    assert doc["replayed"] == ["20260101000001_users.sql", "20260101000002_email_index.sql",
                               "20260101000003_greet.sql"]
    assert doc["objects"] > 5
    r = run_cli("drift", *_args(database, migrations))
    assert r.code == 0 and "no drift: the schema is what its 3 applied migrations produce" in r.stdout


def test_hand_changes_are_each_found_and_named(database: Database, migrations: MigrationDir) -> None:
    _applied(database, migrations)
    before = database.query("SELECT name, checksum FROM public._migrations ORDER BY name")
    database.execute("DROP INDEX users_email_idx;"
                     "ALTER TABLE users ADD COLUMN nickname text;"
                     "CREATE OR REPLACE FUNCTION greet(who text) RETURNS text LANGUAGE sql "
                     "AS $$ SELECT 'hello ' || who $$;")
    r = run_cli("drift", *_args(database, migrations), "--json")
    assert r.code == 1, r.stdout + r.stderr
    found = {d["key"]: d for d in json.loads(r.stdout)["differences"]}
    assert set(found) == {"index public.users_email_idx", "column public.users.nickname",
                          "function public.greet(text)"}
    assert found["index public.users_email_idx"]["target"] is None
    assert "users_email_idx" in found["index public.users_email_idx"]["files"]
    assert found["column public.users.nickname"]["files"] is None
    assert "'hi '" in found["function public.greet(text)"]["files"]
    assert "'hello '" in found["function public.greet(text)"]["target"]
    r = run_cli("drift", *_args(database, migrations), "-v")
    assert r.code == 1
    assert "index public.users_email_idx: the target lacks it; the files create it" in r.stdout
    assert "column public.users.nickname: the target has it; the files do not create it" in r.stdout
    assert "function public.greet(text): the target and the files define it differently" in r.stdout
    assert "files:  CREATE INDEX users_email_idx ON public.users USING btree (email)" in r.stdout
    assert "'hello '" in r.stdout and "drift: 3 objects differ from what the files produce" in r.stdout
    assert database.query("SELECT name, checksum FROM public._migrations ORDER BY name") == before
    # --ignore: the name, or the table a column belongs to
    r = run_cli("drift", *_args(database, migrations), "--ignore", "public.users", "--ignore", "public.greet",
                "--ignore", "public.users_*")
    assert r.code == 0, r.stdout + r.stderr
    assert "left out" in r.stdout


def test_the_stored_text_replays_and_other_tools_tables_are_left_out(database: Database,
                                                                     migrations: MigrationDir) -> None:
    _applied(database, migrations)
    # edited after it ran: the target ran the stored text, so that is what is replayed
    (migrations.path / "20260101000003_greet.sql").write_text(
        "CREATE FUNCTION greet(who text) RETURNS text LANGUAGE sql AS $$ SELECT 'yo ' || who $$;\n")
    database.execute("CREATE TABLE public.flyway_schema_history (installed_rank int PRIMARY KEY);")
    r = run_cli("drift", *_args(database, migrations))
    assert r.code == 0, r.stdout + r.stderr
    assert "20260101000003_greet.sql changed since it was applied: replayed the text stored" in r.stdout
    # a file gone, but its text is in the history
    (migrations.path / "20260101000002_email_index.sql").unlink()
    r = run_cli("drift", *_args(database, migrations))
    assert r.code == 0, r.stdout + r.stderr
    assert "20260101000002_email_index.sql has no file any more: replayed the text stored" in r.stdout


def test_a_migration_that_does_not_replay_fails_the_check(database: Database, migrations: MigrationDir) -> None:
    database.execute("CREATE TABLE made_by_hand (id int);")
    migrations.add("needs_it", "ALTER TABLE made_by_hand ADD COLUMN note text;\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("drift", *_args(database, migrations))
    assert r.code == 1, r.stdout + r.stderr
    assert "the files do not replay: 20260101000001_needs_it.sql line 1:" in r.stdout
    assert "made_by_hand" in r.stdout and "Traceback" not in r.stderr


def test_drift_on_a_fleet_names_the_target_that_drifted(tenants: dict[str, Database],  # noqa: F811
                                                       migrations: MigrationDir) -> None:
    migrations.add("a", "CREATE TABLE a (id int);\n")
    assert run_cli("migrate", "--environments", "t1,t2", "--yes").code == 0
    tenants["t2"].execute("CREATE INDEX a_id_idx ON a (id);")
    r = run_cli("drift", "--environments", "t1,t2", "--json")
    assert r.code == 1, r.stdout + r.stderr
    targets = {t["name"]: t for t in json.loads(r.stdout)["targets"]}
    assert targets["t1"]["outcome"] == "ok" and targets["t1"]["result"]["ok"]
    assert targets["t2"]["outcome"] == "failed"
    assert targets["t2"]["error"] == "drift: 1 object differs from what the files produce"
    r = run_cli("drift", "--environments", "t1,t2")
    assert "t2" in r.stdout and "drift: 1 object differs" in r.stdout


def test_an_applied_migration_with_no_text_anywhere_is_exit_2(database: Database, migrations: MigrationDir) -> None:
    _applied(database, migrations)
    database.execute("UPDATE public._migrations SET applied_sql = NULL WHERE version = '20260101000003'")
    (migrations.path / "20260101000003_greet.sql").unlink()
    r = run_cli("drift", *_args(database, migrations))
    assert r.code == 2, r.stdout + r.stderr
    assert r.stderr == ("error: 20260101000003_greet.sql is applied on the target but its file is gone and the "
                        "history holds no text for it: restore the file (e.g. from git) to check drift\n")


def test_an_extensions_own_objects_are_left_out(database: Database, migrations: MigrationDir) -> None:
    if not database.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'"):
        pytest.skip("this server has no pgcrypto")
    migrations.add("crypto", "CREATE EXTENSION IF NOT EXISTS pgcrypto;\n"
                   "CREATE TABLE tokens (id bigint PRIMARY KEY, token bytea DEFAULT gen_random_bytes(16));\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("drift", *_args(database, migrations), "--json")
    assert r.code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and not any("gen_random_bytes" in k or "digest" in k for k in doc.get("agreeing", []))
    if database.server.major != 18 or doc["sandbox_version"].startswith("18"):
        assert any("pgcrypto" in n for n in doc["notes"]) == doc["sandbox_version"].startswith("18")
