"""`tidemark compare` and MigrationReporter.compare_environments against real servers."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import psycopg
import pytest

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.paths import resources_dir
from app.report import MigrationReporter
from tests.conftest import Database, MigrationDir, Server, fresh_database, run_cli


@pytest.fixture
def other(pg_server: Server) -> Iterator[Database]:
    """A second fresh database on the same server (another environment)."""
    with fresh_database(pg_server) as db:
        yield db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _migrate(db: Database, m: MigrationDir, *extra: str) -> None:
    r = run_cli("migrate", "--dsn", db.dsn, "--migrations-dir", str(m.path), *extra)
    assert r.code == 0, r.stderr


def _compare(m: MigrationDir, *envs: tuple[str, str], fmt: str | None = "--json", out: Path | None = None):
    dsn_list = ",".join(f"{n}={d}" for n, d in envs)
    args = ["compare", "--dsn-list", dsn_list, "--migrations-dir", str(m.path), *([fmt] if fmt else [])]
    if out is not None:
        args += ["--output", str(out)]
    return run_cli(*args)


def _validate(doc: dict) -> None:
    schema = json.loads((resources_dir() / "compare.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


@pytest.fixture
def two(database: Database, other: Database, migrations: MigrationDir) -> tuple[Database, Database, MigrationDir]:
    """Two environments with the same two migrations applied."""
    migrations.add("users", "CREATE TABLE users (id int PRIMARY KEY, email text);\n")
    migrations.add("orders", "CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);\n")
    _migrate(database, migrations)
    _migrate(other, migrations)
    return database, other, migrations


def test_equal_environments_exit_0(two: tuple[Database, Database, MigrationDir]) -> None:
    a, b, m = two
    r = _compare(m, ("dev", a.dsn), ("prod", b.dsn))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    _validate(doc)
    assert doc["equal"] is True and doc["differences"] == [] and doc["drift"] == []
    assert [e["status"] for e in doc["environments"]] == ["healthy", "healthy"]
    assert all(e["catalog_objects"] and e["catalog_objects"] > 0 for e in doc["environments"])
    assert len(doc["matrix"]) == 2 and not any(row["differs"] for row in doc["matrix"])
    assert doc["drift_groups"] == [["dev", "prod"]]
    assert a.server.password not in r.stdout


def test_extra_applied_migration_exit_1_and_listed(two: tuple[Database, Database, MigrationDir]) -> None:
    a, b, m = two
    m.add("invoices", "CREATE TABLE invoices (id int);\n")
    _migrate(a, m)
    r = _compare(m, ("staging", a.dsn), ("prod", b.dsn))
    assert r.code == 1
    doc = json.loads(r.stdout)
    _validate(doc)
    assert [d["subject"] for d in doc["differences"]] == ["20260101000003_invoices.sql"]
    assert doc["differences"][0]["kind"] == "state"
    row = next(x for x in doc["matrix"] if x["name"] == "20260101000003_invoices.sql")
    assert row["cells"]["staging"]["state"] == "applied" and row["cells"]["prod"]["state"] == "pending"
    assert doc["drift"] == [], "different migrations explain the schema difference: not drift"
    text = run_cli("compare", "--dsn-list", f"staging={a.dsn},prod={b.dsn}", "--migrations-dir", str(m.path))
    assert text.code == 1 and "DIFFERENT" in text.stdout and "20260101000003_invoices.sql" in text.stdout


def test_hand_made_change_is_drift_object_by_object(two: tuple[Database, Database, MigrationDir],
                                                    tmp_path: Path) -> None:
    a, b, m = two
    b.execute("ALTER TABLE users ADD COLUMN nickname text; CREATE INDEX orders_user_idx ON orders (user_id);")
    out = tmp_path / "weekly.html"
    r = _compare(m, ("staging", a.dsn), ("prod", b.dsn), fmt="--html", out=out)
    assert r.code == 1, r.stderr
    page = out.read_text(encoding="utf-8")
    assert "http" not in page.lower() and "<script" not in page.lower()
    r = _compare(m, ("staging", a.dsn), ("prod", b.dsn))
    doc = json.loads(r.stdout)
    _validate(doc)
    assert all(d["kind"] == "drift" for d in doc["differences"])
    keys = {d["key"]: d for d in doc["drift"]}
    index = [k for k in keys if "orders_user_idx" in k]
    assert len(index) == 1 and keys[index[0]]["kind"] == "added" and keys[index[0]]["environment"] == "prod"
    assert keys[index[0]]["before"] is None and "user_id" in keys[index[0]]["after"]
    nick = [k for k, d in keys.items() if "nickname" in k or "nickname" in (d["after"] or "")]
    assert nick, f"the added column is listed: {sorted(keys)}"
    for k in index + nick:
        assert k in page, "each drifted object appears in the HTML"
    # one wording everywhere (app/schema_words.py): the JSON message, the HTML and the console
    words = "prod has index public.orders_user_idx; staging lacks it"
    assert words in {d["message"] for d in doc["differences"]} and words in page
    assert words in _compare(m, ("staging", a.dsn), ("prod", b.dsn), fmt=None).stdout


def test_unreachable_environment_does_not_fail_the_others(two: tuple[Database, Database, MigrationDir]) -> None:
    a, b, m = two
    down = Target(f"postgresql://postgres@127.0.0.1:{_free_port()}/nothing", "test")
    comparison = MigrationReporter.compare_environments([
        {"name": "dev", "runner": MigrationRunner(Target(a.dsn, "test"), m.path)},
        ("qa", MigrationRunner(down, m.path)),
        ("prod", MigrationRunner(Target(b.dsn, "test"), m.path)),
    ])
    qa = comparison.environments[1]
    assert not qa.reachable and qa.label == "unreachable" and "127.0.0.1" in (qa.error or "")
    assert [e.reachable for e in comparison.environments] == [True, False, True]
    assert not comparison.differ and comparison.exit_code() == 2
    assert all(row.cells[1] is None and not row.differs for row in comparison.matrix)
    assert [d.kind for d in comparison.differences] == ["unreachable"]

    r = run_cli("compare", "--dsn-list", f"dev={a.dsn},qa={down.dsn},prod={b.dsn}", "--migrations-dir", str(m.path))
    assert r.code == 2 and "INCOMPLETE" in r.stdout and "unreachable" in r.stdout


def test_compare_needs_two_and_named_environments_resolve(migrations: MigrationDir) -> None:
    r = run_cli("compare", "--dsn-list", "only=postgresql://x@127.0.0.1:1/x", "--migrations-dir",
                str(migrations.path))
    assert r.code == 2 and "two environments" in r.stderr
    r = run_cli("compare", "--environments", "nosuch1,nosuch2", "--migrations-dir", str(migrations.path))
    assert r.code == 2 and "nosuch1" in r.stderr and "Traceback" not in r.stderr


def test_saved_environments_by_name(two: tuple[Database, Database, MigrationDir],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, m = two
    tag = uuid.uuid4().hex[:6]
    monkeypatch.setenv("PGPASSWORD", a.server.password or "")  # CI's way; no keyring needed
    for name, db in ((f"dev{tag}", a), (f"prod{tag}", b)):
        params = psycopg.conninfo.conninfo_to_dict(db.dsn)
        r = run_cli("env", "add", name, "--host", params["host"], "--port", str(params["port"]),
                    "--database", params["dbname"], "--user", params["user"], "--migrations-dir", str(m.path))
        assert r.code == 0, r.stderr
    r = run_cli("compare", "--environments", f"dev{tag},prod{tag}", "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [e["name"] for e in doc["environments"]] == [f"dev{tag}", f"prod{tag}"]
    assert len(doc["matrix"]) == 2, "each environment's own migrations folder is used"
    b.execute("CREATE TABLE by_hand (id int)")
    r = run_cli("compare", "--environments", f"dev{tag},prod{tag}")
    assert r.code == 1 and "by_hand" in r.stdout
    r = run_cli("report", "--env", f"prod{tag}", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["environment"] == f"prod{tag}"
