"""The parser front end: fast outline checks and trusted parse trees equal pglast's checked ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pglast import ast, parse_sql

from app.core.directives import forward_sql
from app.core.errors import MigrationFileError
from app.core.files import discover
from app.core.guards import check
from app.core.prepared import prepare
from app.core.sql import outline_file, parse_file, parse_files

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


def test_boolean_literals_are_bools() -> None:
    """The one value pglast's parser hands over unconverted (A_Const's Boolean gets a C int)."""
    (st,) = parse_file("SELECT true, false", Path("x.sql"))
    values = [t.val.val.boolval for t in st.node.targetList]
    assert values == [True, False] and all(type(v) is bool for v in values)


def test_several_files_parse_as_one_by_one() -> None:
    texts = [(p.read_text(encoding="utf-8-sig"), p) for p in CORPUS[:12]]
    together = parse_files([(forward_sql(t), p) for t, p in texts])
    alone = [parse_file(forward_sql(t), p) for t, p in texts]
    assert [[(s.text, s.line, s.node) for s in f] for f in together] == \
        [[(s.text, s.line, s.node) for s in f] for f in alone]
    with pytest.raises(MigrationFileError) as caught:
        parse_files([("SELECT 1;", Path("a.sql")), ("SELEC 1;", Path("b.sql"))])
    assert caught.value.problems[0].path == Path("b.sql")
    with pytest.raises(ValueError, match="Bad value"):
        ast.RangeVar(relname=42)  # checks are back after a failed parse too


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
