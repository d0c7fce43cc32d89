"""A profile with patterns stands for many targets: by its name alone it is never one of them.

`--environment shop` with `schemas = 'tenant_%'` once ran the files into the database's public
schema (exit 0). Now the commands that act on fleets act on every tenant, the others refuse in
one line, and `shop/tenant_a` (as a fleet names its members) is that one target.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import environments as envs
from tests.conftest import Database, MigrationDir, Server, fresh_database, run_cli


@pytest.fixture
def shop(home: Path, pg_server: Server, migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[Database]:
    """Profiles 'shop' (schemas tenant_%) and 'dbs' (databases LIKE this one's name) over one database."""
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    with fresh_database(pg_server) as db:
        db.execute("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA billing")
        dsn, _ = envs.split_password(db.dsn)
        folder = str(migrations.path)
        envs.save_environment(envs.Profile("shop", dsn=dsn, migrations_dir=folder, schemas="tenant_%"))
        envs.save_environment(envs.Profile("dbs", dsn=dsn, migrations_dir=folder, databases=db.name))
        migrations.add("users", "CREATE TABLE users (id int);\n")
        yield db


def _where_users(db: Database) -> list[str]:
    return sorted(r[0] for r in db.query("SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
                                         "ON n.oid = c.relnamespace WHERE c.relname = 'users'"))


def test_environment_with_schemas_pattern_migrates_every_tenant_never_public(shop: Database) -> None:
    r = run_cli("migrate", "--environment", "shop", "--yes", "--json")
    assert r.code == 0, r.stderr
    assert sorted(t["name"] for t in json.loads(r.stdout)["targets"]) == ["shop/tenant_a", "shop/tenant_b"]
    assert _where_users(shop) == ["tenant_a", "tenant_b"], "nothing ran in public or billing"
    assert not shop.exists("public._migrations")


def test_single_target_commands_refuse_a_pattern_profile_in_one_line(shop: Database) -> None:
    for argv in (("history", "--environment", "shop"), ("baseline", "--environment", "shop", "20260101000001"),
                 ("repair", "--environment", "dbs", "users", "--reason", "x")):
        r = run_cli(*argv)
        assert r.code == 2, (argv, r.stdout, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and "stands for every" in lines[0] and "--environments" in lines[0], r.stderr
    assert _where_users(shop) == [] and not shop.exists("public._migrations")


def test_env_slash_member_is_that_one_target(shop: Database) -> None:
    r = run_cli("migrate", "--environment", "shop/tenant_b", "--yes")
    assert r.code == 0, r.stderr
    assert _where_users(shop) == ["tenant_b"]
    r = run_cli("history", "--environment", "shop/tenant_b", "--json")
    assert r.code == 0, r.stderr
    assert shop.scalar("SELECT count(*) FROM tenant_b._migrations") == 1
    r = run_cli("status", "--environment", f"dbs/{shop.name}", "--json")
    assert r.code == 0, r.stderr


@pytest.mark.parametrize(("name", "says"), [
    ("shop/billing", "is not one of environment shop's"),
    ("shop/tenant_a/x", "names one of its targets as shop/SCHEMA"),
    ("dbs/postgres", "is not one of environment dbs's"),
])
def test_a_member_name_that_does_not_match_is_refused(shop: Database, name: str, says: str) -> None:
    r = run_cli("migrate", "--environment", name, "--yes")
    assert r.code == 2 and says in r.stderr, r.stderr
    assert _where_users(shop) == []


def test_the_app_says_where_to_act_on_each() -> None:
    from app.core.fleet_targets import stands_for_many
    from app.gui.words import in_app

    text = in_app(stands_for_many("shop", None, "tenant_%"))
    assert "Environment ▸ Overview of all environments" in text and "--environments" not in text
    assert "shop/SCHEMA" in text


_TENANT_FILE = """CREATE TYPE color AS ENUM ('r', 'g');
CREATE TABLE members (id serial PRIMARY KEY, c color, email text CHECK (email <> ''));
CREATE TABLE orders (id int REFERENCES members (id), total numeric DEFAULT 0);
CREATE INDEX orders_total ON orders (total) WHERE total > 0;
CREATE VIEW big AS SELECT u.id, o.total FROM members u JOIN orders o ON o.id = u.id;
CREATE FUNCTION f(x color) RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM members WHERE c = x $$;
CREATE TRIGGER t BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
COMMENT ON TABLE members IS 'people';
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON members USING (id > 0);
"""


def test_tenants_compare_as_one_schema_each(shop: Database, migrations: MigrationDir) -> None:
    """The fleet report compared each tenant's whole database (every tenant saw the others' history
    tables as its drift); now a tenant is its own schema, named {schema}, so equal tenants agree."""
    shop.execute('CREATE SCHEMA "Tenant C"')
    migrations.add("shop", _TENANT_FILE)
    envs.save_environment(dataclasses.replace(envs.get_environment("shop"), schemas="%enant%"))
    assert run_cli("migrate", "--environment", "shop", "--yes").code == 0
    r = run_cli("report", "--environments", "shop", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 0 and doc["drift"] == [], doc["drift"]

    shop.execute("CREATE INDEX extra ON tenant_b.members (email)")
    shop.execute('CREATE OR REPLACE FUNCTION "Tenant C".f(x "Tenant C".color) RETURNS int LANGUAGE sql '
                 "AS $$ SELECT 0 $$")
    r = run_cli("report", "--environments", "shop")
    assert "shop/tenant_b has index {schema}.extra" in r.stdout, r.stdout
    assert "define function {schema}.f(color) differently" in r.stdout, r.stdout
    assert "Schema drift (3 objects;" in r.stdout, r.stdout  # two tenants differ from Tenant C by f


def test_an_environment_whose_server_is_down_fails_alone(shop: Database, migrations: MigrationDir) -> None:
    """A pattern environment whose server cannot be reached to list its databases is one failed
    target: the fleet's others run by the stop rule and are reported (it stopped the whole run)."""
    down = "host=127.0.0.1 port=1 dbname=postgres user=nobody connect_timeout=5"
    envs.save_environment(envs.Profile("far", dsn=down, migrations_dir=str(migrations.path), databases="t%",
                                       groups=("g",)))
    envs.save_environment(dataclasses.replace(envs.get_environment("shop"), groups=("g",)))
    r = run_cli("migrate", "--group", "g", "--yes", "--on-failure", "continue", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 1, r.stderr
    by_name = {t["name"]: t for t in doc["targets"]}
    assert by_name["far"]["outcome"] == "failed" and "cannot list the databases of far" in by_name["far"]["error"]
    assert {by_name[n]["outcome"] for n in ("shop/tenant_a", "shop/tenant_b")} == {"ok"}
    assert _where_users(shop) == ["tenant_a", "tenant_b"]

    r = run_cli("status", "--group", "g", "--json")
    assert r.code == 1 and [t["outcome"] for t in json.loads(r.stdout)["targets"]].count("ok") == 2

    r = run_cli("report", "--group", "g", "--json")
    doc = json.loads(r.stdout)
    assert r.code == 2, r.stderr
    reached = {e["name"]: e["reachable"] for e in doc["environments"]}
    assert reached == {"far": False, "shop/tenant_a": True, "shop/tenant_b": True}, reached
