"""SQL pane on a 10,000-line migration: first paint and the longest UI stall, whole-text scan vs slices.

    .venv/bin/python benchmarks/sql_highlight_bench.py [--runs 5] [--lines 10000]

Uses Qt's offscreen platform; no database. Each run shows the same text in a fresh, visible
SqlView twice: once with the one-pass path (the whole text scanned before it is shown, as
before app/gui/sql_highlight.py) and once in slices. Measured from the show_sql call:

  first paint    until the viewport's first paint event after it (the text on screen);
  all coloured   until every line is coloured (the slicer is done; the one pass: first paint);
  longest stall  the longest gap between two ticks of a 0 ms QTimer on the GUI thread (the
                 event loop turning as fast as it can), i.e. the longest the UI could not react.

Medians over the runs; the ratios are whole / sliced (above 1: slices are better).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.gui_bench import Heartbeat, highlight_sql  # noqa: E402 - the same mix of SQL as the 2000-line case

MEASURES = ("first paint", "all coloured", "longest stall")


def one_run(app, text: str, *, sliced: bool) -> dict[str, float]:
    """Show `text` in a fresh view; the three measures in ms."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    from app.gui import sql_highlight
    from app.gui.sql_view import SqlView

    class FirstPaint(QObject):
        at = 0.0
        armed = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if self.armed and not self.at and event.type() == QEvent.Type.Paint:
                self.at = time.perf_counter()
            return False

    saved = sql_highlight.CHUNKED_FROM_LINES
    if not sliced:
        sql_highlight.CHUNKED_FROM_LINES = 10**9  # the one-pass path, as before slicing
    try:
        view = SqlView()
        view.resize(900, 700)
        view.show()
        spy = FirstPaint()
        view.viewport().installEventFilter(spy)
        end = time.perf_counter() + 2
        while time.perf_counter() < end and not view.isVisible():
            app.processEvents()
        for _ in range(20):  # settle: the empty view's own first paints are not counted
            app.processEvents()
        ticks = Heartbeat(0)
        began = [0.0]

        def show() -> None:
            spy.armed = True
            began[0] = time.perf_counter()
            view.show_sql(text)

        ticks.start()
        QTimer.singleShot(0, show)
        deadline = time.perf_counter() + 60
        while not (spy.at and view.highlighter.slicer.done and began[0]):
            if time.perf_counter() > deadline:
                raise TimeoutError("the text was not painted and coloured in time")
            app.processEvents()
        done = time.perf_counter()
        stall = ticks.stop()
        assert view.highlighter.slicer.active == sliced
        assert view.highlighter.scanned
        view.close()
        view.deleteLater()
        app.processEvents()
        return {"first paint": (spy.at - began[0]) * 1000, "all coloured": (done - began[0]) * 1000,
                "longest stall": stall}
    finally:
        sql_highlight.CHUNKED_FROM_LINES = saved


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from app.gui.app import tune_interpreter

    tune_interpreter()  # as app.main() does
    app = QApplication(sys.argv[:1])
    text = highlight_sql(args.lines)
    results: dict[str, dict[str, list[float]]] = {m: {k: [] for k in MEASURES} for m in ("whole", "sliced")}
    one_run(app, text, sliced=True)  # warm up: imports, the scanner, fonts
    for _ in range(args.runs):
        for mode in ("whole", "sliced"):  # side by side in each run: the same machine state
            for k, v in one_run(app, text, sliced=mode == "sliced").items():
                results[mode][k].append(v)
    print(f"SQL pane, {args.lines} lines, {args.runs} runs (medians)")
    print(f"{'measure':<16} {'whole scan':>12} {'sliced':>10} {'whole/sliced':>13}")
    for k in MEASURES:
        whole, sliced = statistics.median(results["whole"][k]), statistics.median(results["sliced"][k])
        print(f"{k:<16} {whole:>10.1f}ms {sliced:>8.1f}ms {whole / sliced:>12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
