"""Run pending on several targets: what would run on each, and the one confirmation for them all;
and the overview's headline (what a fleet status or run found, in one line)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from app.core.fleet import Outcome
from app.core.protection import Confirmation, Requirement, confirm_all
from app.core.text import counted as count
from app.gui import fleet_tasks
from app.gui.confirm_widgets import TypedName, default_on_match
from app.gui.emphasis import bold_while_enabled
from app.gui.theme import current


class FleetRunDialog(QDialog):
    """What Run pending would do on each target; the fleet's name typed once when any is protected."""

    def __init__(self, plan: fleet_tasks.FleetPlan, needs: dict[str, Requirement], fleet_name: str,
                 parent: QWidget | None = None, *, review_only: bool = False) -> None:
        super().__init__(parent)
        self.plan, self.needs, self.fleet_name = plan, needs, fleet_name
        runs = [m for m in plan.members if plan.planned.get(m.name)]
        protected = [m for m in runs if needs[m.name].protected]
        self.setWindowTitle(f"Run pending on {len(runs)} of {count(len(plan.members), 'target')}")
        self.resize(720, 520)
        lay = QVBoxLayout(self)
        rows = []
        for m in plan.members:
            names = plan.planned.get(m.name)
            if m.name in plan.problems:
                what = f"<span style='color:{current().error}'>cannot plan: {html.escape(plan.problems[m.name])}</span>"
            elif not names:
                what = "nothing to run"
            else:
                what = f"{len(names)}: " + html.escape(", ".join(names[:6]) + (" …" if len(names) > 6 else ""))
            mark = " <b>(protected: backed up first)</b>" if needs[m.name].protected and names else ""
            rows.append(f"<li><b>{html.escape(m.name)}</b>{mark}: {what}</li>")
        view = QTextBrowser()
        view.setAccessibleName("What will run on each target")
        view.setHtml("<p>Each target is locked, run and recorded on its own; after a failure no new target "
                     "starts and those running stop before their next migration.</p><ul>" + "".join(rows) + "</ul>")
        lay.addWidget(view, 1)
        self.typed: TypedName | None = None
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton(f"&Run on {len(runs)}", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("dangerButton" if protected else "primaryButton")
        if protected:
            bold_while_enabled(self.ok)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        if review_only:  # a dry run: what would run, nothing to confirm
            self.setWindowTitle(f"Dry run on {count(len(plan.members), 'target')}: {len(runs)} would run")
            self.ok.hide()
            self.cancel_button.setText("Close")
            self.cancel_button.setDefault(True)
        elif protected:
            # The fleet's name stands for every protected target's (protection.confirm_all checks it).
            self.typed = TypedName(name=fleet_name, prompt=(
                f"<b>{len(protected)} protected:</b> {html.escape(', '.join(m.name for m in protected))}. "
                f"Type <b>{html.escape(fleet_name)}</b> to run on all {len(runs)}:"))
            self.typed.matched.connect(lambda matched: default_on_match(self.ok, self.cancel_button, matched))
            lay.addWidget(self.typed)
            default_on_match(self.ok, self.cancel_button, False)
            self.typed.field.setFocus()
        else:
            self.ok.setEnabled(bool(runs))
            self.ok.setDefault(bool(runs))
        lay.addWidget(buttons)

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

