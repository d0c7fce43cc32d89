"""--format junit / github / sarif: CI documents from status, migrate, rehearse, lint and drift.

JUnit is checked against the rules of the Ant/Jenkins JUnit XSD that CI test views read
(windyroad's JUnit.xsd, which Jenkins' junit plugin and GitLab follow), written out below since
no XSD validator is installed here: element order and nesting, required attributes and their
types, and counts that agree with the cases. SARIF is checked for the fields SARIF 2.1.0
requires, GitHub lines for the workflow-command syntax and its escaping.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.report.github import command, escape_data, escape_property
from tests.conftest import Database, MigrationDir, run_cli

_INT = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^\d+(\.\d+)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")  # xs:dateTime without a zone, as the XSD has it
_CASE_CHILDREN = {"skipped", "error", "failure", "system-out", "system-err"}


def junit(text: str) -> list[ET.Element]:
    """Check the document against the JUnit XSD's rules; its test cases."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    cases: list[ET.Element] = []
    for suite in root:
        assert suite.tag == "testsuite"
        for attr in ("name", "tests", "failures", "errors", "time", "timestamp", "hostname"):
            assert attr in suite.attrib, f"testsuite lacks {attr}"
        for attr in ("tests", "failures", "errors", "skipped"):
            assert _INT.match(suite.get(attr, "0")), (attr, suite.get(attr))
        assert _DECIMAL.match(suite.attrib["time"]) and _TIMESTAMP.match(suite.attrib["timestamp"])
        order = [child.tag for child in suite]
        allowed = ["properties", "testcase", "system-out", "system-err"]
        assert [allowed.index(t) for t in order] == sorted(allowed.index(t) for t in order), order
        assert order.count("properties") <= 1
        for prop in suite.iter("property"):
            assert set(prop.attrib) == {"name", "value"}
        mine = suite.findall("testcase")
        for case in mine:
            assert case.get("name") and case.get("classname") and _DECIMAL.match(case.get("time", ""))
            assert {child.tag for child in case} <= _CASE_CHILDREN
            assert len([c for c in case if c.tag in ("skipped", "error", "failure")]) <= 1
            for f in case.findall("failure"):
                assert "message" in f.attrib and "type" in f.attrib
            if case.get("line") is not None:
                assert _INT.match(case.attrib["line"])
        assert int(suite.attrib["tests"]) == len(mine)
        assert int(suite.attrib["failures"]) == sum(1 for c in mine if c.find("failure") is not None)
        assert int(suite.attrib["skipped"]) == sum(1 for c in mine if c.find("skipped") is not None)
        cases += mine
    return cases


_PROPERTY = r"[a-z]+=[^,:\r\n]*"
_WORKFLOW = re.compile(rf"^::(error|warning|notice)( {_PROPERTY}(,{_PROPERTY})*)?::[^\r\n]*$")


def github(text: str) -> list[str]:
    """Every line a well-formed workflow command; the lines."""
    lines = text.splitlines()
    for line in lines:
        assert _WORKFLOW.match(line), line
    return lines


def sarif(text: str) -> dict:
    """The SARIF 2.1.0 log's required fields; the document."""
    doc = json.loads(text)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        ids = {r["id"] for r in driver.get("rules", [])}
        for result in run["results"]:
            assert isinstance(result["message"]["text"], str) and result["message"]["text"]
            assert result["level"] in ("none", "note", "warning", "error")
            assert result["ruleId"] in ids
            for loc in result.get("locations", []):
                phys = loc["physicalLocation"]
                assert phys["artifactLocation"]["uri"]
                assert phys["region"]["startLine"] >= 1
    return doc


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


# --- the escaping -------------------------------------------------------------------------------


def test_github_escaping_follows_the_runner_rules() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("%0A") == "%250A"  # % first: an escape in the text stays text
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", "bad: thing, really\nline two", file="mig/x,1:2.sql", line=3, title="t: x")
    assert line == "::error file=mig/x%2C1%3A2.sql,line=3,title=t%3A x::bad: thing, really%0Aline two"
    assert github(line + "\n")
    assert "\x1b" not in command("warning", "evil \x1b[2J")


# --- lint: junit, github, sarif -----------------------------------------------------------------

DANGER = "CREATE INDEX users_email_idx ON users (email);\nALTER TABLE users DROP COLUMN legacy;\n"


def test_lint_formats(migrations: MigrationDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = migrations.add("danger", DANGER)
    migrations.add("fine", "SELECT 1;\n")
    monkeypatch.chdir(tmp_path)  # paths shown relative to the checkout
    rel = path.relative_to(tmp_path).as_posix()
    r = run_cli("lint", "--all", "--migrations-dir", str(migrations.path), "--format", "junit")
    assert r.code == 1, r.stderr
    cases = junit(r.stdout)
    failed = [c for c in cases if c.find("failure") is not None]
    assert any(c.get("file") == rel and c.get("line") == "1" for c in failed)
    assert any(f"{rel}:1:" in (c.find("failure").text or "") for c in failed)
    assert any(c.get("name", "").endswith("fine.sql") and not list(c) for c in cases)
    assert "lint:" in r.stderr and "<testsuite" not in r.stderr  # the text went to stderr

    r = run_cli("lint", "--all", "--migrations-dir", str(migrations.path), "--format", "github")
    lines = github(r.stdout)
    assert any(line.startswith(f"::error file={rel},line=1,title=tidemark lint%3A index-not-concurrent::")
               for line in lines)
    assert any(line.startswith(f"::warning file={rel},line=2,") for line in lines)

    r = run_cli("lint", "--all", "--migrations-dir", str(migrations.path), "--format", "sarif")
    doc = sarif(r.stdout)
    results = doc["runs"][0]["results"]
    assert {(x["ruleId"], x["level"]) for x in results} >= {("index-not-concurrent", "error"),
                                                          ("drop-column", "warning")}
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == rel

    out = tmp_path / "lint.xml"
    r = run_cli("lint", "--all", "--migrations-dir", str(migrations.path), "--format", "junit", "--output", str(out))
    assert r.code == 1 and junit(out.read_text()) and "junit written to" in r.stdout


def test_format_misuse_is_a_usage_error(migrations: MigrationDir, tmp_path: Path) -> None:
    migrations.add("fine", "SELECT 1;\n")
    for extra in (["--format", "junit", "--json"], ["--output", str(tmp_path / "x.xml")],
                  ["--format", "junit", "--output", str(tmp_path / "no" / "x.xml")]):
        r = run_cli("lint", "--all", "--migrations-dir", str(migrations.path), *extra)
        assert r.code == 2 and r.stderr.startswith("error: ") and len(r.stderr.splitlines()) == 1, r.stderr
    r = run_cli("status", "--format", "sarif")
    assert r.code == 2 and "invalid choice: 'sarif'" in r.stderr


# --- status, migrate, rehearse, drift on a database ---------------------------------------------


def test_migrate_status_rehearse_drift_junit(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    r = run_cli("migrate", *_args(database, migrations), "--format", "junit")
    assert r.code == 0, r.stderr
    (case,) = junit(r.stdout)
    assert case.get("name") == "20260101000001_users.sql" and not list(case)

    bad = migrations.add("broken", "CREATE TABLE orders (id int);\nSELECT * FROM nowhere;\n")
    r = run_cli("migrate", *_args(database, migrations), "--format", "junit")
    assert r.code == 1
    (case,) = junit(r.stdout)
    failure = case.find("failure")
    assert failure is not None and 'relation "nowhere" does not exist' in failure.get("message", "")
    assert case.get("line") == "2" and case.get("file", "").endswith(bad.name)
    r = run_cli("migrate", *_args(database, migrations), "--format", "github")
    (line, _notice) = github(r.stdout)
    assert re.match(rf"::error file={re.escape(bad.as_posix())},line=2(,col=\d+)?,title=tidemark migrate%3A "
                    rf"{re.escape(bad.name)}::", line), line
    assert 'relation "nowhere" does not exist' in line
    bad.unlink()

    migrations.path.joinpath("20260101000001_users.sql").write_text("CREATE TABLE users (id int);\n")
    migrations.add("orders", "CREATE TABLE orders (id int);\n")
    r = run_cli("status", *_args(database, migrations), "--format", "junit")
    assert r.code == 0
    cases = {c.get("name"): c for c in junit(r.stdout)}
    modified = cases["20260101000001_users.sql"].find("failure")
    assert modified is not None and "changed since it was applied" in modified.get("message", "")
    assert cases["20260101000003_orders.sql"].find("skipped") is not None
    r = run_cli("status", *_args(database, migrations), "--format", "github")
    assert any(x.startswith("::error file=") and "20260101000001_users.sql,line=1" in x for x in github(r.stdout))

    database.execute("ALTER TABLE users ADD COLUMN nickname text;")
    r = run_cli("drift", *_args(database, migrations), "--format", "junit")
    assert r.code == 1, r.stderr
    cases = {c.get("name"): c for c in junit(r.stdout)}
    failure = cases["column public.users.nickname"].find("failure")
    assert failure is not None and "the target has it" in failure.get("message", "")
    assert cases["table public.users"].find("failure") is None
    r = run_cli("drift", *_args(database, migrations), "--format", "github")
    lines = github(r.stdout)
    assert any(x.startswith("::error title=tidemark drift%3A column public.users.nickname::") for x in lines)


def test_rehearse_junit(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    migrations.add("orders", "CREATE TABLE orders (id int);\n")
    migrations.add("broken", "SELECT * FROM nowhere;\n")
    r = run_cli("rehearse", *_args(database, migrations), "--format", "junit")
    assert r.code == 1, r.stdout + r.stderr
    cases = {c.get("name"): c for c in junit(r.stdout)}
    assert cases["20260101000002_orders.sql"].find("failure") is None
    failure = cases["20260101000003_broken.sql"].find("failure")
    assert failure is not None and "nowhere" in failure.get("message", "")
    assert cases["20260101000003_broken.sql"].get("file", "").endswith("20260101000003_broken.sql")
    assert cases["20260101000003_broken.sql"].get("line") == "1"
