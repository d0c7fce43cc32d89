"""The main window: environment bar, overview cards, migration list, details, progress and log."""

from __future__ import annotations

import functools
import html
import importlib.util
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TidemarkError
from app.core.files import version_key
from app.core.status import MigrationInfo, State
from app.gui import sources as src
from app.gui import theme
from app.gui.cards import OverviewCards
from app.gui.charts import ChartsPanel
from app.gui.details import DetailsTabs
from app.gui.error_panel import ErrorPanel
from app.gui.find_bar import Findable
from app.gui.migration_view import MigrationList
from app.gui.plural import count
from app.gui.progress_panel import LogPanel, ProgressPanel
from app.gui.repeatable_list import RepeatableList
from app.gui.settings import read_bool, read_str, recall_dsn
from app.gui.window_actions import WindowActions
from app.gui.window_results import MUTATING_KINDS as MUTATING
from app.gui.window_results import WindowResults
from app.gui.worker import TaskController

VERBS = {"status": "Reading status", "run": "Running migrations", "rollback": "Rolling back",
         "dryrun": "Planning a dry run", "plan": "Planning the rollback",
         "review": "Planning the run", "history": "Reading the history",
         "repair-review": "Reading the changed files", "repair": "Accepting the changed files",
         "rollback-block": "Writing the rollback SQL into the file and recording it",
         "baseline-review": "Planning the baseline", "baseline": "Recording the baseline",
         "new": "Writing the new migration", "lint": "Linting the pending migrations",
         "export": "Writing the report", "compare": "Comparing environments",
         "rehearse": "Rehearsing on a throwaway copy",
         "import-review": "Looking for other tools' histories", "import": "Importing the history"}


def colour_icon(colour: str, protected: bool) -> QIcon:
    """A coloured square for the environment picker (a darker frame marks a protected one)."""
    pm = QPixmap(14, 14)
    pm.fill(QColor(colour))
    if protected:
        from PySide6.QtGui import QPainter, QPen

        p = QPainter(pm)
        p.setPen(QPen(QColor(theme.current().text), 2))
        p.drawRect(1, 1, 12, 12)
        p.end()
    return QIcon(pm)


class MainWindow(WindowActions, WindowResults, QMainWindow):
    """Tidemark's window. Signals: snapshot_shown(Snapshot), job_done(kind, outcome, payload)."""

    snapshot_shown = Signal(object)
    job_done = Signal(str, str, object)
    asking = Signal(object)  # a confirmation dialog opened (run or rollback)

    def __init__(self, settings: QSettings, sources: list[src.Source] | None = None, *,
                 initial: src.Source | None = None, options: Any = None, auto_refresh: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.options = options
        self.source: src.Source | None = None
        self.snapshot: Any = None
        self.last_result: Any = None
        self.last_error: Any = None
        self.controller = TaskController(self)
        self.controller.busy_changed.connect(self._busy_changed)
        self.controller.finished.connect(self._job_finished)
        self.setWindowTitle("Tidemark")
        self.resize(1280, 820)
        self._build()
        self.controller.progress.connect(self.progress.on_event)
        self.controller.progress.connect(self._on_progress)
        self.controller.log_line.connect(self.log.add)
        problem = None
        if sources is None:
            sources, problem = src.list_sources()
            self.watch_environments()
        self._sources: list[src.Source] = list(sources)
        recalled = recall_dsn(settings)
        if recalled and not any(s.kind == "dsn" for s in self._sources):
            dsn, folder, name, protected = recalled
            try:
                self._sources.append(src.dsn_source(dsn, folder, name=name or None, protected=protected))
            except TidemarkError:
                pass  # a remembered DSN that no longer parses is simply dropped
        if initial is not None and initial.key not in {s.key for s in self._sources}:
            self._sources.append(initial)
        self._fill_sources()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        side = settings.value("window/side_splitter")
        if side is not None:
            self.top_splitter.restoreState(side)
        state = settings.value("window/splitter")
        if state is not None:
            self.splitter.restoreState(state)
        if problem:
            self.log.add(problem)
        chosen = initial or self._find(read_str(settings, "window/source")) or (
            self._sources[0] if self._sources else None)
        self.set_source(chosen, refresh=False)
        if auto_refresh and chosen is not None:
            QTimer.singleShot(0, self.refresh)  # after the window shows: it never waits on a connection

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        envbar = QToolBar("Environment")
        envbar.setObjectName("envbar")
        envbar.setMovable(False)
        self.addToolBar(envbar)
        envbar.addWidget(QLabel(" Environment: "))
        self.env_combo = QComboBox()
        self.env_combo.setMinimumWidth(240)
        self.env_combo.activated.connect(self._env_picked)
        envbar.addWidget(self.env_combo)
        self.act_open = QAction("&Open DSN / folder…", self)
        self.act_open.triggered.connect(self.open_dsn_dialog)
        envbar.addAction(self.act_open)
        self.act_envs = QAction("E&nvironments…", self)
        self.act_envs.triggered.connect(self.open_environments)
        self.act_envs.setVisible(src.environments_available())
        envbar.addAction(self.act_envs)
        envbar.addSeparator()
        self.act_refresh = QAction("&Refresh", self)
        self.act_refresh.triggered.connect(self.refresh)
        envbar.addAction(self.act_refresh)

        actions = QToolBar("Actions")
        actions.setObjectName("actions")
        actions.setMovable(False)
        self.addToolBarBreak()
        self.addToolBar(actions)
        self.act_run = QAction("&Run pending", self)
        self.act_run.triggered.connect(self.run_pending)
        self.act_dry = QAction("&Dry run", self)
        self.act_dry.triggered.connect(self.dry_run)
        self.act_rehearse = QAction("R&ehearse", self)
        self.act_rehearse.setToolTip("Copy the schema to a throwaway local server, run every pending migration "
                                     "there and roll each back, checking the schema returns exactly")
        self.act_rehearse.triggered.connect(self.rehearse)
        self.act_run_to = QAction("Run &up to selected", self)
        self.act_run_to.triggered.connect(self.run_to_selected)
        self.act_rb_last = QAction("Roll&back last…", self)
        self.act_rb_last.triggered.connect(self.rollback_last)
        self.act_rb_to = QAction("Rollback &to selected…", self)
        self.act_rb_to.triggered.connect(self.rollback_to_selected)
        self.act_lint = QAction("L&int pending", self)
        self.act_lint.setToolTip("Check the pending migrations for statements that lock or rewrite big tables, "
                                 "or break running clients (squawk and Tidemark's rules)")
        self.act_lint.triggered.connect(self.lint_pending)
        self.act_new = QAction("&New migration…", self)
        self.act_new.setToolTip("Write the next migration file in the project's layout, with its header and "
                                "an empty rollback section")
        self.act_new.triggered.connect(self.new_migration)
        self.act_repair = QAction("Re&pair changed…", self)
        self.act_repair.setToolTip("Accept the new checksum of applied files that changed on disk, with a reason")
        self.act_repair.triggered.connect(self.repair_changed)
        self.act_baseline = QAction("Base&line up to selected…", self)
        self.act_baseline.setToolTip("Record every migration up to the selected one as applied, without running it")
        self.act_baseline.triggered.connect(self.baseline_to_selected)
        from app.gui import import_history

        self.act_import = import_history.add_action(self)
        self.act_history = QAction("&History", self)
        self.act_history.triggered.connect(self.show_history)
        self.act_compare = QAction("&Compare…", self)
        self.act_compare.triggered.connect(self.compare_dialog)
        self.act_overview = QAction("&Overview of all environments", self)
        self.act_overview.setToolTip("Every saved environment's health and counts; run on several at once")
        self.act_overview.triggered.connect(self.show_overview)
        for a in (self.act_run, self.act_dry, self.act_rehearse, self.act_run_to):
            actions.addAction(a)
        actions.addSeparator()
        for a in (self.act_rb_last, self.act_rb_to):
            actions.addAction(a)
        actions.addSeparator()
        actions.addAction(self.act_history)
        self.export_button = QToolButton()
        self.export_button.setText("Export report")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = self.export_menu = QMenu(self.export_button)
        for label, fmt in (("&HTML…", "html"), ("&JSON…", "json"), ("&PDF…", "pdf")):
            act = menu.addAction(label)
            act.setData(fmt)
        menu.addSeparator()
        self.act_open_after = menu.addAction("&Open after saving")
        self.act_open_after.setCheckable(True)
        self.act_open_after.setChecked(read_bool(self.settings, "export/open_after", True))
        menu.triggered.connect(self._export_menu)
        self.export_button.setMenu(menu)
        actions.addWidget(self.export_button)
        actions.addAction(self.act_compare)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 4, 8, 4)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.banner)
        self.error_panel = ErrorPanel()
        lay.addWidget(self.error_panel)
        self.cards = OverviewCards()
        lay.addWidget(self.cards)
        self.list = MigrationList()
        self.list.selected.connect(self._selected)
        self.details = DetailsTabs()
        self.charts = ChartsPanel()
        self.details.addTab(self.charts, "Charts")
        self.details.addTab(self.cards.reasons, "Health")
        self.top_splitter = top = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list, 1)
        self.repeatables = RepeatableList()  # Flyway's R__ files: their own group, below the versioned ones
        ll.addWidget(self.repeatables)
        top.addWidget(left)
        top.addWidget(self.details)
        # The SQL side gets the larger share: a migration's lines are wider than its name and state.
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 3)
        top.setSizes([420, 630])
        self.progress = ProgressPanel()
        self.progress.cancel_requested.connect(self.cancel)
        self.log = LogPanel()
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.progress)
        bl.addWidget(Findable(self.log, follow=False), 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        lay.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        from app.gui.menus import build_menus

        build_menus(self)
        from app.gui.context_menus import install_list_menu

        install_list_menu(self)
        self.statusBar().showMessage("Ready")
        self._update_actions()

    # --- environments ------------------------------------------------------------------------------

    def _fill_sources(self) -> None:
        self.env_combo.blockSignals(True)
        self.env_combo.clear()
        for s in self._sources:
            label = f"{s.name}  (protected)" if s.protected else s.name
            self.env_combo.addItem(colour_icon(s.colour, s.protected), label, s.key)
        if not self._sources:
            self.env_combo.addItem("(no environment yet)", "")
        self.env_combo.blockSignals(False)
        if self.source is not None:
            self._select_in_combo(self.source.key)

    def _select_in_combo(self, key: str) -> None:
        i = self.env_combo.findData(key)
        if i >= 0:
            self.env_combo.setCurrentIndex(i)

    def _find(self, key: str) -> src.Source | None:
        return next((s for s in self._sources if s.key == key), None)

    def sources(self) -> list[src.Source]:
        """The environment bar's entries."""
        return list(self._sources)

    def add_source(self, source: src.Source, *, select: bool = True) -> None:
        """Add (or replace) an entry of the environment bar."""
        self._sources = [s for s in self._sources if s.key != source.key] + [source]
        self._fill_sources()
        if select:
            self.set_source(source)

    @Slot(int)
    def _env_picked(self, i: int) -> None:
        chosen = self._find(self.env_combo.itemData(i) or "")
        if chosen is not None and (self.source is None or chosen.key != self.source.key):
            self.set_source(chosen)

    def set_source(self, source: src.Source | None, *, refresh: bool = True) -> None:
        """Switch to an environment and read its status in the background."""
        if self.controller.current_kind in MUTATING:
            return  # the combo is disabled meanwhile; one run per environment at a time
        self.source = source
        self.snapshot = None
        self.list.set_rows([])
        self.repeatables.set_rows([])
        self.details.show_migration(None, None)
        self.error_panel.hide()
        if source is None:
            self.setWindowTitle("Tidemark")
            self.banner.setText("<b>No database yet.</b> Use <i>Open DSN / folder…</i> to work on any database and "
                                "migrations folder" + (", or <i>Environments…</i> to add a saved environment."
                                                       if src.environments_available() else "."))
            self.banner.setStyleSheet("")
            self.cards.clear()
            self._update_actions()
            return
        self._select_in_combo(source.key)
        self.setWindowTitle(f"Tidemark — {source.name}")
        self.settings.setValue("window/source", source.key)
        self._show_banner()
        self.cards.clear("…")
        self._update_actions()
        if refresh:
            self.refresh()

    def _show_banner(self, extra: str = "") -> None:
        s = self.source
        if s is None:
            return
        e = html.escape
        t = theme.current()
        tag = (f" <span style='background:{t.protected_tag_bg};color:{t.protected_tag_text};padding:2px'>"
               "&nbsp;PROTECTED&nbsp;</span>" if s.protected else "")
        detail = e(s.detail) if s.detail else ""
        self.banner.setText(f"<span style='font-size:15px'><b>{e(s.name)}</b></span>{tag}&nbsp;&nbsp; {detail}"
                            + (f"&nbsp;&nbsp;·&nbsp;&nbsp;{extra}" if extra else ""))
        tint = QColor(s.colour).darker(320) if t.dark else QColor(s.colour).lighter(185)
        self.banner.setStyleSheet(f"QLabel#banner {{ border-left: 8px solid {s.colour}; padding: 6px 10px; "
                                  f"background: {tint.name()}; color: {t.text}; }}")

    # --- jobs --------------------------------------------------------------------------------------

    def _runner(self) -> Any:
        assert self.source is not None
        return self.source.make_runner(self.options)

    def _start(self, kind: str, job: Any) -> int | None:
        if self.controller.closed:
            return None  # the window is closing: a late timer must not start work
        if kind != "status":  # the refresh after a failed run must not hide its error
            self.error_panel.hide()
        self.progress.start(VERBS.get(kind, kind) + "…")
        return self.controller.start(kind, job)

    @Slot()
    def refresh(self) -> None:
        """Read status (never while a run or rollback works)."""
        if self.source is None or self.controller.current_kind in MUTATING or self.controller.closed:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._start("status", lambda progress, cancel: tasks.load_snapshot(source.make_runner(options), cancel))

    @Slot()
    def cancel(self) -> None:
        """Cancel the running job from the GUI thread (the engine cancels the running statement)."""
        if self.controller.busy:
            self.progress.cancelling()
            self.log.add("cancel requested")
            self.controller.cancel()

    # --- results -----------------------------------------------------------------------------------

    @Slot()
    def _busy_changed(self) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        busy = self.controller.busy
        mutating = self.controller.current_kind in MUTATING
        status = self.snapshot.status if self.snapshot is not None else None
        m = self.list.current()
        have = self.source is not None and status is not None and not busy
        pending = bool(status and status.has_work)  # versioned ones, or only repeatables due
        applied = [x for x in status.applied] if status else []
        self.act_run.setEnabled(have and pending)
        self.act_dry.setEnabled(have)
        self.act_rehearse.setEnabled(have and pending)
        self.act_run_to.setEnabled(have and m is not None and m.state in (State.PENDING, State.FAILED))
        newest = max(applied, key=lambda a: version_key(a.version), default=None)
        blocked = _manual_rollback([newest] if newest is not None else [])
        self.act_rb_last.setEnabled(have and bool(applied) and blocked is None)
        self.act_rb_last.setToolTip(blocked or "Roll back the newest applied migrations, newest first (Ctrl+Shift+L)")
        after = [a for a in applied if m is not None and version_key(a.version) > version_key(m.version)]
        blocked = _manual_rollback(after)
        self.act_rb_to.setEnabled(have and m is not None and m.is_applied and bool(after) and blocked is None)
        self.act_rb_to.setToolTip(blocked or "Roll back everything applied after the selected migration")
        self.act_history.setEnabled(have and bool(status and status.history_exists))
        self.act_lint.setEnabled(have and pending)
        self.act_new.setEnabled(self.source is not None and not busy)
        self.act_repair.setEnabled(have and any(x.state is State.MODIFIED or x.line_endings_only
                                                for x in (status.migrations if status else [])))
        self.act_baseline.setEnabled(have and m is not None and m.state is State.PENDING)
        self.act_import.setEnabled(have)
        if hasattr(self, "act_rb_sql"):  # made with the menus
            self.act_rb_sql.setEnabled(have and self.manual_to_write() is not None)
        self.export_button.setEnabled(have and _report_available())
        self.act_compare.setEnabled(not busy and _compare_available() and bool(self._sources_or_none()))
        self.act_refresh.setEnabled(self.source is not None and not mutating)
        self.env_combo.setEnabled(not mutating)
        self.act_open.setEnabled(not mutating)
        self.act_envs.setEnabled(not mutating)

    def _sources_or_none(self) -> list[src.Source]:
        return getattr(self, "_sources", [])

    @Slot(object)
    def _selected(self, m: MigrationInfo | None) -> None:
        stored = self.snapshot.stored.get(m.version) if (m is not None and self.snapshot is not None) else None
        self.details.show_migration(m, stored)
        self._update_actions()

    @Slot(object)
    def _on_progress(self, event: Any) -> None:
        from app.core.progress import Phase

        if event.phase is Phase.MIGRATION_START and event.migration:
            version = self.list.model.version_of(event.migration) or event.migration[:14]
            previous = getattr(self, "_running_version", None)
            if previous and previous != version:
                self.list.model.set_overlay(previous, None)
            self._running_version = version
            self.list.model.set_overlay(version, "rolling back" if event.message == "rollback" else "running")

    @Slot(str, str, object)
    def _job_finished(self, kind: str, outcome: str, payload: object) -> None:
        self._running_version = None
        if outcome == "ok":
            self._ok(kind, payload)
        elif outcome == "failed":
            self._failed(kind, payload)
        else:
            self.progress.stop("cancelled")
            if kind in MUTATING:
                QTimer.singleShot(0, self.refresh)
        self._update_actions()
        self.job_done.emit(kind, outcome, payload)

    def _show_snapshot(self, snapshot: Any) -> None:
        settle_memory()
        self.snapshot = snapshot
        status = snapshot.status
        self.list.set_rows(status.migrations)
        self.repeatables.set_rows(status.repeatables)
        version = getattr(self, "_select_after_refresh", None)
        if version:
            self._select_after_refresh = None
            self.list.select_version(version)
        names = getattr(self, "_select_name_after_refresh", None)
        if names:
            self._select_name_after_refresh = None
            found = next((m for m in status.migrations if m.name in names), None)
            if found is not None:
                self.list.select_version(found.version)
        self.cards.show_status(status)
        self.charts.set_rows(status.migrations)
        folder = html.escape(status.migrations_dir)
        layout = ""
        if status.layout:
            from app.core.layouts import describe

            layout = f" · layout: {html.escape(describe(status.layout, status.layout_declared_in))}"
        self._show_banner(f"PostgreSQL {html.escape(status.server_version)} · database "
                          f"<b>{html.escape(status.database)}</b> · migrations: {folder}{layout}")
        if not status.history_exists:
            self.log.add("no history tables yet: the first run creates them")
        counts = ", ".join(f"{n} {state}" for state, n in status.counts.items() if n)
        self.statusBar().showMessage(f"{count(len(status.migrations), 'migration')} · health {status.health.value}")
        self.log.add(f"status of {self.source.name if self.source else ''}: {counts or 'no migrations'}; "
                     f"health {status.health.value}")
        self.snapshot_shown.emit(snapshot)

    # --- closing -----------------------------------------------------------------------------------

    def confirm_quit_during_run(self) -> bool:
        """Ask whether to cancel the running work and quit (tests replace this)."""
        answer = QMessageBox.question(
            self, "Quit Tidemark?",
            "A run is in progress. Quit anyway? The running migration is cancelled and rolled back; "
            "migrations already applied stay applied.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first during a run; then cancel, quit the threads and wait a few seconds."""
        if self.controller.current_kind in MUTATING and not self.confirm_quit_during_run():
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/side_splitter", self.top_splitter.saveState())
        self.settings.sync()
        self.controller.shutdown(5000)
        src.stop_sandbox_if_started()
        event.accept()


def _manual_rollback(rows: list[MigrationInfo]) -> str | None:
    """Why a rollback of these cannot run (the first whose rollback is manual), or None."""
    manual = next((r for r in sorted(rows, key=lambda r: version_key(r.version), reverse=True)
                   if r.rollback_kind == "manual"), None)
    if manual is None:
        return None
    why = f" ({manual.rollback_note})" if manual.rollback_note else ""
    return (f"Not available: the rollback of {manual.name} is manual{why}. Migrations ▸ Write rollback SQL… "
            "(Ctrl+Shift+K) adds its '-- ROLLBACK BEGIN' block to the file and records it")


@functools.cache
def settle_memory() -> None:
    """Once the engine is loaded (first status shown): move every object so far out of the GC's way.

    A full collection walks every object, Qt wrappers and the engine's modules included, and holds
    the GIL for ~0.1 s while a worker allocates: the window froze once per run. gc.freeze() leaves
    the start-up objects out of later collections (they live as long as the app anyway).
    """
    import gc

    gc.freeze()


@functools.cache
def _report_available() -> bool:
    # find_spec, not import: the report modules load jinja2, which the first window does not need.
    return importlib.util.find_spec("app.report.reporter") is not None


@functools.cache
def _compare_available() -> bool:
    return importlib.util.find_spec("app.report.compare") is not None
