"""A large SQL text is shown at once and coloured in slices (app/gui/sql_highlight.py): the lines
on screen first, the rest from a zero-interval timer, ending exactly as the whole-text scan."""

from __future__ import annotations

import pytest

from app.gui import sql_highlight, theme
from app.gui.sql_view import SqlView

WAIT_MS = 20_000

# 20 lines with what only a stateful scan gets right: a dollar body, a nested comment and an
# E'' string over several lines, a multi-word type, a directive. 500 of them: 10,000 lines.
UNIT = """CREATE FUNCTION f{i}() RETURNS int AS $body$
BEGIN
  -- it's a comment in a body; SELECT
  RETURN 1;
END $body$ LANGUAGE plpgsql;
/* outer /* inner
   SELECT */ still outer;
*/ SELECT 1;
SELECT E'first line\\'s
SELECT in the string;
last', 'done';
ALTER TABLE t{i} ADD COLUMN at timestamp
  with time zone;
SELECT $$ it's
$$ AS a, 'x' AS b;
CREATE TABLE u{i} (id bigint PRIMARY KEY, v character varying(3));
INSERT INTO u{i} VALUES (1, 'a;
b');
-- ROLLBACK: DROP FUNCTION f{i}
COMMENT ON TABLE u{i} IS 'x';
"""
LARGE = "".join(UNIT.format(i=i) for i in range(500))
OTHER = "".join(f"-- other text, line {i}\n" for i in range(6000))  # comments only: no keyword colour


def _colours(view: SqlView) -> list[tuple[tuple[int, int, str, int, bool], ...]]:
    """Each line's formats: (start, length, colour, weight, italic)."""
    out = []
    block = view.document().begin()
    while block.isValid():
        out.append(tuple((r.start, r.length, r.format.foreground().color().name(), r.format.fontWeight(),
                          r.format.fontItalic()) for r in block.layout().formats()))
        block = block.next()
    return out


def _whole_scan(qtbot, monkeypatch: pytest.MonkeyPatch, text: str) -> list:
    """How the one-pass path (a scan of the whole text before it is shown) colours `text`."""
    with monkeypatch.context() as m:
        m.setattr(sql_highlight, "CHUNKED_FROM_LINES", 10**9)
        view = SqlView()
        qtbot.addWidget(view)
        view.show_sql(text)
        assert not view.highlighter.slicer.active
        return _colours(view)


def _shown(qtbot, text: str | None = None) -> SqlView:
    view = SqlView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    if text is not None:
        view.show_sql(text)
    return view


def test_large_text_is_coloured_in_slices_like_the_whole_scan(qtbot, monkeypatch) -> None:
    expected = _whole_scan(qtbot, monkeypatch, LARGE)
    view = _shown(qtbot, LARGE)
    slicer = view.highlighter.slicer
    assert slicer.active and not slicer.done, "10,000 lines are left to the timer"
    now = _colours(view)
    first, last = view.visible_lines()
    assert all(now[n] == expected[n] for n in range(first, min(last, len(now)))), "the screenful is coloured"
    assert sum(1 for n, f in enumerate(now) if f == expected[n] and f) < len(now) // 2, "the rest is not yet"
    with qtbot.waitSignal(slicer.finished, timeout=WAIT_MS):
        pass
    assert slicer.done
    assert view.highlighter.scanned
    assert _colours(view) == expected


# SLICE_MS 0: every chunk takes longer than a slice, as on a loaded machine (the screen around line
# 7001 spans two chunks; the first slice used to stop after one of them when the first took 8 ms).
@pytest.mark.parametrize("slice_ms", [sql_highlight.SLICE_MS, 0.0], ids=["usual", "every-chunk-slow"])
def test_the_line_marked_is_coloured_first(qtbot, monkeypatch, slice_ms: float) -> None:
    expected = _whole_scan(qtbot, monkeypatch, LARGE)
    monkeypatch.setattr(sql_highlight, "SLICE_MS", slice_ms)
    view = _shown(qtbot)
    view.show_sql(LARGE, mark_line=7001)
    first, last = view.visible_lines()
    assert first <= 7000 <= last
    now = _colours(view)
    assert all(now[n] == expected[n] for n in range(first, last)), "the screen around the error's line"
    qtbot.waitUntil(lambda: view.highlighter.slicer.done, timeout=WAIT_MS)
    assert _colours(view) == expected


@pytest.mark.parametrize("second", [OTHER, "SELECT 1;\n"], ids=["large", "small"])
def test_a_new_text_cancels_the_slices_of_the_old(qtbot, monkeypatch, second: str) -> None:
    expected = _whole_scan(qtbot, monkeypatch, second)
    view = _shown(qtbot, LARGE)
    assert not view.highlighter.slicer.done
    view.show_sql(second)
    qtbot.waitUntil(lambda: view.highlighter.slicer.done, timeout=WAIT_MS)
    # A few more turns of the event loop: a slice of the old text left over would colour now.
    for _ in range(5):
        qtbot.wait(0)
    assert _colours(view) == expected


def test_restyle_while_slicing_ends_in_the_new_theme_everywhere(qtbot, monkeypatch) -> None:
    before = theme.current()
    view = _shown(qtbot, LARGE)
    assert not view.highlighter.slicer.done
    try:
        theme._current = theme.DARK if before is theme.LIGHT else theme.LIGHT
        expected = _whole_scan(qtbot, monkeypatch, LARGE)
        view.highlighter.restyle()
        qtbot.waitUntil(lambda: view.highlighter.slicer.done, timeout=WAIT_MS)
        assert _colours(view) == expected
        assert before.sql_keyword.lower() not in {c for line in expected for (_s, _n, c, _w, _i) in line}
    finally:
        theme._current = before


def test_large_refused_text_falls_back_line_by_line_in_order(qtbot, monkeypatch) -> None:
    text = LARGE + "/* never closed\nSELECT 1;\n" + "SELECT 2;\n" * 300
    expected = _whole_scan(qtbot, monkeypatch, text)
    view = _shown(qtbot, text)
    slicer = view.highlighter.slicer
    assert slicer.active and not slicer.done
    qtbot.waitUntil(lambda: slicer.done, timeout=WAIT_MS)
    assert slicer.sequential, "the split of the whole text (in a slice) found it refused"
    assert not view.highlighter.scanned
    assert _colours(view) == expected


def test_chunks_scanned_alone_give_the_whole_scans_spans() -> None:
    from app.gui.sql_tokens import spans_by_line

    body = "".join(f"  x := x + {i}; -- it's line {i}\n" for i in range(400))  # one statement, 400 lines
    text = f"CREATE FUNCTION g() RETURNS int AS $fn$\nBEGIN\n{body}END $fn$ LANGUAGE plpgsql;\n" + LARGE
    starts = sql_highlight.line_starts(text)
    whole = spans_by_line(text)
    assert whole is not None
    bounds = sql_highlight.chunk_bounds(text, starts)
    assert bounds is not None and bounds[0] == (0, 403), "no cut inside the function's body"
    assert sql_highlight.head_chunk(text, starts) == 403, "the head found from a prefix: the same cut"
    assert sql_highlight.head_chunk(text[:starts[350]] + "'", starts[:351]) == 0, "inside the body: none"
    assert sql_highlight.head_chunk(LARGE, sql_highlight.line_starts(LARGE)) == 100
    for a, b in bounds:
        end = starts[b] if b < len(starts) else len(text)
        alone = spans_by_line(text[starts[a]:end])
        assert alone is not None and alone[:b - a] == whole[a:b], (a, b)
