"""Schema targets: a profile's `schemas = 'tenant_%'` is a fleet of every matching schema of one database.

Each tenant keeps its own history (migrations, rollbacks, audit) in its schema and runs the same
files with search_path set to it; public and an unrelated schema stay untouched; the lock is per
schema. Checked on the real servers, the history and the objects read back from the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.core import environments as envs
from app.core.place import PUBLIC, Place
from tests.conftest import Database, MigrationDir, Server, fresh_database, run_cli

TENANTS = ("tenant_a", "tenant_b", "tenant_c")



@pytest.fixture
def shop(home: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Database]:
    """One database with schemas tenant_a, tenant_b, tenant_c and billing; profile 'shop' = tenant_%."""
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    with fresh_database(pg_server) as db:
        db.execute("; ".join(f"CREATE SCHEMA {s}" for s in (*TENANTS, "billing")))
        db.execute("CREATE TABLE billing.invoices (id int)")
        dsn, _ = envs.split_password(db.dsn)
        envs.save_environment(envs.Profile("shop", dsn=dsn, migrations_dir=str(migrations.path),
                                           schemas="tenant_%", groups=("shops",)))
        # One tenant alone (an exact LIKE pattern), for commands on a single schema.
        envs.save_environment(envs.Profile("shop-a", dsn=dsn, migrations_dir=str(migrations.path),
                                           schemas="tenant_a"))
        yield db


def _files(migrations: MigrationDir, *, view: bool = True) -> None:
    # Unqualified names and generated rollbacks: one set of files for every tenant.
    migrations.add("users", "CREATE TABLE users (id int PRIMARY KEY, email text);\n"
                            "CREATE INDEX users_email ON users (email);\n")
    migrations.add("orders", "CREATE TABLE orders (id int, user_id int REFERENCES users (id));\n"
                   + ("CREATE VIEW big_orders AS SELECT * FROM orders WHERE id > 100;\n" if view else ""))


def _applied(db: Database, schema: str) -> list[str]:
    if not db.exists(f"{schema}._migrations"):
        return []
    return [r[0][15:] for r in db.query(f"SELECT name FROM {schema}._migrations ORDER BY version")]


def _tables(db: Database, schema: str) -> set[str]:
    return {r[0] for r in db.query("SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                   "WHERE nspname = %s AND relkind IN ('r', 'v')", (schema,))}


def test_each_tenant_gets_its_tables_and_history_in_its_schema(shop: Database, migrations: MigrationDir) -> None:
    _files(migrations)
    r = run_cli("env", "list")
    assert "(schemas tenant_%)" in r.stdout
    assert json.loads(run_cli("env", "list", "--json").stdout)["environments"][0]["schemas"] == "tenant_%"

    r = run_cli("dry-run", "--group", "shops", "--json")
    assert r.code == 0, r.stderr
    assert [t["name"] for t in json.loads(r.stdout)["targets"]] == [f"shop/{s}" for s in TENANTS]
    assert all(_applied(shop, s) == [] for s in TENANTS), "a dry run writes nothing"

    r = run_cli("migrate", "--group", "shops", "--yes", "--json")
    assert r.code == 0, r.stdout + r.stderr
    for s in TENANTS:
        assert _applied(shop, s) == ["users.sql", "orders.sql"]
        assert {"users", "orders", "big_orders", "_migrations", "_migration_rollbacks",
                "_migration_audit"} <= _tables(shop, s)
        assert shop.scalar(f"SELECT count(*) FROM {s}._migration_audit WHERE event = 'applied'") == 2
    assert _tables(shop, "public") == set(), "public untouched: no history, no objects"
    assert _tables(shop, "billing") == {"invoices"}

    r = run_cli("status", "--group", "shops", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 0 and [t["outcome"] for t in doc["targets"]] == ["ok"] * 3
    assert all([m["state"] for m in t["result"]["migrations"]] == ["applied", "applied"] for t in doc["targets"])

    # Rollback on one tenant: its generated rollbacks drop its own objects, nobody else's.
    r = run_cli("rollback", "2", "--environments", "shop-a", "--yes")
    assert r.code == 0, r.stdout + r.stderr
    assert _applied(shop, "tenant_a") == [] and "users" not in _tables(shop, "tenant_a")
    assert shop.scalar("SELECT count(*) FROM tenant_a._migration_rollbacks") == 2
    assert all(_applied(shop, s) == ["users.sql", "orders.sql"] for s in ("tenant_b", "tenant_c"))
    assert {"users", "orders", "big_orders"} <= _tables(shop, "tenant_b")
    r = run_cli("status", "--environments", "shop-a", "--json")
    t = json.loads(r.stdout)["targets"][0]
    assert t["name"] == "shop-a/tenant_a" and [m["state"] for m in t["result"]["migrations"]] == ["pending"] * 2


def test_a_tenant_failing_halfway_leaves_the_others_done(shop: Database, migrations: MigrationDir) -> None:
    _files(migrations)
    shop.execute("CREATE TABLE tenant_b.orders (id int)")  # conflicts with the second file, in tenant_b only
    shop.execute("CREATE TABLE public.orders (id int)")  # a public one must not get in the way of the others
    r = run_cli("migrate", "--group", "shops", "--yes", "--on-failure", "continue", "--json")
    doc = json.loads(r.stdout)
    outcomes = {t["name"]: t["outcome"] for t in doc["targets"]}
    assert r.code == 1
    assert outcomes == {"shop/tenant_a": "ok", "shop/tenant_b": "failed", "shop/tenant_c": "ok"}
    assert "orders" in next(t["error"] for t in doc["targets"] if t["outcome"] == "failed")
    assert _applied(shop, "tenant_a") == _applied(shop, "tenant_c") == ["users.sql", "orders.sql"]
    assert _applied(shop, "tenant_b") == ["users.sql"], "the first file committed, the second rolled back"
    assert shop.scalar("SELECT count(*) FROM tenant_b._migration_audit WHERE event = 'failed'") == 1
    assert "big_orders" not in _tables(shop, "tenant_b")
    assert _tables(shop, "public") == {"orders"}


def test_the_lock_is_per_schema(shop: Database, migrations: MigrationDir) -> None:
    from app.core import lock

    _files(migrations)
    assert Place("tenant_a").lock_key != Place("tenant_b").lock_key != PUBLIC.lock_key
    assert PUBLIC.lock_key == lock.LOCK_KEY, "a plain target takes the key it always took"
    with psycopg.connect(shop.dsn, autocommit=True) as other, psycopg.connect(shop.dsn, autocommit=True) as plain:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (Place("tenant_b").lock_key,)).fetchone()[0]
        assert lock.try_acquire(plain)  # a run on public: it must not block the tenants
        r = run_cli("migrate", "--group", "shops", "--yes", "--json")
    assert r.code == 3, r.stdout + r.stderr
    outcomes = {t["name"]: t["outcome"] for t in json.loads(r.stdout)["targets"]}
    assert outcomes == {"shop/tenant_a": "ok", "shop/tenant_b": "locked", "shop/tenant_c": "ok"}
    assert _applied(shop, "tenant_b") == [] and _applied(shop, "tenant_a") == ["users.sql", "orders.sql"]


def test_rehearse_and_drift_on_a_schema_target(shop: Database, migrations: MigrationDir) -> None:
    # No view: PostgreSQL 16 changed how pg_get_viewdef qualifies columns, which the drift check's
    # replay (on the wheel's 18) would report against a 15 target, whatever the schema.
    _files(migrations, view=False)
    r = run_cli("rehearse", "--environments", "shop-a", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 0, r.stdout + r.stderr
    assert doc["targets"][0]["result"]["ok"], doc
    assert _applied(shop, "tenant_a") == [], "nothing written to the target"
    assert run_cli("migrate", "--environments", "shop-a", "--yes").code == 0
    r = run_cli("drift", "--environments", "shop-a", "--json")
    assert r.code == 0, r.stdout + r.stderr
    shop.execute("ALTER TABLE tenant_a.users ADD COLUMN hand_made int")
    r = run_cli("drift", "--environments", "shop-a", "--json")
    assert r.code != 0 and "hand_made" in r.stdout


def test_a_schema_name_tidemark_cannot_quote_is_a_clear_error(shop: Database, migrations: MigrationDir) -> None:
    _files(migrations)
    shop.execute('CREATE SCHEMA "tenant_\'x"')
    r = run_cli("status", "--group", "shops")
    assert r.code == 2 and "tenant_'x" in r.stderr and "quote" in r.stderr
    assert all(_applied(shop, s) == [] for s in TENANTS)


def test_report_on_schema_targets_reads_each_tenants_history(shop: Database, migrations: MigrationDir,
                                                             tmp_path: Path) -> None:
    _files(migrations)
    assert run_cli("migrate", "--environments", "shop-a", "--yes").code == 0
    out = tmp_path / "tenants.json"
    r = run_cli("report", "--group", "shops", "--output", str(out))
    assert r.code == 0, r.stderr
    doc = json.loads(out.read_text())
    names = [e["name"] for e in doc["environments"]]
    assert sorted(names) == [f"shop/{s}" for s in TENANTS]
    assert names[-1] == "shop/tenant_a", "failures first: the migrated tenant is the clean one, last"
    assert "20260101000002_orders.sql" in out.read_text()


def test_databases_and_schemas_together_and_one_read_of_the_folder(
        home: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.fleet_targets import members_of
    from app.core.runner import MigrationRunner
    from app.core.shared_reading import SharedReadings

    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    _files(migrations, view=False)
    prefix = f"ts{abs(hash(str(home))) % 10**6}_"
    dbs = [f"{prefix}{i}" for i in range(2)]
    admin = psycopg.connect(pg_server.admin_dsn, autocommit=True)
    try:
        for name in dbs:
            admin.execute(f'CREATE DATABASE "{name}"')
            with psycopg.connect(pg_server.dsn(name), autocommit=True) as c:
                c.execute("CREATE SCHEMA tenant_x; CREATE SCHEMA tenant_y; CREATE SCHEMA other")
        dsn, _ = envs.split_password(pg_server.admin_dsn)
        target = envs.profile_target(envs.Profile("many", dsn=dsn), None)
        readings = SharedReadings()
        ms = members_of("many", MigrationRunner(target, migrations.path), f"{prefix}%", "tenant_%", readings)
        assert [m.name for m in ms] == [f"many/{d}/{s}" for d in dbs for s in ("tenant_x", "tenant_y")]
        for m in ms:
            m.runner.get_migration_status()
            m.runner.run_migrations()
        assert readings.reads == 2, "one read of the folder for status and one for migrate, not one per target"
        for name in dbs:
            with psycopg.connect(pg_server.dsn(name)) as c:
                for s in ("tenant_x", "tenant_y"):
                    assert c.execute(f"SELECT count(*) FROM {s}._migrations").fetchone()[0] == 2
                    assert c.execute(f"SELECT to_regclass('{s}.users') IS NOT NULL").fetchone()[0]
                assert c.execute("SELECT to_regclass('public._migrations')").fetchone()[0] is None
                assert c.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE nspname = 'other'").fetchone()[0] == 0
    finally:
        for name in dbs:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' if pg_server.major >= 13
                          else f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def test_env_test_checks_the_tenants_own_schema(shop: Database) -> None:
    """`env test` of a schema target checks the privileges its runs need there (its schema, its
    history tables, USAGE on public), not public's: a login that may not create in tenant_b says so."""
    from psycopg import conninfo, sql

    from app.core.connect import Target
    from app.core.envcheck import test_target

    user, password = "tm_tenant_" + shop.name[-8:], "tenant-login-pw"
    admin = shop.server.admin_dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(shop.name), sql.Identifier(user)))
    shop.execute(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE, CREATE ON SCHEMA tenant_a TO {user}; "
                 f"GRANT USAGE ON SCHEMA tenant_b TO {user}; CREATE TABLE tenant_b._migrations (id int)")
    try:
        params = conninfo.conninfo_to_dict(shop.dsn)
        dsn = conninfo.make_conninfo("", host=params.get("host") or "localhost", port=params.get("port") or "5432",
                                     dbname=shop.name, user=user)
        a = test_target(Target(dsn, "--dsn", password=password, schema="tenant_a"))
        b = test_target(Target(dsn, "--dsn", password=password, schema="tenant_b"))
        plain = test_target(Target(dsn, "--dsn", password=password))
        assert a.missing_privileges == () and a.ok
        assert "CREATE on schema tenant_b" in b.missing_privileges
        assert 'SELECT on "tenant_b"._migrations' in b.missing_privileges
        assert not any("public" in m for m in b.missing_privileges), b.missing_privileges
        assert "CREATE on schema public" in plain.missing_privileges
    finally:
        shop.execute(f"DROP TABLE tenant_b._migrations; DROP OWNED BY {user}; GRANT CREATE ON SCHEMA public TO PUBLIC")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def test_hand_edited_history_is_named_in_the_tenants_schema(shop: Database, migrations: MigrationDir) -> None:
    """The messages about a hand-edited history row name the table it is in: "tenant_a"._migrations."""
    _files(migrations)
    assert run_cli("migrate", "--environment", "shop/tenant_a", "--yes").code == 0
    newest = shop.scalar("SELECT max(version) FROM tenant_a._migrations")
    shop.execute(f"UPDATE tenant_a._migrations SET rollback_kind = 'custom', rollback_sql = 'DROP TABL x' "
                 f"WHERE version = '{newest}'")
    r = run_cli("rollback", "--environment", "shop/tenant_a", "--yes")
    assert r.code == 2 and '"tenant_a"._migrations' in r.stderr and "public._migrations" not in r.stderr, r.stderr
    shop.execute(f"UPDATE tenant_a._migrations SET rollback_sql = NULL WHERE version = '{newest}'")
    r = run_cli("rollback", "--environment", "shop/tenant_a", "--yes")
    assert r.code == 2 and '"tenant_a"._migrations' in r.stderr and "public._migrations" not in r.stderr, r.stderr
    assert shop.scalar("SELECT count(*) FROM tenant_a._migrations") == len(list(migrations.path.glob("*.sql")))


def test_supabase_history_is_refused_on_schema_targets(shop: Database, migrations: MigrationDir) -> None:
    """One supabase_migrations table per database cannot be every tenant's: refused before anything runs."""
    _files(migrations)
    for how in (("--environment", "shop/tenant_a"), ("--group", "shops")):
        r = run_cli("migrate", *how, "--yes", "--supabase-history")
        assert r.code == 2, (how, r.code, r.stdout, r.stderr)
        assert "--supabase-history cannot be used on schema target" in r.stderr and "Traceback" not in r.stderr
        assert shop.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'supabase_migrations'") == 0
        assert shop.scalar("SELECT to_regclass('tenant_a._migrations') IS NULL")
