"""The PDF report prints every character: migration titles (the `-- Migration:` header; file names
are ASCII by the naming convention) in Cyrillic, Greek, accented Latin and CJK read back as text
(`pdftotext`), with the font subset embedded."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.report import pdf_fonts
from tests.conftest import Database, MigrationDir, run_cli

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")

SCRIPTS = {
    "cyrillic": "Создать таблицу пользователей",
    "greek": "Πίνακας χρηστών",
    "latin": "Café crème, Ångström, żółw",
}
CJK = "创建用户表"


def _report(database: Database, migrations: MigrationDir, tmp_path: Path, titles: list[str]) -> str:
    for n, title in enumerate(titles):
        migrations.add(f"m{n}", f"-- Migration: {title}\nCREATE TABLE t{n} (note text DEFAULT '{title}');\n")
    args = ["--dsn", database.dsn, "--migrations-dir", str(migrations.path)]
    assert run_cli("migrate", *args).code == 0
    migrations.add("pending", "-- Migration: ждёт очереди\nSELECT 1;\n")
    out = tmp_path / "report.pdf"
    r = run_cli("report", "--output", out, *args)
    assert r.code == 0, r.stderr
    data = out.read_bytes()
    assert b"/FontFile2" in data, "a TrueType font is embedded"
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+", data), "as a subset (a six-letter tag before its name)"
    return subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_pdf_names_in_cyrillic_greek_and_accented_latin_read_back(database: Database, migrations: MigrationDir,
                                                                   tmp_path: Path) -> None:
    if pdf_fonts.noto_sans() is None:
        pytest.fail("fontpkg-noto-sans is a dependency (pyproject.toml): install the project")
    text = _report(database, migrations, tmp_path, list(SCRIPTS.values()))
    for script, title in SCRIPTS.items():
        assert title in text, f"{script}: {title!r} not read back"
    assert "ждёт очереди" in text
    assert "?" not in text, "no character replaced by ?"
    assert "4 migrations: 3 applied, 1 pending" in text and "- 1 batch, 0 rollbacks" in text


@pytest.mark.skipif(pdf_fonts.cjk_font() is None,
                    reason="no CJK font installed (Debian: fonts-wqy-microhei or fonts-noto-cjk); Noto Sans has no CJK")
def test_pdf_cjk_name_reads_back_through_the_fallback_font(database: Database, migrations: MigrationDir,
                                                           tmp_path: Path) -> None:
    text = _report(database, migrations, tmp_path, [CJK, SCRIPTS["greek"]])
    assert CJK in text and SCRIPTS["greek"] in text
