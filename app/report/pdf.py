"""The report as a PDF, drawn with fpdf2 (pure Python: no browser, no Qt).

fpdf2 is imported here only, when a PDF is asked for, so `tidemark --help` stays light.
Text is drawn in Noto Sans with a CJK fallback (app/report/pdf_fonts.py), subset into the file, so
names and SQL in any of those scripts read back as text; without the font package, Helvetica (Latin-1).
"""

from __future__ import annotations

from typing import Any

from app.core.text import visible
from app.report.html import duration, when
from app.report.model import Report

_HEALTH_RGB = {"healthy": (30, 125, 58), "warning": (168, 100, 0), "error": (179, 38, 30)}
_BAR_RGB = (47, 111, 159)
_STATE_RGB = {"modified": (179, 38, 30), "failed": (179, 38, 30), "missing": (168, 100, 0),
              "pending": (168, 100, 0)}


def _printable(text: str, unicode: bool) -> str:
    # Control characters from files and servers are written out (`\x1b`), as on a terminal: Latin-1
    # holds C0 and C1 controls, which a PDF would carry raw. With only the core fonts (Latin-1),
    # replace what they cannot draw rather than fail the report.
    text = visible(text)
    if unicode:
        return text
    return text.replace("…", "...").replace("≠", "!=").encode("latin-1", "replace").decode("latin-1")


def render(report: Report) -> bytes:
    """The PDF bytes of a report (A4 landscape)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    from app.report import pdf_fonts

    stamp = f"{when(report.generated_at)} UTC"

    class _Doc(FPDF):
        def footer(self) -> None:
            self.set_y(-10)
            self.set_font(family, size=7)
            self.set_text_color(110, 120, 130)
            self.cell(0, 5, f"{title} - generated {stamp} by Tidemark {report.tool_version} - page {self.page_no()}"
                      f"/{{nb}}", align="C")

    pdf = _Doc(orientation="L", unit="mm", format="A4")
    family = pdf_fonts.install(pdf)
    unicode = family != "helvetica"

    def clean(value: str) -> str:
        return _printable(value, unicode)

    title = clean(report.title)
    pdf.set_title(title)
    pdf.set_creator(f"Tidemark {report.tool_version}")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    nl: dict[str, Any] = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    def text(size: float, value: str, *, bold: bool = False, rgb: tuple[int, int, int] = (29, 39, 51),
             h: float = 5) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.set_text_color(*rgb)
        pdf.multi_cell(0, h, clean(value), align="L", **nl)

    def heading(value: str) -> None:
        pdf.ln(3)
        text(12, value, bold=True, h=7)
        pdf.set_draw_color(216, 222, 229)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1.5)

    text(16, report.title, bold=True, h=8)
    env = f"environment {report.environment} - " if report.environment else ""
    text(9, f"{env}server {report.server.target} - PostgreSQL {report.server.version} - database "
            f"{report.server.database} - migrations {report.migrations_dir} - generated {stamp}",
         rgb=(91, 104, 119))

    # Health, prominent: a coloured box with the word and every reason.
    pdf.ln(2)
    rgb = _HEALTH_RGB.get(report.health, (29, 39, 51))
    y0 = pdf.get_y()
    pdf.set_draw_color(*rgb)
    pdf.set_line_width(0.6)
    pdf.set_x(pdf.l_margin + 3)
    text(18, f"HEALTH: {report.health.upper()}", bold=True, rgb=rgb, h=9)
    for r in report.reasons or ():
        pdf.set_x(pdf.l_margin + 3)
        text(9, f"- {r.level}: {r.message}")
    if not report.reasons:
        pdf.set_x(pdf.l_margin + 3)
        text(9, "All migrations applied, none modified, none missing.")
    pdf.rect(pdf.l_margin, y0 - 1, pdf.w - pdf.l_margin - pdf.r_margin, pdf.get_y() - y0 + 3)
    pdf.set_line_width(0.2)
    pdf.ln(4)

    c, p = report.counts, report.performance
    def n(count: int, word: str, many: str) -> str:
        return f"{count} {word if count == 1 else many}"

    text(10, f"{n(c['total'], 'migration', 'migrations')}: {c['applied']} applied, {c['pending']} pending, "
             f"{c['modified']} modified, {c['missing']} missing, {c['failed']} failed - "
             f"{n(len(report.batches), 'batch', 'batches')}, {n(len(report.rollbacks), 'rollback', 'rollbacks')}",
         bold=True)
    text(10, f"Execution time: total {duration(p.total_ms) or '0 ms'}, average {duration(p.average_ms) or '0 ms'}, "
             f"median {duration(p.median_ms) or '0 ms'} over {p.measured} timed migrations")

    if report.warnings:
        heading("Warnings")
        for w in report.warnings:
            names = ", ".join(w.migrations[:8]) + (f" and {len(w.migrations) - 8} more" if len(w.migrations) > 8
                                                    else "")
            text(9, f"{w.level}: {w.message}" + (f": {names}" if names else ""),
                 rgb=_HEALTH_RGB.get(w.level, (29, 39, 51)))

    if report.drift is not None:
        heading("Drift against the files")
        d = report.drift
        text(9, d.verdict, bold=True, rgb=_HEALTH_RGB.get("healthy" if d.ok else "error", (29, 39, 51)))
        for line in (*(f"note: {x}" for x in d.notes), *(x.words for x in d.differences)):
            text(9, line)

    if p.slowest:
        heading("Slowest migrations")
        top = max(t.execution_time_ms for t in p.slowest) or 1
        label_w, plot_w = 90, pdf.w - pdf.l_margin - pdf.r_margin - 90 - 25
        pdf.set_font(family, size=8)
        for t in p.slowest:
            y = pdf.get_y()
            pdf.set_text_color(29, 39, 51)
            pdf.cell(label_w, 5, clean(t.name[:60]))
            pdf.set_fill_color(*_BAR_RGB)
            w = max(0.5, plot_w * t.execution_time_ms / top)
            pdf.rect(pdf.l_margin + label_w, y + 1, w, 3, style="F")
            pdf.set_x(pdf.l_margin + label_w + w + 2)
            pdf.cell(25, 5, duration(t.execution_time_ms), **nl)

    heading(f"Migrations ({c['total']})")
    _table(pdf, family, clean, ("state", "migration", "title", "batch", "executed at (UTC)", "time", "rollback",
                                "checksum"),
           (18, 72, 58, 34, 36, 18, 17, 20),
           [(m.state, m.name, m.title or "", (m.batch_id or "")[:22], when(m.executed_at),
             duration(m.execution_time_ms),
             m.rollback_kind or "", (m.applied_checksum or m.checksum or "")[:12]) for m in report.migrations],
           colour_of=lambda row: _STATE_RGB.get(row[0]))

    if report.batches:
        heading(f"Batches ({len(report.batches)})")
        _table(pdf, family, clean, ("batch", "started (UTC)", "migrations", "total time", "first ... last"),
               (50, 36, 22, 22, 143),
               [(b.batch_id, when(b.started_at), str(b.count), duration(b.total_ms),
                 b.migrations[0] + (f" ... {b.migrations[-1]}" if b.count > 1 else ""))
                for b in reversed(report.batches)])

    heading(f"Rollback history ({len(report.rollbacks)})")
    if report.rollbacks:
        _table(pdf, family, clean, ("rolled back at (UTC)", "migration", "time", "by", "batch"),
               (36, 110, 20, 60, 47),
               [(when(r.rolled_back_at), r.migration, duration(r.execution_time_ms), r.rolled_back_by or "",
                 (r.batch_id or "")[:22]) for r in reversed(report.rollbacks)])
    else:
        text(9, "No rollbacks recorded.")
    return bytes(pdf.output())


def _table(pdf: Any, family: str, clean: Any, header: tuple[str, ...], widths: tuple[float, ...],
           rows: list[tuple[str, ...]], colour_of: Any = None) -> None:
    """A plain ruled table; the header repeats on each new page. Cells are clipped, one line each.

    Drawn with text() and line(), not cell(): cell() lays text out (~0.5 ms a call), which
    made 10,000 migrations take 17 s; text() just places it.
    """
    line_h = 4.6
    size = 7.5
    left = pdf.l_margin
    right = left + sum(widths)

    def head() -> None:
        pdf.set_font(family, "B", size)
        pdf.set_fill_color(245, 247, 249)
        pdf.set_text_color(91, 104, 119)
        y = pdf.get_y()
        pdf.rect(left, y, right - left, line_h + 0.6, style="F")
        x = left
        for label, w in zip(header, widths, strict=True):
            pdf.text(x + 1, y + line_h - 1.2, label.upper())
            x += w
        pdf.set_y(y + line_h + 0.6)
        pdf.set_font(family, size=size)

    head()
    bottom = pdf.h - pdf.b_margin
    pdf.set_draw_color(216, 222, 229)
    for row in rows:
        if pdf.get_y() + line_h > bottom:
            pdf.add_page()
            head()
        rgb = colour_of(row) if colour_of else None
        pdf.set_text_color(*(rgb or (29, 39, 51)))
        y = pdf.get_y()
        x = left
        for value, w in zip(row, widths, strict=True):
            value = clean(value)
            # Clip to the column so a long name never runs into the next one (exact width only when close).
            if len(value) * 1.2 > w - 2:
                while value and pdf.get_string_width(value) > w - 2:
                    value = value[:-1]
            if value and _all_in(pdf, value):
                pdf.text(x + 1, y + line_h - 1.3, value)
            elif value:  # text() has no fallback font; cell() does (slower, only for such cells)
                pdf.set_xy(x + 0.5, y)
                pdf.cell(w - 1, line_h, value)
                pdf.set_y(y)
            x += w
        pdf.line(left, y + line_h, right, y + line_h)
        pdf.set_y(y + line_h)


def _all_in(pdf: Any, value: str) -> bool:
    """Whether the current font draws every character (core fonts: assumed, they were made Latin-1)."""
    cmap = getattr(pdf.current_font, "cmap", None)
    return cmap is None or value.isascii() or all(ord(ch) in cmap for ch in value)
