"""Control characters and bidi overrides from files and servers never reach a reader raw.

A terminal would act on `\\x1b[2J` (clear the screen) or `\\x1b[1A\\x1b[2K` (erase the line
just printed) in a dry run; U+202E makes `DROP` read backwards in the HTML report.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app.core.text import json_safe, visible
from tests.conftest import Database, MigrationDir, run_cli

ESC_CLEAR = "\x1b[2J"
CSI_C1 = "\x9b1A"  # the one-byte CSI: "cursor up" on a terminal that takes C1 controls
RLO = "\u202e"
RAW = ("\x1b", "\x9b", "\u202e", "\u2066", "\x07", "\r", "\x7f")


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


def _no_raw(text: str) -> None:
    assert not [c for c in RAW if c in text], repr(text)


def test_visible_keeps_layout_and_shows_the_rest() -> None:
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible(f"x{ESC_CLEAR}\r\x7f{CSI_C1}{RLO}\u2069\x00") == "x\\x1b[2J\\x0d\\x7f\\x9b1A\\u202e\\u2069\\x00"
    doc = json_safe(json.dumps({"t": f"{CSI_C1}{RLO}\x7f"}, ensure_ascii=False))
    _no_raw(doc)
    assert json.loads(doc) == {"t": f"{CSI_C1}{RLO}\x7f"}  # the same value, escaped


def test_dry_run_shows_header_and_sql_escapes_visibly(database: Database, migrations: MigrationDir) -> None:
    migrations.add("evil", f"-- Migration: looks fine{ESC_CLEAR}\n"
                           f"-- Description: {RLO}gnp.olleh\u2066x\u2069\n"
                           f"CREATE TABLE t (id int); COMMENT ON TABLE t IS '{CSI_C1}\x1b[2K all good';\n"
                           f"-- ROLLBACK: DROP TABLE t; -- \x07\n")
    for command in (["dry-run", "--verbose"], ["status", "--verbose"], ["lint"], ["dry-run", "--json"]):
        r = run_cli(*command, *_args(database, migrations))
        assert r.code in (0, 1), (command, r.stderr)
        _no_raw(r.stdout)
        _no_raw(r.stderr)
    r = run_cli("dry-run", *_args(database, migrations), "--verbose")
    assert r.code == 0, r.stderr
    assert "\\x1b[2J" in r.stdout or "\\x1b[2K" in r.stdout, r.stdout


def test_server_error_and_notice_messages_are_escaped(database: Database, migrations: MigrationDir) -> None:
    migrations.add("notice", "DO $$ BEGIN RAISE NOTICE 'n%', chr(27) || '[2J'; END $$;")
    migrations.add("boom", "DO $$ BEGIN RAISE EXCEPTION 'bad%', chr(27) || '[1A' || chr(155) || chr(8238); END $$;")
    r = run_cli("migrate", *_args(database, migrations), "--verbose")
    assert r.code == 1, r.stderr
    _no_raw(r.stdout)
    _no_raw(r.stderr)
    assert "bad\\x1b[1A\\x9b\\u202e" in r.stderr


def test_json_output_escapes_c1_and_bidi(database: Database, migrations: MigrationDir) -> None:
    migrations.add("json", f"-- Migration: t{CSI_C1}{RLO}\nCREATE TABLE t (id int);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    for command in (["status", "--json"], ["report", "--json"]):
        r = run_cli(*command, *_args(database, migrations))
        assert r.code == 0, r.stderr
        _no_raw(r.stdout)
        assert f"t{CSI_C1}{RLO}" in json.dumps(json.loads(r.stdout), ensure_ascii=False)  # same values


def test_html_report_neutralises_bidi_overrides(database: Database, migrations: MigrationDir) -> None:
    migrations.add("html", f"-- Migration: safe {RLO}PORD\u2067x\u2069 {ESC_CLEAR}\nCREATE TABLE t (id int);")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    r = run_cli("report", "--html", *_args(database, migrations))
    assert r.code == 0, r.stderr
    _no_raw(r.stdout)
    assert "safe \\u202ePORD\\u2067x\\u2069 \\x1b[2J" in r.stdout
    r = run_cli("report", *_args(database, migrations), "--verbose")
    assert r.code == 0, r.stderr
    _no_raw(r.stdout)


def test_pdf_report_shows_control_characters(database: Database, migrations: MigrationDir, tmp_path) -> None:
    """Latin-1 holds C0 and C1 controls: the PDF would carry them raw into a viewer or a copy-paste."""
    migrations.add("ok", "CREATE TABLE t (id int);")
    migrations.add("boom", "DO $$ BEGIN RAISE EXCEPTION 'bad%', chr(27) || '[1A' || chr(155) || 'x'; END $$;")
    assert run_cli("migrate", *_args(database, migrations)).code == 1
    out = tmp_path / "r.pdf"
    r = run_cli("report", "--pdf", "-o", str(out), *_args(database, migrations))
    assert r.code == 0, r.stderr
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    # The text as a viewer or a copy-paste gets it (a Unicode font writes glyph numbers, not characters).
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "\x1b" not in text and "\x9b" not in text
    assert "bad\\x1b[1A\\x9bx" in text, text  # the escape written out
