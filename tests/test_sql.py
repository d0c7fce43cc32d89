"""The parser front end: fast outline checks and trusted parse trees equal pglast's checked ones."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pglast import ast, parse_sql

from app.core.apply import check, prepare
from app.core.errors import MigrationFileError
from app.core.files import discover, forward_sql
from app.core.sql import outline_file, parse_file

SETS = Path(__file__).parent / "realworld"
CORPUS = sorted(SETS.rglob("*.sql"))


def test_corpus_is_there() -> None:
    assert len(CORPUS) > 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_trusted_parse_trees_equal_checked_ones(path: Path) -> None:
    text = forward_sql(path.read_text(encoding="utf-8-sig"))
    ours = [st.node for st in parse_file(text, path)]
    theirs = [raw.stmt for raw in parse_sql(text)]
    assert ours == theirs
    assert [repr(a) for a in ours] == [repr(b) for b in theirs]
    assert [a() for a in ours] == [b() for b in theirs]  # every attribute, as plain data


def test_nodes_made_by_hand_are_still_checked() -> None:
    with pytest.raises(ValueError, match="Bad value"):
        ast.RangeVar(relname=42)
    parse_file("SELECT 1", Path("x.sql"))  # trusting switches on and off around the parser only
    with pytest.raises(ValueError, match="Bad value"):
        ast.RangeVar(relname=42)


def test_other_threads_keep_checking_while_one_parses() -> None:
    text = "CREATE TABLE t (id int PRIMARY KEY, name text);\n" * 200
    stop = threading.Event()
    errors: list[str] = []

    def build_by_hand() -> None:
        while not stop.is_set():
            try:
                ast.RangeVar(relname=42)
                errors.append("a bad value was accepted")
            except ValueError:
                pass

    t = threading.Thread(target=build_by_hand)
    t.start()
    try:
        for _ in range(20):
            parse_file(text, Path("x.sql"))
    finally:
        stop.set()
        t.join()
    assert errors == []


def test_outline_positions_are_characters_not_bytes() -> None:
    text = "-- ü é ß\nCREATE TABLE \"tä\" (id int);\nBEGIN;\n"
    outlines = outline_file(text, Path("x.sql"))
    assert [o.kind for o in outlines] == ["CreateStmt", "TransactionStmt"]
    assert outlines[1].line(text) == 3 and outlines[1].first_line(text) == "BEGIN"


@pytest.mark.parametrize("sql_text, line, message", [
    ("CREATE TABLE a (id int);\nSELEC 1;\n", 2, "syntax error"),
    ("CREATE TABLE a (id int);\nCOMMIT;\n", 2, "transaction control inside a migration: COMMIT"),
    ("-- é\nCOPY a FROM STDIN;\n", 2, "COPY ... FROM STDIN"),
    ("-- only a comment\n", None, "holds no SQL statement"),
    ("BEGIN;\nCOMMIT;\n", None, "holds no SQL statement"),
])
def test_check_refuses_what_prepare_refuses(tmp_path: Path, sql_text: str, line: int | None, message: str) -> None:
    (tmp_path / "20260101000001_x.sql").write_text(sql_text, encoding="utf-8")
    (f,) = discover(tmp_path)
    for step in (check, prepare):
        with pytest.raises(MigrationFileError) as caught:
            step(f)
        (problem,) = caught.value.problems
        assert problem.line == line and message in problem.reason


def test_check_and_prepare_agree_on_the_corpus() -> None:
    for folder in sorted({p.parent for p in CORPUS}):
        for f in discover(folder):
            checked = check(f)
            p = prepare(checked)
            assert p.wrapper_removed is checked.wrapped
            assert len(p.statements) == len(outline_file(forward_sql(f.text), f.path)) - (2 if p.wrapper_removed else 0)
