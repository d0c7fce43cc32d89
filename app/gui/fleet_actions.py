"""The overview's checks and promotion: Check drift and Rehearse on the selection, Promote from one
environment to another (or a group), each in the background on the overview's own worker.

Drift is a throwaway server's replay per target (app.core.drift), so it is run on demand and its
column says `not checked` until then, and again once migrations ran there since. Rehearse is
app.core.rehearse through the same verdict path as `tidemark rehearse --group`
(app.core.verdicts). Promote reads the source's promotion point (app.core.promote), shows what
would run on each target (or why the source cannot be promoted from), then the same
confirmation as Run pending (app.core.protection.confirm_all), then runs with progress.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QPushButton

from app.core.fleet import Member, MemberResult, Outcome, TargetEvent
from app.core.progress import Phase
from app.core.protection import Action, Confirmation, requirement
from app.core.text import counted as count
from app.core.text import visible
from app.gui import fleet_tasks
from app.gui.theme import current

if TYPE_CHECKING:
    from app.gui.overview import OverviewWindow

KINDS = ("drift", "rehearse", "promote-plan", "promote")
NOT_CHECKED = "not checked"
VERB = {"drift": "drift", "rehearse": "rehearsal"}


class FleetActions(QObject):
    """Check drift, Rehearse and Promote on the overview; its results arrive through the overview's
    controller (kinds in KINDS) and are announced by its job_done signal like every other job."""

    parallel = 2  # throwaway servers at a time (each is a PostgreSQL of its own)

    def __init__(self, overview: OverviewWindow) -> None:
        super().__init__(overview)
        self.o = overview
        self.drift_button = QPushButton("Check dri&ft")
        self.drift_button.setToolTip("Replay each selected target's applied migrations on a throwaway server "
                                     "and compare the schemas (reads only)")
        self.drift_button.clicked.connect(self.check_drift)
        self.rehearse_button = QPushButton("Rehear&se selected")
        self.rehearse_button.setToolTip("Run each selected target's pending migrations and their rollbacks on a "
                                        "throwaway copy (nothing is written to the targets)")
        self.rehearse_button.clicked.connect(self.rehearse)
        self.promote_button = QPushButton("Pro&mote…")
        self.promote_button.setToolTip("Migrate another environment (or a group) up to the last migration applied "
                                       "on the selected one")
        self.promote_button.clicked.connect(self.promote)
        self.buttons = (self.drift_button, self.rehearse_button, self.promote_button)
        overview.controller.progress.connect(self._event)
        overview.controller.busy_changed.connect(self._update)
        overview.tree.itemSelectionChanged.connect(self._update)
        overview.job_done.connect(self._after)

    def build_menus(self) -> None:
        """The overview's actions (one per button) and its menu bar, arranged by app.gui.menus."""
        from app.gui.menus import build_overview_menus

        o = self.o
        o.act_dry = self._action("&Dry run on selected", o.dry_run_selected)
        o.act_run = self._action("Run &pending on selected…", o.run_selected)
        o.act_drift = self._action("Check dri&ft on selected", self.check_drift)
        o.act_rehearse = self._action("Rehear&se selected", self.rehearse)
        o.act_promote = self._action("Pro&mote selected to…", self.promote)
        o.act_cancel = self._action("&Cancel", o.controller.cancel)
        o.act_open = self._action("&Open in the main window", lambda: o._activated(o.tree.currentItem(), 0))
        o.act_refresh.setText("&Refresh")
        build_overview_menus(o)
        self._update()

    def _action(self, text: str, slot: Any) -> QAction:
        action = QAction(text, self.o)
        action.triggered.connect(slot)
        self.o.addAction(action)  # its shortcut works wherever the focus is in the overview
        return action

    def handles(self, kind: str) -> bool:
        """True for the jobs this module started."""
        return kind in KINDS

    # --- drift and rehearse -----------------------------------------------------------------------

    @Slot()
    def check_drift(self) -> None:
        """Does each selected target's schema agree with its applied files? (a throwaway server's replay each)"""
        self._check("drift")

    @Slot()
    def rehearse(self) -> None:
        """Rehearse each selected target's pending migrations and rollbacks on a throwaway copy."""
        self._check("rehearse")

    def _check(self, kind: str) -> None:
        from app.gui.overview import DRIFT, NOW

        members, _ = self.o.selected_members()
        if not members or self.o.controller.busy:
            return
        for m in members:
            if kind == "drift":
                self.o._set(m.name, DRIFT, "checking…", current().muted, "")
            self.o._set(m.name, NOW, "queued", current().text, "")
        parallel = self.parallel
        self.o.headline.setText(f"{VERB[kind].capitalize()} on {count(len(members), 'target')}, "
                                f"{parallel} at a time…")
        self.o.controller.start(kind, lambda progress, cancel: fleet_tasks.check_all(members, kind, progress, cancel,
                                                                                     parallel))

    @Slot(object)
    def _event(self, event: object) -> None:
        from app.gui.overview import NOW

        kind = self.o.controller.current_kind
        if kind in VERB and isinstance(event, TargetEvent) and event.phase is Phase.MESSAGE:
            text = visible(" ".join((event.message or "").split()))  # server and file text: controls shown
            self.o._set(event.target, NOW, f"{VERB[kind]}: {text[:90]}", None, text)

    def _show_checks(self, kind: str, result: Any) -> None:
        from app.gui.overview import DRIFT, NOW

        for r in result.members:
            if kind == "drift":
                text, colour, tip = drift_cell(r)
                self.o._set(r.name, DRIFT, text, colour, tip)
                self.o._set(r.name, NOW, "" if r.outcome in (Outcome.OK, Outcome.FAILED) else r.outcome.value,
                            current().text, r.error or "")
            else:
                text, colour, tip = rehearsal_cell(r)
                self.o._set(r.name, NOW, text, colour, tip)
        self.o.fit_columns()  # the verdicts are wider than "checking…"
        counts = ", ".join(f"{result.count(o)} {o.value}" for o in Outcome if result.count(o))
        verdicts = "passed" if kind == "rehearse" else "agree"
        self.o.headline.setText(f"{VERB[kind].capitalize()}: {result.count(Outcome.OK)} of {len(result.members)} "
                                f"{verdicts} ({counts})")

    # --- promote ----------------------------------------------------------------------------------

    def source(self) -> Member | None:
        """The one target Promote would follow: a single selected environment (of one target) or target."""
        from app.gui.overview import NAME, ROLE

        items = self.o.tree.selectedItems()
        if len(items) != 1:
            return None
        kind, name = items[0].data(NAME, ROLE)
        if kind == "env":
            ms = self.o.members.get(name, [])
            return ms[0] if len(ms) == 1 else None
        if kind == "member":
            return next((m for ms in self.o.members.values() for m in ms if m.name == name), None)
        return None

    def destinations(self, source: Member) -> list[tuple[str, list[Member]]]:
        """(label, its targets) for every other environment and every group, without the source."""
        from app.gui.overview import NO_GROUP

        out = []
        for s in self.o.sources:
            targets = [m for m in self.o.members.get(s.name, []) if m.name != source.name]
            if targets:
                out.append((s.name, targets))
        groups = sorted({g for s in self.o.sources for g in s.groups})
        for g in groups:
            envs = [s.name for s in self.o.sources if g in (s.groups or (NO_GROUP,))]
            targets = [m for e in envs for m in self.o.members.get(e, []) if m.name != source.name]
            if targets:
                out.append((f"group {g}", targets))
        return out

    @Slot()
    def promote(self) -> None:
        """Choose where to promote the selected environment to; then plan, confirm and run."""
        from app.gui.promote_dialog import PromoteDialog

        source = self.source()
        if source is None or self.o.controller.busy:
            return
        choices = self.destinations(source)
        dialog = PromoteDialog(source.name, [label for label, _ in choices], self.o)
        dialog.accepted.connect(lambda: self._plan(source, *choices[dialog.choice()]))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.o.asking.emit(dialog)

    def _plan(self, source: Member, label: str, targets: list[Member]) -> None:
        destination = label.removeprefix("group ")
        self.o.headline.setText(f"Promote from {source.name} to {label}: reading what would run…")
        self.o.controller.start("promote-plan", lambda progress, cancel: fleet_tasks.plan_promote(
            source, destination, targets))

    def _review(self, pp: fleet_tasks.PromotePlan) -> None:
        from app.gui.overview import FleetRunDialog
        from app.gui.promote_dialog import refused_dialog

        if pp.refused is not None or pp.plan is None:
            self.o.headline.setText(f"Promote from {pp.source}: refused")
            dialog = refused_dialog(pp, self.o)
        else:
            plan = pp.plan
            needs = {m.name: requirement(m.runner.target, Action.MIGRATE) for m in plan.members}
            dialog = FleetRunDialog(plan, needs, pp.destination, self.o, verb="Promote", preposition="to")
            runs = sum(1 for m in plan.members if plan.planned.get(m.name))
            dialog.setWindowTitle(f"Promote from {pp.source} to {pp.destination}: {runs} of "
                                  f"{count(len(plan.members), 'target')} to migrate")
            head = QLabel(f"Up to <b>{html.escape(pp.name or '')}</b>, the last migration applied on "
                          f"<b>{html.escape(pp.source)}</b>; each target gets only what it lacks up to there, with "
                          "its own protection.")
            head.setWordWrap(True)
            dialog.layout().insertWidget(0, head)
            dialog.accepted.connect(lambda: self._run(pp, dialog.confirmations()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.o.asking.emit(dialog)

    def _run(self, pp: fleet_tasks.PromotePlan, confs: dict[str, Confirmation]) -> None:
        from app.gui.overview import NOW

        plan = pp.plan
        assert plan is not None
        for m in plan.members:
            self.o._set(m.name, NOW, "queued" if plan.planned.get(m.name) else "nothing to promote")
        self._promoting = pp
        self.o.controller.start("promote", lambda progress, cancel: fleet_tasks.run_all(plan, confs, progress, cancel))

    # --- results ----------------------------------------------------------------------------------

    def finished(self, kind: str, payload: Any) -> None:
        """A job of ours ended well (the overview reports failures and cancels itself)."""
        if kind in VERB:
            self._show_checks(kind, payload)
        elif kind == "promote-plan":
            self._review(payload)
        elif kind == "promote":
            self.o._outcomes(payload, ran=True)
            pp = getattr(self, "_promoting", None)
            if pp is not None:
                self.o.headline.setText(f"Promote from {pp.source} to {pp.destination} (up to {pp.name}): "
                                        + self.o.headline.text().removeprefix("Run: "))

    @Slot(str, str, object)
    def _after(self, kind: str, outcome: str, payload: object) -> None:
        """A status read fills `not checked` where drift was never checked; a run makes drift stale there."""
        from app.gui.overview import DRIFT

        if outcome != "ok" or kind not in ("status", "run", "promote"):
            return
        for r in payload.members:  # type: ignore[attr-defined]
            item = self.o.rows.get(r.name)
            if kind == "status" and item is not None and not item.text(DRIFT):
                self.o._set(r.name, DRIFT, NOT_CHECKED, current().muted, "Check drift replays its migrations")
            elif kind != "status" and getattr(r.result, "applied", None):
                self.o._set(r.name, DRIFT, NOT_CHECKED, current().muted, "migrations ran since the last check")
        self.o.tree.resizeColumnToContents(DRIFT)  # filled after the status read's resize: "not checked" shown whole

    @Slot()
    def _update(self) -> None:
        o = self.o
        if not hasattr(o, "act_run"):
            return  # still building
        idle = not o.controller.busy
        chosen = idle and bool(o.tree.selectedItems()) and bool(o.members)
        for widget in (self.drift_button, self.rehearse_button, o.act_drift, o.act_rehearse):
            widget.setEnabled(chosen)
        can_promote = idle and self.source() is not None
        self.promote_button.setEnabled(can_promote)
        o.act_promote.setEnabled(can_promote)
        o.act_run.setEnabled(o.run_button.isEnabled())
        o.act_dry.setEnabled(o.dry_button.isEnabled())
        o.act_cancel.setEnabled(not idle)
        o.act_refresh.setEnabled(idle)


def drift_cell(r: MemberResult) -> tuple[str, str, str]:
    """The drift column of one target: agrees / differs (n) / error / not checked; colour and tooltip."""
    from app.core.drift import DriftResult

    t = current()
    res = r.result
    if r.outcome is Outcome.OK:
        return "agrees", t.ok, r.error or _drift_tip(res)
    if r.outcome is Outcome.FAILED and isinstance(res, DriftResult) and res.replay_error is None:
        return f"differs ({len(res.differences)})", t.error, _drift_tip(res)
    if r.outcome is Outcome.FAILED:
        return "error", t.error, visible(r.error or "the check failed")
    return NOT_CHECKED, t.muted, visible(f"{r.outcome.value}" + (f": {r.error}" if r.error else ""))


def _drift_tip(res: Any) -> str:
    from app.report.drift import drift_headline

    lines = [drift_headline(res)]
    lines += [f"{d.key}: {d.what}" for d in res.differences[:12]]
    if len(res.differences) > 12:
        lines.append(f"… and {len(res.differences) - 12} more (`tidemark drift --env NAME` lists them all)")
    return visible("\n".join(lines + res.notes))


def rehearsal_cell(r: MemberResult) -> tuple[str, str, str]:
    """The Now column after a rehearsal: its verdict, coloured; the rehearsal's lines as the tooltip."""
    from app.core.rehearse import RehearsalResult
    from app.report.rehearsal import rehearsal_headline, rehearsal_lines

    t = current()
    if isinstance(r.result, RehearsalResult):
        return (rehearsal_headline(r.result), t.ok if r.result.ok else t.error,
                visible("\n".join(rehearsal_lines(r.result))))
    error = visible(r.error or "")
    if r.outcome is Outcome.FAILED:
        return f"rehearsal failed: {error.splitlines()[0] if error else ''}", t.error, error
    return f"rehearsal {r.outcome.value}", t.muted, error
