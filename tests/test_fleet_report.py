"""`tidemark report --group G`: one file, the matrix of migrations x targets, failures first; on real servers."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema

from app.core import environments as envs
from app.paths import resources_dir
from tests.conftest import Database, MigrationDir, run_cli
from tests.test_fleet import _two_files, tenants  # noqa: F401  (fixtures)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fleet(tenants: dict[str, Database], migrations: MigrationDir) -> None:  # noqa: F811
    """t1 clean, t2 with a failed migration (b's table was already there), t3 pending, t0 unreachable."""
    _two_files(migrations)
    assert run_cli("migrate", "--env", "t1").code == 0
    tenants["t2"].execute("CREATE TABLE b (id int)")
    assert run_cli("migrate", "--env", "t2").code == 1
    envs.save_environment(envs.Profile("t0", dsn=f"postgresql://nobody@127.0.0.1:{_free_port()}/gone",
                                       migrations_dir=str(migrations.path), groups=("tenants",)))


def test_fleet_report_json_ranks_failures_first_and_follows_the_schema(
        tenants: dict[str, Database], migrations: MigrationDir, tmp_path: Path) -> None:  # noqa: F811
    _fleet(tenants, migrations)
    out = tmp_path / "fleet.json"
    r = run_cli("report", "--group", "tenants", "--output", str(out))
    assert r.code == 2, r.stderr  # one target could not be read; the others are in the file
    assert "fleet tenants: 2 need attention, 1 pending, 1 clean" in r.stderr
    doc = json.loads(out.read_text())
    schema = json.loads((resources_dir() / "compare.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    assert [(e["name"], e["rank"]) for e in doc["environments"]] == [
        ("t0", "attention"), ("t2", "attention"), ("t3", "pending"), ("t1", "clean")]
    assert doc["fleet"] == {"name": "tenants", "counts": {"attention": 2, "pending": 1, "clean": 1}}
    t0, t2 = doc["environments"][0], doc["environments"][1]
    assert not t0["reachable"] and t0["status"] == "unreachable" and "cannot" in t0["reasons"][0]
    assert t2["counts"]["failed"] == 1 and any("20260101000002_b.sql" in x for x in t2["reasons"])
    b = next(row for row in doc["matrix"] if row["name"] == "20260101000002_b.sql")
    assert b["cells"]["t1"]["state"] == "applied" and b["cells"]["t2"]["state"] == "failed"
    assert b["cells"]["t3"]["state"] == "pending" and b["cells"]["t0"] is None
    assert list(b["cells"]) == ["t0", "t2", "t3", "t1"], "the matrix's columns in the same order"


def test_fleet_report_html_and_console_show_the_matrix_failures_first(
        tenants: dict[str, Database], migrations: MigrationDir, tmp_path: Path) -> None:  # noqa: F811
    _fleet(tenants, migrations)
    out = tmp_path / "fleet.html"
    assert run_cli("report", "--group", "tenants", "--html", "--output", str(out)).code == 2
    page = out.read_text()
    assert "<h1>Fleet report: tenants</h1>" in page
    targets = page[page.index('<table class="targets">'):page.index("</table>", page.index('<table class="targets">'))]
    assert [targets.index(f">{n}<") for n in ("t0", "t2", "t3", "t1")] == sorted(
        targets.index(f">{n}<") for n in ("t0", "t2", "t3", "t1")), "failures, then pending, then clean"
    assert 'class="rank-attention">attention' in targets and "20260101000002_b.sql" in page
    matrix = page[page.index('<table class="matrix">'):]
    assert matrix.index("<th>t0</th>") < matrix.index("<th>t2</th>") < matrix.index("<th>t3</th>") \
        < matrix.index("<th>t1</th>")
    assert 's-failed' in matrix and 's-none">not read' in matrix
    r = run_cli("report", "--group", "tenants")
    assert r.code == 2
    assert "fleet tenants: 2 need attention, 1 pending, 1 clean (of 4)" in r.stdout
    lines = [ln.split() for ln in r.stdout.splitlines()[1:5]]
    assert [(w[0], w[1]) for w in lines] == [("attention", "t0"), ("attention", "t2"), ("pending", "t3"),
                                             ("clean", "t1")]
