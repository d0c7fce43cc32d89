"""The HTML report's inline SVG charts: with 60 long names no two texts overlap and every text lies inside
the viewBox (boxes from the layout's own width estimate); long names are elided with the full one in
<title>; times read as 20.0 s, not 20001 ms."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from app.report import charts

LONG = [(f"2026010100{i:04d}_backfill_the_customer_billing_addresses_for_tenant_{i:02d}_and_reindex.sql",
         float(20001 if i == 7 else 150 + 37 * i)) for i in range(60)]
CJK = [(f"2026010100{i:04d}_顧客の請求先住所を移行する_{i:02d}.sql", 1000.0 + i) for i in range(60)]


def _boxes(svg: str) -> tuple[tuple[float, float], list[tuple[float, float, float, float, str, str]]]:
    """(viewBox size, [(x0, y0, x1, y1, text, title)]) of every <text> in the chart."""
    root = ET.fromstring(svg)
    _, _, vw, vh = (float(v) for v in root.get("viewBox", "").split())
    size = float(root.get("font-size", "12"))
    out = []
    for t in root.iter("{http://www.w3.org/2000/svg}text") if root.tag.startswith("{") else root.iter("text"):
        text = t.text or ""
        title = next((c.text or "" for c in t if c.tag.endswith("title")), "")
        w = charts.text_width(text, size)
        x, y = float(t.get("x", "0")), float(t.get("y", "0"))
        x0 = {"end": x - w, "middle": x - w / 2}.get(t.get("text-anchor", ""), x)
        out.append((x0, y - size * 0.8, x0 + w, y + size * 0.25, text, title))
    return (vw, vh), out


def _assert_laid_out(svg: str) -> list[tuple[float, float, float, float, str, str]]:
    (vw, vh), boxes = _boxes(svg)
    for x0, y0, x1, y1, text, _ in boxes:
        assert x0 >= 0 and x1 <= vw and y0 >= 0 and y1 <= vh, (text, x0, y0, x1, y1, vw, vh)
    for a, b in itertools.combinations(boxes, 2):
        apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        assert apart, (a, b)
    return boxes


@pytest.mark.parametrize("items", [LONG, CJK], ids=["latin", "cjk"])
def test_slowest_bars_elide_long_names_inside_the_chart(items) -> None:
    boxes = _assert_laid_out(charts.horizontal_bars(sorted(items, key=lambda b: -b[1])[:15], title="Slowest"))
    names = [b for b in boxes if b[5]]
    assert names and all(b[4].endswith("…") and b[5].startswith(b[4][:-1]) for b in names)  # full name in <title>


@pytest.mark.parametrize("width", [560, 320])
@pytest.mark.parametrize("items", [LONG, CJK], ids=["latin", "cjk"])
def test_columns_keep_first_and_last_labels_apart_and_inside(items, width: int) -> None:
    boxes = _assert_laid_out(charts.columns(items, title="Time per batch", width=width))
    texts = [b[4] for b in boxes]
    assert "20.0 s" in texts or items is CJK  # the scale in seconds, not 20001 ms
    assert not any(t.endswith(" ms") and float(t.split()[0]) >= 1000 for t in texts)


def test_a_long_scale_value_is_not_clipped_on_the_left() -> None:
    _assert_laid_out(charts.columns([("a", 3_600_000.0 * 30), ("b", 1.0)], title="Time per batch"))
    _assert_laid_out(charts.columns([("2026-W01", 123456.0)], title="Migrations applied", unit="count"))


def test_times_read_in_readable_units() -> None:
    assert charts._ms(20001) == "20.0 s"
    assert charts._ms(850) == "850 ms"
    assert charts._ms(125_000) == "2.1 min"
