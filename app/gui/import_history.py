"""Migrations ▸ Import history…: another tool's applied migrations recorded in ours, running nothing.

The app's side of `tidemark import-history`: the worker finds the other tools' histories in the
database (app.core.imports.guard, as `status` does) and plans the import of one; the dialog shows
what would be recorded (changed files called out) and asks what app.core.protection requires;
the runner imports inside its lock, where the rule is enforced.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.core.protection import Action, Confirmation, Requirement, confirm, requirement
from app.core.text import counted as count
from app.gui.maintenance_dialogs import Confirming

if TYPE_CHECKING:
    from app.core.imports import ImportResult
    from app.core.imports.guard import OtherHistory
    from app.core.progress import CancelToken
    from app.core.runner import MigrationRunner
    from app.gui.main_window import MainWindow


@dataclass(frozen=True)
class ImportReview:
    """The histories found, the one chosen, and what importing it would record (a dry run)."""

    runner: MigrationRunner
    found: list[OtherHistory]
    source: str | None
    plan: ImportResult | None


def review(runner: MigrationRunner, source: str | None) -> ImportReview:
    """On the worker: the other tools' histories in the database, and the dry run of importing one
    (`source`, or the first found that records something ours lacks)."""
    found = runner.get_migration_status().other_histories
    chosen = source or next((o.source for o in found if o.not_imported), None) or \
        (found[0].source if found else None)
    if chosen is None:
        return ImportReview(runner, found, None, None)
    return ImportReview(runner, found, chosen, runner.import_history(chosen, dry_run=True))


def run_import(runner: MigrationRunner, source: str, cancel: CancelToken, confirmed: Confirmation | None
               ) -> ImportResult:
    """On the worker: record what `source` applied in ours (the runner enforces protection in its lock)."""
    return runner.import_history(source, cancel=cancel, confirmed=confirmed)


class ImportDialog(Confirming):
    """What the import records, and the typed name on a protected environment."""

    def __init__(self, item: ImportReview, need: Requirement, *, target: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert item.plan is not None
        self.item = item
        plan = item.plan
        n = len(plan.imported)
        self.setWindowTitle(f"Import {plan.table} on {need.name}")
        self.resize(680, 520)
        lay = QVBoxLayout(self)
        if len(item.found) > 1:
            lay.addWidget(QLabel("Other tools' histories in this database (importing one at a time): "
                                 + ", ".join(f"{o.tool} ({o.table})" for o in item.found)))
        head = QLabel(f"<b>Record {count(n, 'migration')} as applied</b> on <b>{html.escape(need.name)}</b> "
                      f"({html.escape(target)}) from {html.escape(plan.table)}, <b>running none of them</b>. "
                      f"{html.escape(plan.table)} is read, never changed.")
        head.setWordWrap(True)
        lay.addWidget(head)
        lines = []
        for name in plan.imported:
            changed = " (CHANGED since that tool applied it: recorded as modified)" if name in plan.changed else ""
            lines.append(f"import: {name}{changed}")
        lines += [f"already in Tidemark's history: {name}" for name in plan.already]
        listing = QPlainTextEdit("\n".join(lines) or "nothing to import: every migration it applied is recorded")
        listing.setReadOnly(True)
        listing.setAccessibleName("Migrations the import records")
        lay.addWidget(listing, 1)
        if plan.changed:
            warn = QLabel(f"{count(len(plan.changed), 'file')} changed since applied: after the import they show as "
                          "modified; restore them, or accept them with Repair changed….")
            warn.setObjectName("irreversible")
            warn.setWordWrap(True)
            lay.addWidget(warn)
        self._finish(lay, need, f"&Import {n}")
        self.ok.setEnabled(self.ok.isEnabled() and n > 0)

    def _complete(self) -> bool:
        return bool(self.item.plan and self.item.plan.imported)

    def confirmation(self) -> Confirmation:
        """For the runner: this target, an import, these migrations."""
        assert self.item.plan is not None
        return confirm(self.need, typed=self.typed.text() if self.typed else None, planned=self.item.plan.imported)


def start_review(w: MainWindow, source: str | None = None) -> None:
    """Find the other histories and plan the import, on the worker."""
    w._start_on_runner("import-review", lambda runner: review(runner, source))


def reviewed(w: MainWindow, item: ImportReview) -> None:
    """The plan is back: nothing found, or the dialog."""
    if item.plan is None:
        w.progress.stop("no other tool's history here")
        w.log.add("import history: no other tool's history table in this database (looked for Flyway, dbmate, "
                  "goose, golang-migrate, Sqitch, Prisma, Diesel and the Supabase CLI)")
        return
    w.progress.stop(f"import: {count(len(item.plan.imported), 'migration')} to record")
    target = item.runner.target
    dialog = ImportDialog(item, requirement(target, Action.IMPORT), target=target.display(), parent=w)
    if len(item.found) > 1:
        picker = QComboBox()
        picker.setAccessibleName("History to import")
        for o in item.found:
            picker.addItem(f"{o.tool} ({o.table})", o.source)
        picker.setCurrentIndex(max(0, picker.findData(item.source)))
        picker.activated.connect(lambda i: (dialog.reject(), start_review(w, picker.itemData(i))))
        dialog.layout().insertWidget(0, picker)
    dialog.accepted.connect(lambda: started(w, item, dialog.confirmation()))
    w._open_confirmation(dialog)


def started(w: MainWindow, item: ImportReview, confirmed: Confirmation) -> None:
    source = item.source or ""
    w.log.add(f"import history from {source} on {w.source.name if w.source else ''}")
    w._start("import", lambda progress, cancel: run_import(item.runner, source, cancel, confirmed))


def done(w: MainWindow, result: Any) -> None:
    n = len(result.imported)
    w._finish_change(f"done: {count(n, 'migration')} from {result.table} recorded as applied, none ran"
                     + (f" (batch {result.batch_id})" if result.batch_id else ""))
