"""`tidemark report --drift`: the report's drift section (HTML, JSON, console, PDF) on a real server,
for a target changed by hand (a dropped index, an added column, a replaced function body) and an
untouched one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from app.core.connect import Target
from app.core.runner import MigrationRunner
from app.paths import resources_dir
from app.report import MigrationReporter
from tests.conftest import Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["report", "--dsn", db.dsn, "--migrations-dir", str(m.path), "--drift"]


def _migrated(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n")
    migrations.add("email_index", "CREATE INDEX users_email_idx ON users (email);\n")
    migrations.add("greet", "CREATE FUNCTION greet(who text) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || who $$;\n")
    r = run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 0, r.stdout + r.stderr


def _valid(doc: dict) -> None:
    schema = json.loads((resources_dir() / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def test_an_untouched_target_agrees_with_its_files(database: Database, migrations: MigrationDir,
                                                   tmp_path: Path) -> None:
    _migrated(database, migrations)
    r = run_cli(*_args(database, migrations), "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)  # the check's steps went to stderr: stdout is one document
    _valid(doc)
    d = doc["drift"]
    assert d["ok"] is True and d["differences"] == [] and d["replayed"] == 3 and d["objects"] > 3
    assert d["verdict"].startswith("the database agrees with its files (3 applied migrations replayed")
    assert "throwaway" in r.stderr
    out = tmp_path / "r.html"
    r = run_cli(*_args(database, migrations), "--output", str(out))
    assert r.code == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert "Drift against the files" in page and "agrees with its files" in page
    # without --drift the report does not check, and says nothing about drift
    r = run_cli("report", "--dsn", database.dsn, "--migrations-dir", str(migrations.path), "--json")
    assert json.loads(r.stdout)["drift"] is None
    r = run_cli("report", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert "Drift" not in r.stdout and "agrees" not in r.stdout


def test_hand_changes_are_listed_in_every_format(database: Database, migrations: MigrationDir,
                                                  tmp_path: Path) -> None:
    _migrated(database, migrations)
    database.execute("DROP INDEX users_email_idx;"
                     "ALTER TABLE users ADD COLUMN nickname text;"
                     "CREATE OR REPLACE FUNCTION greet(who text) RETURNS text LANGUAGE sql "
                     "AS $$ SELECT 'hello ' || who $$;")
    before = database.query("SELECT name, checksum FROM public._migrations ORDER BY name")
    words = {"index public.users_email_idx": "the database lacks index public.users_email_idx; the files create it",
             "column public.users.nickname": "the database has column public.users.nickname; "
                                             "the files do not create it",
             "function public.greet(text)": "the database and the files define function public.greet(text) "
                                            "differently"}
    r = run_cli(*_args(database, migrations), "--json")
    assert r.code == 0, r.stderr  # a report is a document: drift is in it, not in the exit code
    doc = json.loads(r.stdout)
    _valid(doc)
    d = doc["drift"]
    assert d["ok"] is False and "agrees" not in d["verdict"]
    assert d["verdict"] == "the database: 3 objects differ from what its files produce"
    found = {x["key"]: x for x in d["differences"]}
    assert {k: x["words"] for k, x in found.items()} == words
    assert found["index public.users_email_idx"]["target"] is None
    assert found["column public.users.nickname"]["files"] is None
    assert "'hi '" in found["function public.greet(text)"]["files"]
    assert "'hello '" in found["function public.greet(text)"]["target"]

    # --ignore leaves them out
    r = run_cli(*_args(database, migrations), "--json", "--ignore", "public.users", "--ignore", "public.greet",
                "--ignore", "public.users_*")
    assert json.loads(r.stdout)["drift"]["ok"] is True

    # one more check, rendered in the other formats (each check starts a throwaway server)
    reporter = MigrationReporter(MigrationRunner(Target(database.dsn, "test"), migrations.path), "production")
    report = reporter.generate_report(drift=True)
    page = reporter.generate_html_report(report)
    assert "agrees with its files" not in page
    for key in words:
        assert key in page
    assert "production and the files define function public.greet(text) differently" in page
    assert "hello" in page and "hi " in page  # both definitions
    text = reporter.generate_console_report(report, verbose=True)
    assert all(w.replace("the database", "production") in text for w in words.values())
    assert "files:  CREATE INDEX users_email_idx ON public.users USING btree (email)" in text
    assert database.query("SELECT name, checksum FROM public._migrations ORDER BY name") == before

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text cannot be read back")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(reporter.generate_pdf_report(report))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "Drift against the files" in flat and "3 objects differ" in flat and "users_email_idx" in flat


def test_drift_options_are_checked(database: Database, migrations: MigrationDir) -> None:
    r = run_cli("report", "--dsn", database.dsn, "--migrations-dir", str(migrations.path), "--ignore", "x")
    assert r.code == 2 and "add --drift" in r.stderr
