"""The main window: environment bar, overview cards, migration list, details, progress and log."""

from __future__ import annotations

import functools
import html
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TidemarkError
from app.core.status import MigrationInfo
from app.core.text import counted as count
from app.gui import sources as src
from app.gui import theme
from app.gui.actions import build_actions, update_actions
from app.gui.cards import OverviewCards
from app.gui.charts import ChartsPanel
from app.gui.context_menus import ListCommands
from app.gui.details import DetailsTabs
from app.gui.error_panel import ErrorPanel
from app.gui.find_bar import Findable
from app.gui.jobs import MUTATING_KINDS, verb
from app.gui.migration_view import MigrationList
from app.gui.progress_panel import LogPanel, ProgressPanel
from app.gui.repeatable_list import RepeatableList
from app.gui.settings import read_str, recall_dsn
from app.gui.sizing import ScrollContent, never_widens
from app.gui.window_actions import WindowActions
from app.gui.window_fleet import WindowFleet
from app.gui.window_results import WindowResults
from app.gui.window_sources import WindowSources
from app.gui.worker import TaskController


class MainWindow(WindowActions, WindowResults, WindowFleet, WindowSources, ListCommands, QMainWindow):
    """Tidemark's window. Signals: snapshot_shown(Snapshot), job_done(kind, outcome, payload)."""

    snapshot_shown = Signal(object)
    job_done = Signal(str, str, object)
    asking = Signal(object)  # a confirmation dialog opened (run or rollback)

    def __init__(self, settings: QSettings, sources: list[src.Source] | None = None, *,
                 initial: src.Source | None = None, options: Any = None, auto_refresh: bool = True,
                 theme_choice: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        # View ▸ Theme's choice in force: the command line's --theme for this run, else the remembered one
        self.theme_choice = theme_choice or read_str(settings, "view/theme", "system")
        self.options = options
        self.source: src.Source | None = None
        self.snapshot: Any = None
        self.last_result: Any = None
        self.last_error: Any = None
        self._sources: list[src.Source] = []
        self.controller = TaskController(self)
        self.controller.busy_changed.connect(self._busy_changed)
        self.controller.finished.connect(self._job_finished)
        self.setWindowTitle("Tidemark")
        self.resize(1280, 820)
        self._build()
        self.controller.progress.connect(self.progress.on_event)
        self.controller.progress.connect(self._on_progress)
        self.controller.log_line.connect(self.log.add)
        from app.gui.theme_switch import follow_system

        follow_system(self)
        problem = None
        if sources is None:
            sources, problem = src.list_sources()
            self.watch_environments()
        opened = [s for s in sources if s.kind == "dsn"]
        recalled = recall_dsn(settings)
        if recalled:  # the last database opened by DSN (the "recent" entry)
            dsn, folder, name, protected = recalled
            try:
                opened.insert(0, src.dsn_source(dsn, folder, name=name or None, protected=protected))
            except TidemarkError:
                pass  # a remembered DSN that no longer parses is simply dropped
        saved = [s for s in sources if s.kind != "dsn"]
        if initial is not None:  # the command line's choice: after the recalled one, so it wins its name
            (opened if initial.kind == "dsn" else saved).append(initial)
        self._sources, notes = src.merged(saved, opened)
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
        self.list.restore_view(settings)
        for line in ([problem] if problem else []) + notes:
            self.log.add(line)
        chosen = initial or self._find(read_str(settings, "window/source")) or (
            self._sources[0] if self._sources else None)
        self.set_source(chosen, refresh=False)
        if auto_refresh and chosen is not None:
            QTimer.singleShot(0, self.refresh)  # after the window shows: it never waits on a connection

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        build_actions(self)

        central = ScrollContent()  # scrolls only when the content cannot fit, not when it could be taller
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 4, 8, 4)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setWordWrap(True)
        never_widens(self.banner)  # a long folder path or database name must not widen the window
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
        # The list's seven columns need ~700 pixels to be read whole (names cut in their middle); the SQL
        # side keeps the rest, still room for ~65 characters of a line, and the split is remembered.
        top.setStretchFactor(0, 11)
        top.setStretchFactor(1, 9)
        top.setSizes([550, 450])
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
        # In a scroll area: a window made small (or an error panel opening on a small screen) scrolls,
        # it never grows the window past the size the user chose.
        holder = QScrollArea()
        holder.setObjectName("centralScroll")
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setWidgetResizable(True)
        holder.setWidget(central)
        self.setCentralWidget(holder)
        from app.gui.menus import build_menus

        build_menus(self)
        from app.gui.context_menus import install_list_menu

        install_list_menu(self)
        self.statusBar().showMessage("Ready")
        self._update_actions()

    # --- environments ------------------------------------------------------------------------------

    def set_source(self, source: src.Source | None, *, refresh: bool = True) -> None:
        """Switch to an environment and read its status in the background."""
        if self.controller.current_kind in MUTATING_KINDS:
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

    def _start(self, kind: str, job: Any, *, quiet: bool = False) -> int | None:
        """Start a job; `quiet`: the progress area keeps saying what the last one did (one status line)."""
        if self.controller.closed:
            return None  # the window is closing: a late timer must not start work
        if kind != "status":  # the refresh after a failed run must not hide its error
            self.error_panel.hide()
        self._quiet_status = quiet and kind == "status"
        if not quiet:
            self.progress.start(verb(kind) + "…")
        return self.controller.start(kind, job)

    def _start_on_runner(self, kind: str, use: Any) -> int | None:
        """Start `use(runner)` on the worker, the runner made there for the open source; not while busy."""
        if self.source is None or self.controller.busy:
            return None
        made, options = self.source, self.options
        return self._start(kind, lambda progress, cancel: use(made.make_runner(options)))

    @Slot()
    def refresh(self, quiet: bool = False) -> None:
        """Read status (never while a run or rollback works)."""
        if self.source is None or self.controller.current_kind in MUTATING_KINDS or self.controller.closed:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._start("status", lambda progress, cancel: tasks.load_snapshot(source.make_runner(options), cancel),
                    quiet=quiet)

    @Slot()
    def refresh_after(self) -> None:
        """The refresh after a job: the list and cards follow, the outcome ("done: …", "failed: …") stays."""
        self.refresh(quiet=True)

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
        update_actions(self)

    @Slot(object)
    def _selected(self, m: MigrationInfo | None) -> None:
        stored = self.snapshot.stored.get(m.version) if (m is not None and self.snapshot is not None) else None
        self.details.show_migration(m, stored)
        self._update_actions()

    @Slot(object)
    def _on_progress(self, event: Any) -> None:
        from app.core.progress import Phase

        if event.phase not in (Phase.MIGRATION_START, Phase.MIGRATION_DONE) or not event.migration:
            return
        version = self.list.model.version_of(event.migration) or event.migration[:14]
        previous = getattr(self, "_running_version", None)
        if previous and previous != version:  # still "running": its end was not reported
            self.list.model.set_overlay(previous, None)
        if event.phase is Phase.MIGRATION_START:
            self._running_version = version
            self.list.model.set_overlay(version, "rolling back" if event.message == "rollback" else "running")
        else:  # committed with its history row: the row and the cards say so now, not at the refresh after the run
            self._running_version = None
            after = "pending" if event.message == "rolled back" else "applied"
            row = self.list.model.info(version)
            if row is not None:
                self.cards.moved(version, row.state.value, after)
            self.list.model.set_overlay(version, after)

    @Slot(str, str, object)
    def _job_finished(self, kind: str, outcome: str, payload: object) -> None:
        self._running_version = None
        if outcome == "ok":
            self._ok(kind, payload)
        elif outcome == "failed":
            self._failed(kind, payload)
        else:
            self.progress.stop("cancelled")
            if kind in MUTATING_KINDS:
                QTimer.singleShot(0, self.refresh_after)
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
        if self.controller.current_kind in MUTATING_KINDS and not self.confirm_quit_during_run():
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/side_splitter", self.top_splitter.saveState())
        self.list.save_view(self.settings)
        self.settings.sync()
        self.controller.shutdown(5000)
        self.details.shutdown()
        src.stop_sandbox_if_started()
        event.accept()


@functools.cache
def settle_memory() -> None:
    """Once the engine is loaded (first status shown): move every object so far out of the GC's way.

    A full collection walks every object, Qt wrappers and the engine's modules included, and holds
    the GIL for ~0.1 s while a worker allocates: the window froze once per run. gc.freeze() leaves
    the start-up objects out of later collections (they live as long as the app anyway).
    """
    import gc

    gc.freeze()
