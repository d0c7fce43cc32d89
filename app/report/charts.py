"""Charts as inline SVG text: no script, no font file, no external reference.

Every label goes through `html.escape`, so a migration named `<script>` stays text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

_BAR = "#2f6f9f"
_AXIS = "#8a97a6"
_TEXT = "#1d2733"


def _ms(value: float) -> str:
    from app.report.html import duration  # one wording of a duration for the whole report

    return duration(value) or "0 ms"


def text_width(text: str, size: float) -> float:
    """A generous estimate of the width of text at a font size in px: the SVG carries no font, so every
    margin is reserved from this (wide East Asian characters count a full em, capitals and digits 0.7)."""
    import unicodedata

    total = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1.0
        elif ch.isupper() or ch.isdigit() or ch in "mwMW@%…":
            total += 0.72
        elif ch in "il.,:;|!' ":
            total += 0.34
        else:
            total += 0.6
    return total * size


def fit(text: str, width: float, size: float) -> str:
    """text, or as much of it as fits width px with an ellipsis."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…" if text else ""


def empty(message: str, width: int = 560) -> str:
    """A small box saying there is nothing to draw."""
    return (f'<svg role="img" width="{width}" height="40" '
            f'viewBox="0 0 {width} 40"><text x="8" y="24" fill="{_AXIS}" font-size="12">{escape(message)}</text>'
            "</svg>")


def horizontal_bars(items: Sequence[tuple[str, float]], *, title: str, width: int = 560) -> str:
    """One bar per item, longest first as given; labels on the left (elided to at most 45% of the width,
    the full name in their <title>), values right of their bar; margins from the texts' widths."""
    if not items:
        return empty("no timed migrations yet", width)
    size, row_h = 11, 18
    label_w = min(max(text_width(label, size) for label, _ in items) + 12, width * 0.45)
    value_w = max(text_width(_ms(v), size) for _, v in items) + 10
    plot_w = width - label_w - value_w
    top = max(v for _, v in items) or 1
    height = row_h * len(items) + 8
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-size="{size}" fill="{_TEXT}">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = max(1.0, plot_w * value / top)
        parts.append(f'<text x="{label_w - 6:.1f}" y="{y + 12}" text-anchor="end">'
                     f"{escape(fit(label, label_w - 10, size))}<title>{escape(label)}</title></text>")
        parts.append(f'<rect x="{label_w:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="{_BAR}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{escape(_ms(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(items: Sequence[tuple[str, float]], *, title: str, unit: str = "ms", width: int = 560,
            height: int = 160) -> str:
    """Vertical bars in order (batches over time, migrations per day), with first/last labels."""
    if not items:
        return empty("nothing applied yet", width)
    fmt = _ms if unit == "ms" else (lambda v: f"{v:g}")
    size = 10
    top = max(v for _, v in items) or 1
    left, bottom, top_pad = text_width(fmt(top), size) + 10, 22, 10  # the scale's widest text fits
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    step = plot_w / len(items)
    bar_w = min(36.0, max(1.0, step * 0.8))  # one batch should not fill the whole chart
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-size="{size}" fill="{_TEXT}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{left:.1f}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" '
             f'stroke="{_AXIS}"/>',
             f'<text x="{left - 4:.1f}" y="{top_pad + 8}" text-anchor="end">{escape(fmt(top))}</text>',
             f'<text x="{left - 4:.1f}" y="{top_pad + plot_h}" text-anchor="end">0</text>']
    for i, (label, value) in enumerate(items):
        h = plot_h * value / top
        x = left + i * step + (step - bar_w) / 2
        parts.append(f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="{_BAR}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
    # first and last labels, each in half the plot at most: they never meet; every bar names itself in <title>
    first, last = items[0][0], items[-1][0]
    room = plot_w if len(items) == 1 else plot_w / 2 - 8
    parts.append(f'<text x="{left:.1f}" y="{height - 6}">{escape(fit(first, room, size))}<title>{escape(first)}'
                 "</title></text>")
    if len(items) > 1:
        parts.append(f'<text x="{width - 8}" y="{height - 6}" text-anchor="end">{escape(fit(last, room, size))}'
                     f"<title>{escape(last)}</title></text>")
    parts.append("</svg>")
    return "".join(parts)


def bucket_days(days: Sequence[tuple[date, int]], max_columns: int = 60) -> list[tuple[str, float]]:
    """Per-day counts, merged into weeks or months when there are too many days to draw."""
    if len(days) <= max_columns:
        return [(d.isoformat(), n) for d, n in days]
    merged: dict[str, int] = {}
    span = (days[-1][0] - days[0][0]).days
    for d, n in days:
        if span <= max_columns * 7:
            y, w, _ = d.isocalendar()
            key = f"{y}-W{w:02d}"
        else:
            key = f"{d.year}-{d.month:02d}"
        merged[key] = merged.get(key, 0) + n
    return list(merged.items())
