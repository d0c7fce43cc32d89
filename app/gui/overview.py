"""The overview of every environment: health and counts read concurrently, grouped by group;
Run pending on several at once, with one confirmation for the protected ones and a row per target.

Runs through app.core.fleet as `tidemark migrate --group` does; the confirmation is the
engine's (app.core.protection.confirm_all). All I/O is on the overview's own worker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.fleet import Member, Outcome, TargetEvent
from app.core.progress import Phase
from app.core.protection import Action, Confirmation, requirement
from app.core.text import counted as count
from app.gui import fleet_tasks
from app.gui.fleet_run_dialog import FleetRunDialog, headline
from app.gui.item_colours import paint_tree_cell
from app.gui.sizing import roomy_rows
from app.gui.sources import Source
from app.gui.table_fit import Elided, ElideMiddle, fit_columns
from app.gui.theme import current, state_colour
from app.gui.words import in_app
from app.gui.worker import TaskController

COLUMNS = ("Environment", "Health", "Applied", "Pending", "Last migration", "Last run", "Drift", "Now")
NAME, HEALTH, APPLIED, PENDING, LAST, WHEN, DRIFT, NOW = range(len(COLUMNS))
NO_GROUP = "(no group)"
ROLE = Qt.ItemDataRole.UserRole


class OverviewWindow(QDialog):
    """Every saved environment at a glance; a row opens it, a selection runs on all of it.

    Signals: open_environment(str), job_done(str, str, object) (kind, outcome, payload).
    """

    open_environment = Signal(str)
    job_done = Signal(str, str, object)
    asking = Signal(object)

    def __init__(self, sources: list[Source], options: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Overview of all environments")
        self.resize(1000, 560)
        self.sources = [s for s in sources if s.kind == "environment"]
        self.options = options
        self.members: dict[str, list[Member]] = {}
        self.rows: dict[str, QTreeWidgetItem] = {}  # name -> its row (the first, for one in several groups)
        self.copies: dict[str, list[QTreeWidgetItem]] = {}  # its rows in the other groups
        self.controller = TaskController(self)
        self.controller.finished.connect(self._finished)
        self.controller.progress.connect(self._event)
        self.controller.busy_changed.connect(self._update)
        lay = QVBoxLayout(self)
        self.headline = QLabel("")
        self.headline.setWordWrap(True)
        lay.addWidget(self.headline)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.setAccessibleName("Environments")
        roomy_rows(self.tree)  # the default rows are cramped for a table read across eight columns
        # Every column as wide as its cells; "Last migration" (a long file name) gives way, cut in its
        # middle so its version and end stay, whole in its tooltip: at 1000 px Drift was cut to "not chec".
        self.tree.setItemDelegateForColumn(LAST, ElideMiddle(self.tree))
        self.tree.setItemDelegateForColumn(NOW, Elided(self.tree))
        hh = self.tree.header()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(LAST, QHeaderView.ResizeMode.Stretch)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemSelectionChanged.connect(self._update)
        lay.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.run_button = QPushButton("Run &pending on selected…")
        self.run_button.clicked.connect(self.run_selected)
        self.dry_button = QPushButton("&Dry run on selected")
        self.dry_button.clicked.connect(self.dry_run_selected)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.clicked.connect(self.controller.cancel)
        self.open_button = QPushButton("&Open")
        self.open_button.clicked.connect(lambda: self._activated(self.tree.currentItem(), 0))
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        from app.gui.fleet_actions import FleetActions

        self.fleet_actions = FleetActions(self)  # Rehearse, Check drift, Promote; the menu bar (app/gui/menus.py)
        for b in (self.refresh_button, self.dry_button, self.run_button, *self.fleet_actions.buttons,
                  self.cancel_button, self.open_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        refresh = QAction(self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.triggered.connect(self.refresh)
        self.act_refresh = refresh
        self.fleet_actions.build_menus()
        self._fill()
        self._update()

    # --- rows ---------------------------------------------------------------------------------

    def _fill(self) -> None:
        self.tree.clear()
        self.rows.clear()
        self.copies.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for s in self.sources:
            for g in s.groups or (NO_GROUP,):
                parent = groups.get(g)
                if parent is None:
                    parent = groups[g] = QTreeWidgetItem(self.tree, [g])
                    parent.setData(NAME, ROLE, ("group", g))
                    parent.setExpanded(True)
                item = QTreeWidgetItem(parent, [s.name + ("  (protected)" if s.protected else "")])
                item.setData(NAME, ROLE, ("env", s.name))
                item.setText(NOW, "")
                if s.name in self.rows:
                    self.copies.setdefault(s.name, []).append(item)
                else:
                    self.rows[s.name] = item
        n = len(self.sources)
        self.headline.setText(count(n, "environment")
                              + (f" in {count(len(groups), 'group')}" if groups else "")
                              + ". Double-click one to open it; select several (or a group) to run on all.")
        self.fit_columns()

    def fit_columns(self) -> None:
        """Each column as wide as its widest cell and title ("Now" at most a third); "Last migration"
        stretches into what is left and cuts its names in the middle (whole in their tooltips)."""
        fit_columns(self.tree, [c for c in range(len(COLUMNS)) if c != LAST], self.tree.viewport().width(),
                    {NOW: 0.3})

    def _row(self, name: str) -> QTreeWidgetItem | None:
        if name in self.rows:
            return self.rows[name]
        env = name.split("/", 1)[0]  # ENV/DBNAME: a database of an environment with a pattern
        parent = self.rows.get(env)
        if parent is None:
            return None
        item = QTreeWidgetItem(parent, [name.split("/", 1)[1] if "/" in name else name])
        item.setData(NAME, ROLE, ("member", name))
        parent.setExpanded(True)
        self.rows[name] = item
        return item

    def _set(self, name: str, column: int, text: str, colour: str | None = None, tip: str | None = None) -> None:
        """Set a cell on every row of `name` (two groups: two rows), in the app's words (words.in_app)."""
        first = self._row(name)
        for item in ([first] if first else []) + self.copies.get(name, []):
            item.setText(column, in_app(text))
            if column in (LAST, NOW) and tip is None:  # the columns that cut their text: whole in the tooltip
                item.setToolTip(column, in_app(text))
            if column in (APPLIED, PENDING):  # counts, read down the column: right-aligned
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if colour:
                paint_tree_cell(item, column, colour)  # repainted at a theme switch (item_colours)
            if tip is not None:
                item.setToolTip(column, in_app(tip))

    def _show_status(self, name: str, status: Any) -> None:
        self._set(name, HEALTH, status.health.value, state_colour(status.health.value))
        self._set(name, APPLIED, str(len(status.applied)))
        self._set(name, PENDING, str(len(status.pending)))
        applied = [m for m in status.applied if m.executed_at is not None]
        last = max(applied, key=lambda m: m.executed_at, default=None)
        self._set(name, LAST, last.name if last else "")
        self._set(name, WHEN, last.executed_at.strftime("%Y-%m-%d %H:%M") if last else "")

    # --- jobs ---------------------------------------------------------------------------------

    @Slot()
    def refresh(self, *, keep_now: bool = False) -> None:
        """Resolve every environment, then read every status concurrently (`keep_now`: a run's outcomes stay)."""
        if self.controller.busy:
            return
        sources, options = list(self.sources), self.options
        self._keep_now = keep_now
        if not keep_now:
            for item in self.rows.values():
                item.setText(NOW, "reading…")
        self.controller.start("expand", lambda progress, cancel: fleet_tasks.expand(sources, options))

    def selected_members(self) -> tuple[list[Member], str]:
        """The members under the selected rows, and the name the confirmation asks for."""
        chosen: list[str] = []
        labels: list[str] = []
        for item in self.tree.selectedItems():
            kind, name = item.data(NAME, ROLE)
            labels.append(name)
            if kind == "group":
                envs = [s.name for s in self.sources if name in (s.groups or (NO_GROUP,))]
                chosen += [m.name for e in envs for m in self.members.get(e, [])]
            elif kind == "env":
                chosen += [m.name for m in self.members.get(name, [])]
            else:
                chosen.append(name)
        by_name = {m.name: m for ms in self.members.values() for m in ms}
        return [by_name[n] for n in dict.fromkeys(chosen) if n in by_name], ",".join(dict.fromkeys(labels))

    @Slot()
    def run_selected(self) -> None:
        """Plan Run pending on every selected target (a dry run on each), then ask."""
        members, self._fleet_name = self.selected_members()
        if not members or self.controller.busy:
            return
        self.controller.start("plan", lambda progress, cancel: fleet_tasks.plan_run(members))

    @Slot()
    def dry_run_selected(self) -> None:
        """What Run pending would do on every selected target; changes nothing."""
        members, self._fleet_name = self.selected_members()
        if not members or self.controller.busy:
            return
        self.controller.start("dryplan", lambda progress, cancel: fleet_tasks.plan_run(members))

    def _confirm(self, plan: fleet_tasks.FleetPlan) -> None:
        needs = {m.name: requirement(m.runner.target, Action.MIGRATE) for m in plan.members}
        dialog = FleetRunDialog(plan, needs, self._fleet_name, self)
        dialog.accepted.connect(lambda: self._start_run(plan, dialog.confirmations()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.asking.emit(dialog)

    def _start_run(self, plan: fleet_tasks.FleetPlan, confs: dict[str, Confirmation]) -> None:
        for m in plan.members:
            self._set(m.name, NOW, "queued" if plan.planned.get(m.name) else "nothing to run")
        self.controller.start("run", lambda progress, cancel: fleet_tasks.run_all(plan, confs, progress, cancel))

    @Slot(object)
    def _event(self, event: object) -> None:
        if not isinstance(event, TargetEvent):
            return
        name = event.target
        if event.payload is not None and hasattr(event.payload, "health"):
            self._show_status(name, event.payload)
            if not getattr(self, "_keep_now", False):
                self._set(name, NOW, "")
        elif event.phase is Phase.MIGRATION_START:
            self._set(name, NOW, f"running {event.index}/{event.total} {event.migration}")
        elif event.phase is Phase.MIGRATION_DONE:
            self._set(name, NOW, f"applied {event.index}/{event.total}")

    @Slot(str, str, object)
    def _finished(self, kind: str, outcome: str, payload: object) -> None:
        if outcome == "ok" and kind == "expand":
            assert isinstance(payload, fleet_tasks.Expanded)
            self.members = payload.members
            for name, problem in payload.problems.items():
                self._set(name, NOW, f"cannot resolve: {problem}", current().error, problem)
            for ms in self.members.values():
                for m in ms:
                    self._row(m.name)
            expanded = payload
            self.controller.start("status", lambda progress, cancel: fleet_tasks.statuses(expanded, progress, cancel))
        elif outcome == "ok" and kind == "status" and not getattr(self, "_keep_now", False):
            self._outcomes(payload)
            self.fit_columns()
        elif outcome == "ok" and kind == "dryplan":
            needs = {m.name: requirement(m.runner.target, Action.MIGRATE) for m in payload.members}  # type: ignore[attr-defined]
            dialog = FleetRunDialog(payload, needs, self._fleet_name, self, review_only=True)  # type: ignore[arg-type]
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.open()
            self.asking.emit(dialog)
        elif outcome == "ok" and kind == "plan":
            self._confirm(payload)  # type: ignore[arg-type]
        elif outcome == "ok" and kind == "run":
            self._outcomes(payload, ran=True)
            self.fit_columns()
        elif outcome == "ok" and self.fleet_actions.handles(kind):
            self.fleet_actions.finished(kind, payload)
        elif outcome != "ok":
            self.headline.setText(in_app(f"{kind}: {outcome}: {payload}"))
        self.job_done.emit(kind, outcome, payload)
        if kind in ("run", "promote"):
            self.refresh(keep_now=True)

    def _outcomes(self, result: Any, *, ran: bool = False) -> None:
        for r in result.members:
            if r.outcome is Outcome.OK:
                self._set(r.name, NOW, f"done: {len(r.result.applied)} applied" if ran else "")
            else:
                self._set(r.name, NOW, f"{r.outcome.value}" + (f": {r.error.splitlines()[0]}" if r.error else ""),
                          current().error, r.error or "")
        self.headline.setText(headline(result, ran=ran))

    @Slot()
    def _update(self) -> None:
        busy = self.controller.busy
        self.refresh_button.setEnabled(not busy)
        self.run_button.setEnabled(not busy and bool(self.tree.selectedItems()) and bool(self.members))
        self.dry_button.setEnabled(self.run_button.isEnabled())
        self.cancel_button.setEnabled(busy)
        current = self.tree.currentItem()
        self.open_button.setEnabled(current is not None and current.data(NAME, ROLE)[0] == "env")

    @Slot(QTreeWidgetItem, int)
    def _activated(self, item: QTreeWidgetItem | None, _column: int) -> None:
        if item is None:
            return
        kind, name = item.data(NAME, ROLE)
        if kind in ("env", "member"):
            self.open_environment.emit(name.split("/", 1)[0])

    def showEvent(self, event: Any) -> None:
        """Fitted to the width the window opens at (the rows were filled before it had one)."""
        super().showEvent(event)
        self.fit_columns()

    def closeEvent(self, event: Any) -> None:
        """Cancel what runs and wait for it (a few seconds at most)."""
        self.controller.shutdown()
        super().closeEvent(event)
