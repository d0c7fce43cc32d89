"""`tidemark report` and MigrationReporter against real servers: JSON schema, HTML safety, PDF, files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.paths import resources_dir
from app.report import MigrationReporter
from tests.conftest import Database, MigrationDir, run_cli

SCRIPT_TITLE = "<script>alert('x')</script> & \"quotes\""


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


@pytest.fixture
def history(database: Database, migrations: MigrationDir) -> tuple[Database, MigrationDir]:
    """Two batches, one rollback, one manual-rollback migration, one pending, a title with <script>."""
    migrations.add("users", f"-- Migration: {SCRIPT_TITLE}\nCREATE TABLE users (id int PRIMARY KEY, email text);\n")
    migrations.add("email_index", "CREATE INDEX users_email_idx ON users (email);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    assert run_cli("rollback", "1", *_args(database, migrations)).code == 0
    migrations.add("backfill", "UPDATE users SET email = lower(email);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    migrations.add("later", "CREATE TABLE later (id int);\n")
    return database, migrations


def _schema(name: str) -> dict:
    return json.loads((resources_dir() / name).read_text(encoding="utf-8"))


def test_json_report_validates_and_tells_the_history(history: tuple[Database, MigrationDir]) -> None:
    db, m = history
    r = run_cli("report", "--json", *_args(db, m))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft202012Validator(_schema("report.schema.json"),
                                    format_checker=jsonschema.FormatChecker()).validate(doc)
    assert doc["schema_version"] == "1"
    assert doc["counts"] == {"applied": 3, "pending": 1, "modified": 0, "missing": 0, "failed": 0, "total": 4}
    assert doc["health"]["status"] == "warning"
    assert [x["migration"] for x in doc["rollbacks"]] == ["20260101000002_email_index.sql"]
    assert "DROP INDEX" in doc["rollbacks"][0]["rollback_sql"].upper()
    assert len(doc["batches"]) == 2 and sum(b["count"] for b in doc["batches"]) == 3
    codes = {w["code"]: w for w in doc["warnings"]}
    assert codes["pending"]["migrations"] == ["20260101000004_later.sql"]
    assert codes["manual_rollback"]["migrations"] == ["20260101000003_backfill.sql"]
    by_name = {x["name"]: x for x in doc["migrations"]}
    assert by_name["20260101000003_backfill.sql"]["rollback_kind"] == "manual"
    assert by_name["20260101000001_users.sql"]["title"] == SCRIPT_TITLE
    assert doc["performance"]["measured"] == 3
    assert db.server.password and db.server.password not in r.stdout


def test_html_report_is_self_contained_and_escapes_everything(history: tuple[Database, MigrationDir]) -> None:
    db, m = history
    reporter = MigrationReporter(MigrationRunner(Target(db.dsn, "test"), m.path), "staging")
    page = reporter.generate_html_report()
    assert "http" not in page.lower(), "no reference to any address, not even an SVG namespace"
    for tag in ("<script", "<link", "<img", "<iframe", "@import", "url(", " src=", "<a "):
        assert tag not in page.lower(), tag
    assert "&lt;script&gt;alert(" in page, "the title shows as text"
    assert page.count("<svg") == 3, "slowest, per batch, over time"
    assert "@media print" in page
    assert "staging" in page and "20260101000003_backfill.sql" in page
    assert re.search(r'class="banner warning"', page)


def test_pdf_report_has_pages(history: tuple[Database, MigrationDir], tmp_path: Path) -> None:
    db, m = history
    out = tmp_path / "report.pdf"
    r = run_cli("report", "--output", out, *_args(db, m))
    assert r.code == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) >= 1
    assert r.stdout.strip().endswith(str(out))


def test_output_format_follows_extension(history: tuple[Database, MigrationDir], tmp_path: Path) -> None:
    db, m = history
    for name, check in (("r.html", lambda t: t.startswith("<!DOCTYPE html>")),
                        ("r.json", lambda t: json.loads(t)["schema_version"] == "1")):
        r = run_cli("report", "--output", tmp_path / name, *_args(db, m))
        assert r.code == 0, r.stderr
        assert check((tmp_path / name).read_text(encoding="utf-8"))
    r = run_cli("report", "--output", tmp_path / "r.txt", *_args(db, m))
    assert r.code == 2 and "r.txt" in r.stderr and ".html, .json or .pdf" in r.stderr
    assert not (tmp_path / "r.txt").exists()
    r = run_cli("report", "--pdf", *_args(db, m))
    assert r.code == 2 and "--output" in r.stderr


def test_unwritable_output_is_a_clear_error_before_any_work(tmp_path: Path, migrations: MigrationDir) -> None:
    # No database at all: the path is checked first, so the error is about the path.
    r = run_cli("report", "--output", tmp_path / "no" / "such" / "r.html", "--dsn",
                "postgresql://nobody@127.0.0.1:1/none", "--migrations-dir", str(migrations.path))
    assert r.code == 2
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("report", "--output", tmp_path, "--html", "--dsn", "postgresql://nobody@127.0.0.1:1/none",
                "--migrations-dir", str(migrations.path))
    assert r.code == 2 and "is a folder" in r.stderr


def test_existing_report_intact_when_rendering_or_writing_fails(
        history: tuple[Database, MigrationDir], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, m = history
    folder = tmp_path / "reports"
    folder.mkdir()
    out = folder / "daily.html"
    out.write_text("yesterday's report", encoding="utf-8")

    def broken(report: object) -> str:
        raise RuntimeError("renderer broke half-way")

    with monkeypatch.context() as mp:
        mp.setattr("app.report.html.render", broken)
        r = run_cli("report", "--output", out, *_args(db, m))
    assert r.code == 70
    assert out.read_text(encoding="utf-8") == "yesterday's report"
    assert [p.name for p in folder.iterdir()] == ["daily.html"]

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as mp:
        mp.setattr("app.report.write.os.fsync", disk_full)
        r = run_cli("report", "--output", out, *_args(db, m))
    assert r.code == 2 and "No space left on device" in r.stderr and str(out) in r.stderr
    assert out.read_text(encoding="utf-8") == "yesterday's report"
    assert [p.name for p in folder.iterdir()] == ["daily.html"], "the temporary file is removed"

    r = run_cli("report", "--output", out, *_args(db, m))
    assert r.code == 0 and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in folder.iterdir()] == ["daily.html"]


def test_console_report_summary_and_verbose(history: tuple[Database, MigrationDir]) -> None:
    db, m = history
    r = run_cli("report", *_args(db, m))
    assert r.code == 0, r.stderr
    assert "HEALTH: WARNING" in r.stdout and "1 pending migration" in r.stdout
    assert "20260101000004_later.sql" in r.stdout
    assert "20260101000002_email_index.sql" in r.stdout, "recent rollback shown"
    short = r.stdout
    r = run_cli("report", "--verbose", *_args(db, m))
    assert r.code == 0
    assert len(r.stdout) > len(short)
    for name in ("20260101000001_users.sql", "20260101000003_backfill.sql"):
        assert name in r.stdout


def test_report_before_first_migrate(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id int);\n")
    r = run_cli("report", "--json", *_args(database, migrations))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, _schema("report.schema.json"))
    assert doc["history_exists"] is False and doc["rollbacks"] == [] and doc["counts"]["pending"] == 1
    assert not database.exists("public._migrations"), "a report never writes"
