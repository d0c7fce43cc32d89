"""Run pending on several targets: what would run on each, and the one confirmation for them all;
and the overview's headline (what a fleet status or run found, in one line)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from app.core.fleet import Outcome
from app.core.protection import Confirmation, Requirement, confirm_all
from app.core.text import counted as count
from app.core.text import visible
from app.gui import fleet_tasks
from app.gui.confirm_widgets import TypedName, default_on_match
from app.gui.emphasis import bold_while_enabled
from app.gui.theme import current
from app.gui.words import in_app


class FleetRunDialog(QDialog):
    """What Run pending would do on each target; the fleet's name typed once when any is protected.

    `verb` and `preposition` word the button ("Run on 3 targets", "Promote to 2 targets"). With nothing
    to run the button is disabled and the dialog says why ("Nothing to run: …"), never "Run on 0"."""

    def __init__(self, plan: fleet_tasks.FleetPlan, needs: dict[str, Requirement], fleet_name: str,
                 parent: QWidget | None = None, *, review_only: bool = False,
                 verb: str = "Run", preposition: str = "on") -> None:
        super().__init__(parent)
        self.plan, self.needs, self.fleet_name = plan, needs, fleet_name
        runs = [m for m in plan.members if plan.planned.get(m.name)]
        protected = [m for m in runs if needs[m.name].protected]
        self.setWindowTitle(in_app(f"Run pending on {len(runs)} of {count(len(plan.members), 'target')}"))
        self.resize(720, 520)
        lay = QVBoxLayout(self)
        rows = []
        for m in plan.members:
            names = plan.planned.get(m.name)
            if m.name in plan.problems:
                what = f"<span style='color:{current().error}'>cannot plan: {said(plan.problems[m.name])}</span>"
            elif not names:
                what = "nothing to run"
            else:
                what = f"{count(len(names), 'migration')}: " + said(", ".join(names[:6]) + (" …" if len(names) > 6
                                                                                           else ""))
            mark = " <b>(protected: backed up first)</b>" if needs[m.name].protected and names else ""
            rows.append(f"<li><b>{said(m.name)}</b>{mark}: {what}</li>")
        view = QTextBrowser()
        view.setAccessibleName("What will run on each target")
        view.setHtml("<p>" + said("Each target is locked, run and recorded on its own; after a failure no new "
                                  "target starts and those running stop before their next migration.")
                     + "</p><ul>" + "".join(rows) + "</ul>")
        lay.addWidget(view, 1)
        self.reason = QLabel(said(nothing_to_run(plan, verb)) if not runs else "")  # why the button is disabled
        self.reason.setWordWrap(True)
        self.reason.setVisible(not runs and not review_only)
        lay.addWidget(self.reason)
        self.typed: TypedName | None = None
        buttons = QDialogButtonBox()
        label = f"&{verb} {preposition} {count(len(runs), 'target')}" if runs else f"&{verb}"
        self.ok = buttons.addButton(label, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("dangerButton" if protected else "primaryButton")
        if protected:
            bold_while_enabled(self.ok)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        # In the dialog before any button is made the default: one made so outside it is not the dialog's,
        # and showing the dialog made the first button (a disabled Run) the default for Enter instead.
        lay.addWidget(buttons)
        if review_only:  # a dry run: what would run, nothing to confirm
            would = f"{len(runs)} would run" if runs else "nothing would run"
            self.setWindowTitle(f"Dry run on {count(len(plan.members), 'target')}: {would}")
            self.ok.hide()
            self.cancel_button.setText("Close")
            self.cancel_button.setDefault(True)
        elif protected:
            # The fleet's name stands for every protected target's (protection.confirm_all checks it).
            self.typed = TypedName(name=fleet_name, prompt=(
                f"<b>{len(protected)} protected:</b> {said(', '.join(m.name for m in protected))}. "
                f"Type <b>{said(fleet_name)}</b> to {verb.lower()} {preposition} all {len(runs)}:"))
            self.typed.matched.connect(lambda matched: default_on_match(self.ok, self.cancel_button, matched))
            lay.insertWidget(lay.indexOf(buttons), self.typed)
            default_on_match(self.ok, self.cancel_button, False)
            self.typed.field.setFocus()
        else:
            self.ok.setEnabled(bool(runs))
            self.ok.setDefault(bool(runs))
            if not runs:
                self.ok.setToolTip(self.reason.text())
                self.cancel_button.setDefault(True)

    def accept(self) -> None:
        """Accept only when confirmed."""
        if self.ok.isEnabled():
            super().accept()

    def confirmations(self) -> dict[str, Confirmation]:
        """One confirmation per target, from the one typed name (the engine checks each inside its lock)."""
        runs = [m for m in self.plan.members if self.plan.planned.get(m.name)]
        needs = [self.needs[m.name] for m in runs]
        planned = {self.needs[m.name].target_key: self.plan.planned[m.name] for m in runs}
        return confirm_all(needs, fleet_name=self.fleet_name, typed=self.typed.text() if self.typed else None,
                           planned=planned)


def said(text: str) -> str:
    """Text for the dialog's rich text: in the app's words (words.in_app), controls shown, escaped."""
    return html.escape(visible(in_app(text)))


def nothing_to_run(plan: fleet_tasks.FleetPlan, verb: str = "Run") -> str:
    """Why the Run (or Promote) button is disabled: every target up to date, or which could not be planned."""
    head = f"Nothing to {verb.lower()}:"
    stuck = [m.name for m in plan.members if m.name in plan.problems]
    if not stuck:
        return f"{head} {_every(len(plan.members))} up to date (no pending migrations)."
    if len(stuck) == len(plan.members):
        where = "the reason is beside it above" if len(stuck) == 1 else "the reasons are beside them above"
        who = "the target could not" if len(stuck) == 1 else f"none of the {len(stuck)} targets could"
        return f"{head} {who} be planned ({where})."
    return (f"{head} {count(len(stuck), 'target')} could not be planned ({', '.join(stuck)}, the reason "
            "beside each above), and the others have no pending migrations.")


def _every(n: int) -> str:
    return "the target is" if n == 1 else f"all {n} targets are"


def headline(result: Any, *, ran: bool) -> str:
    """What a fleet status or run found, in one line: a status says the targets' health, not that each
    read went "ok" (an environment in error was read fine, and is not fine)."""
    total = len(result.members)
    if ran:
        counts = ", ".join(f"{result.count(o)} {o.value}" for o in Outcome if result.count(o))
        return f"Run: {counts} (of {count(total, 'target')})"
    levels: dict[str, int] = {}
    for r in result.members:
        if r.outcome is Outcome.OK and hasattr(r.result, "health"):
            levels[r.result.health.value] = levels.get(r.result.health.value, 0) + 1
    # "4 in error", not "4 error": a health word is an adjective only for "healthy"
    parts = [f"{levels[h]} {words}" for h, words in HEALTH_WORDS if h in levels]
    parts += [f"{result.count(o)} {o.value}" for o in Outcome if o is not Outcome.OK and result.count(o)]
    read = sum(levels.values())
    return f"Status: {', '.join(parts) or 'nothing read'} ({read} of {count(total, 'target')} read)"


HEALTH_WORDS = (("error", "in error"), ("warning", "with warnings"), ("healthy", "healthy"))

