"""SQL highlighting from PostgreSQL's scanner: dollar quotes, nested comments, E'' strings and
multi-word types are coloured right; the regex list takes over only where the scanner refuses."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.gui import theme
from app.gui.sql_view import SqlView


def _colour(view: SqlView, line: int, word: str, nth: int = 0) -> str:
    """The foreground colour of the nth `word` on a 0-based line ("" when the word is not coloured)."""
    block = view.document().findBlockByNumber(line)
    text = block.text()
    at = -1
    for _ in range(nth + 1):
        at = text.index(word, at + 1)
    for r in block.layout().formats():
        if r.start <= at < r.start + r.length:
            return r.format.foreground().color().name()
    return ""


def _role(name: str) -> str:
    return QColor(getattr(theme.current(), name)).name()


SQL = """CREATE FUNCTION f() RETURNS int AS $body$
BEGIN
  RETURN 1; -- it's a comment in a body
END $body$ LANGUAGE plpgsql;
SELECT $$ it's $$ AS a, 'x' AS b;
/* outer /* inner */ SELECT */ SELECT 1;
SELECT E'it\\'s', 'done';
ALTER TABLE t ADD COLUMN at timestamp with time zone, ADD COLUMN d double precision, ADD COLUMN v character varying(3);
-- ROLLBACK: DROP FUNCTION f
"""


def test_scanner_colours_what_a_regex_gets_wrong(qtbot) -> None:
    view = SqlView()
    qtbot.addWidget(view)
    view.show_sql(SQL)
    assert view.highlighter.scanned
    assert _colour(view, 0, "$body$") == _role("sql_dollar")
    assert _colour(view, 2, "RETURN") == _role("sql_keyword"), "a dollar body is SQL, scanned again"
    assert _colour(view, 2, "it's") == _role("sql_comment")
    assert _colour(view, 3, "LANGUAGE") == _role("sql_keyword"), "the quote in the body's comment ends nothing"
    assert _colour(view, 4, "AS", 1) == _role("sql_keyword"), "a quote inside $$ … $$ opens no string"
    assert _colour(view, 4, "'x'") == _role("sql_string")
    assert _colour(view, 5, "SELECT", 0) == _role("sql_comment"), "nested comment: still inside the outer one"
    assert _colour(view, 5, "SELECT", 1) == _role("sql_keyword")
    assert _colour(view, 6, "done") == _role("sql_string"), "E'it\\'s' ends after the escaped quote"
    assert _colour(view, 7, "with") == _role("sql_type"), "timestamp with time zone is one type"
    assert _colour(view, 7, "zone") == _role("sql_type")
    assert _colour(view, 7, "precision") == _role("sql_type")
    assert _colour(view, 7, "varying") == _role("sql_type")
    assert _colour(view, 7, "3") == _role("sql_number")
    assert _colour(view, 8, "ROLLBACK") == _role("sql_directive")


def test_incomplete_input_falls_back_line_by_line(qtbot) -> None:
    view = SqlView()
    qtbot.addWidget(view)
    view.show_sql("CREATE TABLE t (id int);\n/* never closed\nSELECT 1;\n")
    assert not view.highlighter.scanned, "the scanner refuses an unterminated comment"
    assert _colour(view, 0, "CREATE") == _role("sql_keyword"), "a line the scanner takes alone is scanned"
    assert _colour(view, 1, "never") == _role("sql_comment")
    assert _colour(view, 2, "SELECT") == _role("sql_comment"), "the regex fallback carries the open comment"


def test_theme_switch_recolours_scanned_text(qtbot) -> None:
    view = SqlView()
    qtbot.addWidget(view)
    view.show_sql("SELECT 1;")
    before = theme.current()
    try:
        theme._current = theme.DARK if before is theme.LIGHT else theme.LIGHT
        view.highlighter.restyle()
        assert _colour(view, 0, "SELECT") == _role("sql_keyword") != QColor(before.sql_keyword).name()
    finally:
        theme._current = before
