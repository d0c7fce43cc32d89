"""--format junit / github on fleets: one <testsuite> per target (a test case per migration or object),
GitHub lines naming the target; a target that failed without a result (lock held) is a failed case."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import psycopg

from app.core import lock
from tests.conftest import Database, MigrationDir, run_cli
from tests.test_ci_formats import github, junit
from tests.test_fleet import tenants  # noqa: F401 (fixture)


def _suites(text: str) -> dict[str, ET.Element]:
    junit(text)  # the XSD's rules, every suite
    root = ET.fromstring(text)
    out = {}
    for suite in root:
        (prop,) = suite.iter("property")
        out[prop.get("value", "").split(" ", 1)[0]] = suite
    assert int(root.get("tests", "-1")) == sum(int(s.get("tests", "0")) for s in root)
    assert int(root.get("failures", "-1")) == sum(int(s.get("failures", "0")) for s in root)
    return out


def test_fleet_migrate_status_junit_and_github(tenants: dict[str, Database],  # noqa: F811
                                               migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    bad = migrations.add("orders", "CREATE TABLE orders (id int);\n")
    tenants["t2"].execute("CREATE TABLE orders (id int)")  # t2 fails on line 1 of the second migration
    with psycopg.connect(tenants["t3"].dsn, autocommit=True) as other:
        assert lock.try_acquire(other)  # t3: locked, nothing runs there
        r = run_cli("migrate", "--group", "tenants", "--on-failure", "continue", "--yes", "--format", "junit")
    assert r.code == 1, r.stdout + r.stderr
    assert "<testsuite" not in r.stderr and "TARGET" in r.stderr  # the table went to stderr
    suites = _suites(r.stdout)
    assert set(suites) == {"t1", "t2", "t3"}
    assert [c.get("name") for c in suites["t1"].iter("testcase")] == ["20260101000001_users.sql",
                                                                       "20260101000002_orders.sql"]
    assert suites["t1"].get("failures") == "0"
    t2 = {c.get("name"): c for c in suites["t2"].iter("testcase")}
    failure = t2["20260101000002_orders.sql"].find("failure")
    assert failure is not None and 'relation "orders" already exists' in failure.get("message", "")
    assert t2["20260101000002_orders.sql"].get("line") == "1"
    assert t2["20260101000002_orders.sql"].get("file", "").endswith(bad.name)
    assert t2["20260101000001_users.sql"].find("failure") is None  # it was applied before
    (t3,) = suites["t3"].iter("testcase")
    assert t3.get("name") == "migrate on t3" and "lock" in (t3.find("failure").get("message") or "")
    assert "tidemark migrate: t1 (" in suites["t1"].get("name", "")

    r = run_cli("status", "--group", "tenants", "--format", "github")
    lines = github(r.stdout)
    assert [x for x in lines if x.startswith("::notice")] and len([x for x in lines if x.startswith("::notice")]) == 3
    (error,) = [x for x in lines if x.startswith("::error")]  # t2's failed attempt; pending is no error
    assert error.startswith("::error file=") and f"{bad.name},line=1,title=tidemark status on t2 (" in error
    assert "its last attempt failed" in error
    r = run_cli("status", "--group", "tenants", "--format", "junit")
    suites = _suites(r.stdout)
    assert suites["t3"].get("skipped") == "2" and suites["t1"].get("skipped") == "0"


def test_fleet_drift_and_rehearse_formats(tenants: dict[str, Database],  # noqa: F811
                                          migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    assert run_cli("migrate", "--environments", "t1,t2").code == 0
    tenants["t2"].execute("ALTER TABLE users ADD COLUMN nickname text")
    r = run_cli("drift", "--environments", "t1,t2", "--format", "github")
    assert r.code == 1, r.stdout + r.stderr
    errors = [x for x in github(r.stdout) if x.startswith("::error")]
    assert errors == ["::error title=tidemark drift on t2 (" + errors[0].split("(", 1)[1].split(")", 1)[0]
                      + ")%3A column public.users.nickname::the target has it; the files do not create it%0Afiles:  "
                      "(none)%0Atarget: " + errors[0].split("%0Atarget: ", 1)[1]]
    r = run_cli("drift", "--environments", "t1,t2", "--format", "junit")
    suites = _suites(r.stdout)
    assert suites["t1"].get("failures") == "0" and suites["t2"].get("failures") == "1"

    migrations.add("broken", "SELECT * FROM nowhere;\n")
    r = run_cli("rehearse", "--environments", "t1", "--format", "junit")
    assert r.code == 1
    (case,) = [c for c in _suites(r.stdout)["t1"].iter("testcase") if c.find("failure") is not None]
    assert case.get("name") == "20260101000002_broken.sql" and "nowhere" in case.find("failure").get("message", "")
