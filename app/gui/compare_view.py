"""Compare environments: choose them, then the migrations × environments matrix with differences highlighted.

The window (CompareDialog) also holds the schema differences side by side (app/gui/compare_diff.py),
the drift check against the files (app.core.drift, on the window's own worker) and the export of
the comparison as HTML or JSON (the renderers `tidemark compare` writes with).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QUrl, Slot
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenuBar,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.text import counted as count
from app.core.text import visible
from app.gui.compare_diff import DifferencesPanel, from_drift_item, from_file_difference
from app.gui.compare_matrix import DifferencesProxy, MatrixModel
from app.gui.settings import read_bool, read_str
from app.gui.sizing import QuietLabel
from app.gui.sources import Source
from app.gui.table_fit import wanted_width
from app.gui.theme import current
from app.gui.words import in_app
from app.gui.worker import TaskController


class ChooseEnvironmentsDialog(QDialog):
    """Tick the environments to compare."""

    def __init__(self, sources: list[Source], current: Source | None, parent: QWidget | None = None,
                 remembered: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare environments")
        self.resize(420, 360)
        self._sources = sources
        self.list = QListWidget()
        self.list.setAccessibleName("Environments to compare")
        known = {s.key for s in sources}
        ticked = set(remembered) & known if remembered else known  # the last choice, else all
        for s in sources:
            item = QListWidgetItem(f"{s.name}  ({s.detail})" if s.detail else s.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if s.key in ticked else Qt.CheckState.Unchecked)
            item.setForeground(QBrush(QColor(s.colour)))
            self.list.addItem(item)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Read these environments at the same time and compare their migrations:"))
        lay.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compare")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def chosen(self) -> list[Source]:
        """The ticked environments."""
        return [s for i, s in enumerate(self._sources) if self.list.item(i).checkState() == Qt.CheckState.Checked]


class CompareDialog(QDialog):
    """The comparison: a headline, the matrix, the schema differences side by side, the drift check, export.

    Its jobs (drift check, export) run on the window's own TaskController, never on the UI thread.
    """

    def __init__(self, comparison: Any, skipped: list[str], parent: QWidget | None = None,
                 runners: Sequence[tuple[str, Callable[[], Any]]] = (), settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare environments")
        self.resize(1100, 760)
        self.comparison = comparison
        self.settings = settings
        self._runners = {name: make for name, make in runners}
        self.checked: dict[str, Any] = {}  # environment -> its last DriftResult
        self.open_file: Callable[[Path], bool] = lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        self.controller = TaskController(self)
        self.controller.finished.connect(self._job_done)
        self.controller.progress.connect(self._progress)
        self.controller.busy_changed.connect(self._busy_changed)

        summary = QLabel(_headline(comparison, skipped))
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = summary
        self.model = MatrixModel(comparison, self)
        self.proxy = DifferencesProxy(self)
        self.proxy.setSourceModel(self.model)
        self.only = QCheckBox("&Only show differences")
        self.only.toggled.connect(self._only)
        self.table = QTableView()
        self.table.setAccessibleName("Differences between the environments")
        self.table.setModel(self.proxy)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setShowGrid(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, self.model.columnCount()):  # the title ("production (unreachable)") whole
            self.table.setColumnWidth(col, max(130, wanted_width(self.table, col)))

        self.differences = DifferencesPanel()
        self.differences.set_differences([from_drift_item(d) for d in comparison.drift], no_drift_words(comparison))
        self.drift_headline = QuietLabel()  # no empty band above the differences before a check
        self.drift_headline.hide()
        self.drift_headline.setWordWrap(True)
        self.drift_headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.which = QComboBox()
        self.which.setAccessibleName("environments to check against their files")
        checkable = [e.name for e in comparison.environments if e.reachable and e.name in self._runners]
        if len(checkable) > 1:
            self.which.addItem("every environment", checkable)
        for name in checkable:
            self.which.addItem(name, [name])
        self.check_button = QPushButton("Check &drift against files")
        self.check_button.setToolTip("Replay each environment's applied migrations on a throwaway local server and "
                                     "compare the schemas object by object (Ctrl+Shift+F); nothing is written to it")
        self.check_button.clicked.connect(self.check_drift)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(140)
        self.busy.hide()
        self.step = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.controller.cancel)
        self.cancel_button.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel("Drift against the files:"))
        row.addWidget(self.which)
        row.addWidget(self.check_button)
        row.addWidget(self.busy)
        row.addWidget(self.step, 1)
        row.addWidget(self.cancel_button)
        self.status = QuietLabel()  # what the last export did, or why it could not
        self.status.hide()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(row)
        ll.addWidget(self.drift_headline)
        ll.addWidget(self.differences, 1)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.only)
        tl.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(lower)
        split.setSizes([330, 330])
        lay = QVBoxLayout(self)
        lay.setMenuBar(self._menus())
        lay.addWidget(summary)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self._busy_changed()

    def _menus(self) -> QMenuBar:
        bar = QMenuBar(self)
        file = bar.addMenu("&File")
        self.act_export_html = file.addAction("Export as &HTML…")
        self.act_export_html.setShortcut(QKeySequence("Ctrl+E"))
        self.act_export_html.triggered.connect(lambda: self.export("html"))
        self.act_export_json = file.addAction("Export as &JSON…")
        self.act_export_json.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.act_export_json.triggered.connect(lambda: self.export("json"))
        self.act_open_after = file.addAction("&Open after saving")
        self.act_open_after.setCheckable(True)
        self.act_open_after.setChecked(read_bool(self.settings, "export/open_after", True) if self.settings else False)
        self.act_open_after.toggled.connect(
            lambda on: self.settings.setValue("export/open_after", on) if self.settings else None)
        file.addSeparator()
        close = file.addAction("&Close")
        close.setShortcut(QKeySequence("Ctrl+W"))
        close.triggered.connect(self.reject)
        schema = bar.addMenu("&Schema")
        self.act_check_drift = schema.addAction("Check &drift against files")
        self.act_check_drift.setShortcut(QKeySequence("Ctrl+Shift+F"))  # Check drift's keys in every window
        self.act_check_drift.triggered.connect(self.check_drift)
        self.act_cancel = schema.addAction("&Cancel the check")
        self.act_cancel.setShortcut(QKeySequence("Ctrl+."))
        self.act_cancel.triggered.connect(self.controller.cancel)
        self.act_differences = schema.addAction("&Go to the differing objects")
        self.act_differences.setShortcut(QKeySequence("Ctrl+L"))
        self.act_differences.triggered.connect(lambda: self.differences.list.setFocus())
        for act in (self.act_export_html, self.act_export_json, close, self.act_check_drift, self.act_cancel,
                    self.act_differences):
            self.addAction(act)  # shortcuts work wherever the focus is in this window
        return bar

    # --- drift against the files ---------------------------------------------------------------

    @Slot()
    def check_drift(self) -> None:
        """Check the chosen environment(s) against their files on the worker: progress, Cancel, then the verdict."""
        names = self.which.currentData()
        if self.controller.busy or not names:
            return
        from app.gui import tasks

        makers = [(n, self._runners[n]) for n in names]
        self.drift_headline.setText("")
        self.controller.start("drift", lambda progress, cancel: tasks.check_drift(makers, progress, cancel))

    @Slot(object)
    def _progress(self, event: Any) -> None:
        if event.message:
            prefix = f"[{event.index}/{event.total}] " if event.total > 1 else ""
            self.step.setText(said(prefix + event.message))

    @Slot()
    def _busy_changed(self) -> None:
        busy = self.controller.busy
        drift = self.controller.current_kind == "drift"
        self.busy.setVisible(busy)
        self.cancel_button.setVisible(drift)
        self.act_cancel.setEnabled(drift)
        can_check = not busy and self.which.count() > 0
        self.check_button.setEnabled(can_check)
        self.act_check_drift.setEnabled(can_check)
        self.act_export_html.setEnabled(not busy)
        self.act_export_json.setEnabled(not busy)
        if not busy:
            self.step.setText("")

    def _show_drift(self, outcome: Any) -> None:
        from app.report.drift import drift_verdict

        t, e = current(), html.escape
        lines = []
        shown = []
        for name, result in outcome.results:
            self.checked[name] = result
            colour = t.ok if result.ok else t.error
            lines.append(f"<span style='color:{colour}'>{said(drift_verdict(name, result))}</span>")
            lines += [f"&nbsp;&nbsp;note: {said(n)}" for n in result.notes]
            shown += [from_file_difference(name, d) for d in result.differences]
        for name, error in outcome.errors:
            lines.append(f"<span style='color:{t.error}'>{e(visible(name))}: not checked: {said(error)}</span>")
        self.drift_headline.setText("<br>".join(lines))
        self.differences.replace("files", shown)

    # --- export ----------------------------------------------------------------------------------

    def export(self, fmt: str) -> None:
        """Ask where (tidemark-compare-<YYYYMMDD-HHMM>.<ext> in the last folder), then write it on the worker."""
        from app.gui.window_actions import export_file_name

        if self.controller.busy:
            return
        folder = Path(read_str(self.settings, "export/folder", str(Path.home())) if self.settings else Path.home())
        name, _ = QFileDialog.getSaveFileName(self, f"Export the comparison as {fmt.upper()}",
                                              str(folder / export_file_name("compare", fmt)),
                                              f"{fmt.upper()} (*.{fmt})")
        if name:
            path = Path(name)
            if path.suffix.lower() != f".{fmt}":
                path = path.with_suffix(f".{fmt}")
            if self.settings is not None:
                self.settings.setValue("export/folder", str(path.parent))
            self.export_to(path, fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Write the comparison to `path` on the worker (render and write: no file I/O on the UI thread)."""
        if self.controller.busy:
            return
        from app.gui import tasks

        comparison = self.comparison
        self.status.setText(said(f"writing {path}…"))
        self.controller.start("export", lambda progress, cancel: tasks.export_comparison(comparison, fmt, path))

    @Slot(str, str, object)
    def _job_done(self, kind: str, outcome: str, payload: Any) -> None:
        t = current()
        if outcome == "cancelled":
            text = "drift check cancelled: nothing was written to any environment" if kind == "drift" else "cancelled"
            (self.drift_headline if kind == "drift" else self.status).setText(said(text))
        elif outcome == "failed":
            message = " ".join(str(getattr(payload, "message", None) or payload).split())
            target = self.drift_headline if kind == "drift" else self.status
            target.setText(f"<span style='color:{t.error}'>{said(message)}</span>")
        elif kind == "drift":
            self._show_drift(payload)
        elif kind == "export":
            text = said(f"{payload.fmt.upper()} comparison written to {payload.path}")
            if self.act_open_after.isChecked() and not self.open_file(payload.path):
                text += (f"<br><span style='color:{t.error}'>" + said(f"could not open {payload.path}: no application "
                         f"is set up for {payload.fmt.upper()} files (the comparison is written)") + "</span>")
            self.status.setText(text)

    def done(self, result: int) -> None:
        """Closing stops a running check (its throwaway server is removed) before the window goes."""
        self.controller.shutdown(10_000)
        super().done(result)

    @Slot(bool)
    def _only(self, on: bool) -> None:
        self.proxy.set_only_differences(on)


def said(text: str) -> str:
    """A message for one of the view's rich-text lines: in the app's words (words.in_app, as every
    message the app shows), controls shown, escaped."""
    return html.escape(visible(in_app(text)))


def no_drift_words(comparison: Any) -> str:
    """What the schema panel says when it lists no drift: which schemas were compared, or why none were."""
    alike = [g for g in comparison.drift_groups if len(g) > 1]
    if alike:
        same = [f"{', '.join(g[:-1])} and {g[-1]} have the same migrations applied and the same schema" for g in alike]
        return "No schema drift: " + "; ".join(same) + "."
    return ("No schemas compared: schemas are compared only between environments with the same migrations applied, "
            "and no two of these have. Check drift against files compares each with its own files.")


def _headline(comparison: Any, skipped: list[str]) -> str:
    """The summary: how many migrations differ, never "all agree" while schema drift is listed."""
    e, t = html.escape, current()
    n_diff = len(comparison.differing_rows)
    lines = [f"<b>{count(len(comparison.matrix), 'migration')}</b> across "
             f"{count(len(comparison.environments), 'environment')}: "
             + (f"<span style='color:{t.error}'><b>{n_diff} differ</b></span> (shaded)." if n_diff
                else f"<span style='color:{t.warn}'>the migrations agree, but the schemas do not "
                     "(drift below).</span>" if comparison.drift
                else f"<span style='color:{t.ok}'>all agree</span>.")]
    for env in comparison.environments:
        if not env.reachable:
            lines.append(f"<span style='color:{t.error}'>{e(env.name)}: {said(env.error or 'unreachable')}</span>")
    for s in skipped:
        lines.append(f"<span style='color:{t.error}'>not compared: {said(s)}</span>")
    if comparison.drift:
        lines.append(f"<span style='color:{t.warn}'><b>Schema drift:</b> "
                     f"{count(len(comparison.drift), 'catalog object')} differ although the migrations agree "
                     "(changed outside migrations); each is shown side by side below.</span>")
    return "<br>".join(lines)
