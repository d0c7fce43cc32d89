"""What the main window does with a job's result: show it, or ask before the change it plans.

A mixin of MainWindow (kept apart so each module holds one idea). The confirmations ask what
app.core.protection's rule requires, for the target as the worker resolved it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from app.core.errors import ManualRollback
from app.core.text import counted as count
from app.gui import sources as src
from app.gui import theme
from app.gui.crash import BugReport
from app.gui.jobs import JOBS, MUTATING_KINDS
from app.gui.jobs import heading as job_heading
from app.gui.words import in_app

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow as _Window
else:
    _Window = object


class WindowResults(_Window):
    """Job outcomes of the main window (needs MainWindow's widgets and controller)."""

    def _ok(self, kind: str, payload: Any) -> None:
        """Show a finished job's result: the method its kind names in app.gui.jobs."""
        self.last_result = payload
        job = JOBS.get(kind)
        if job is not None:
            getattr(self, job.shown)(payload)

    def _shown_status(self, payload: Any) -> None:
        if not getattr(self, "_quiet_status", False):  # after a change, its outcome stays the status line
            self.progress.stop("up to date" if not payload.status.has_work else "ready")
        self._show_snapshot(payload)

    def _shown_run(self, payload: Any) -> None:
        from app.gui.migration_model import format_ms

        n = len(payload.applied)
        text = f"done: {count(n, 'migration')} applied in {format_ms(payload.total_ms)}"
        if not n:
            text = "done: nothing to run, the database is up to date"
        for w in payload.warnings:
            self.log.add(f"warning: {w}")
        self._finish_change(text)

    def _shown_rollback(self, payload: Any) -> None:
        from app.gui.migration_model import format_ms

        n = len(payload.rolled_back)
        self._finish_change(f"done: {count(n, 'migration')} rolled back in "
                            f"{format_ms(payload.total_ms)}")

    def _shown_dryrun(self, payload: Any) -> None:
        from app.gui.dialogs import DryRunDialog

        self.progress.stop(f"dry run: {len(payload.planned)} would run")
        self._show_dialog(DryRunDialog(payload, self.source.name if self.source else "", self))

    def _shown_plan(self, payload: Any) -> None:
        from app.core.custom_rollback import BlockPlan

        if isinstance(payload.plan, BlockPlan):
            self._offer_rollback_block(payload)
        else:
            self.progress.stop(f"rollback planned: {count(len(payload.plan.planned), 'migration')}")
            self._confirm_rollback(payload)

    def _shown_rollback_block(self, payload: Any) -> None:
        self._finish_change(f"done: the rollback SQL of {payload.repaired[0] if payload.repaired else '?'} is "
                            f"in its file and recorded ({payload.reason}); roll back again to use it")

    def _shown_lint(self, payload: Any) -> None:
        from app.gui.lint_view import LintDialog

        self.progress.stop(f"lint: {count(len(payload.errors), 'error')}, {count(len(payload.warnings), 'warning')}")
        self._show_dialog(LintDialog(payload, self.source.name if self.source else "", self.show_line, self))

    def _shown_new(self, payload: Any) -> None:
        first = payload.paths[0]
        written = ", ".join(str(p) for p in payload.paths)
        self.progress.stop(f"wrote {first.name}")
        self.log.add(f"new migration ({payload.layout}): {written}")
        self._select_name_after_refresh = {first.name, first.parent.name}
        QTimer.singleShot(0, self.refresh_after)
        self._offer_editor(first)

    def _shown_save_password(self, payload: Any) -> None:
        self.progress.stop("password stored in the OS keyring")
        self.log.add("password stored in the OS keyring")
        QTimer.singleShot(0, self.refresh_after)

    def _shown_import_review(self, payload: Any) -> None:
        from app.gui import import_history

        import_history.reviewed(self, payload)

    def _shown_import(self, payload: Any) -> None:
        from app.gui import import_history

        import_history.done(self, payload)

    def _shown_supabase_status(self, payload: Any) -> None:
        from app.gui import supabase_dialog

        supabase_dialog.shown_status(self, payload)

    def _shown_shim_review(self, payload: Any) -> None:
        from app.gui import supabase_dialog

        supabase_dialog.reviewed_shim(self, payload)

    def _shown_shim(self, payload: Any) -> None:
        from app.gui import supabase_dialog

        supabase_dialog.done(self, payload)

    def _shown_repair(self, payload: Any) -> None:
        n = len(payload.repaired)
        self._finish_change(f"done: {count(n, 'changed file')} accepted ({payload.reason})")

    def _shown_baseline(self, payload: Any) -> None:
        n = len(payload.recorded)
        self._finish_change(f"done: {count(n, 'migration')} recorded as applied, none ran "
                            f"(batch {payload.batch_id})")

    def _shown_history(self, payload: Any) -> None:
        from app.gui.dialogs import HistoryDialog

        self.progress.stop(f"history: {count(len(payload), 'event')}")
        focus, self.history_focus = getattr(self, "history_focus", None), None  # context menu's Show in history
        self._show_dialog(HistoryDialog(payload, self.source.name if self.source else "", self, focus=focus))

    def _shown_export(self, payload: Any) -> None:
        self.log.add(f"{payload.fmt.upper()} report written to {payload.path}")
        if getattr(self, "_open_after", False) and not self.open_file(payload.path):
            said = (f"report written: {payload.path}; could not open it: no application is set up for "
                    f"{payload.fmt.upper()} files")
            self.log.add(f"could not open {payload.path}: no application is set up for "
                         f"{payload.fmt.upper()} files (the report is written)")
        else:
            said = f"report written: {payload.path}"
        self.progress.stop(said)

    def open_file(self, path: Any) -> bool:
        """Open a file in the desktop's application for it; False when there is none (tests replace this)."""
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _shown_rehearse(self, payload: Any) -> None:
        from app.gui.dialogs import RehearsalDialog

        self.progress.stop("rehearsal " + ("passed" if payload.ok else "FAILED"))
        self._show_dialog(RehearsalDialog(payload, self.source.name if self.source else "", self))

    def _shown_compare(self, payload: Any) -> None:
        from app.gui.compare_view import CompareDialog

        self.progress.stop("compared")
        for line in payload.skipped:
            self.log.add(f"not compared: {line}")
        self._show_dialog(CompareDialog(payload.comparison, payload.skipped, self, runners=payload.runners,
                                        settings=self.settings))

    def _finish_change(self, text: str) -> None:
        self.progress.stop(text)
        self.log.add(text)
        QTimer.singleShot(0, self.refresh_after)

    def _show_dialog(self, dialog: QWidget) -> None:
        self.last_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def _confirm_rollback(self, review: Any) -> None:
        from app.core.protection import Action, requirement
        from app.gui.rollback_dialog import RollbackDialog

        if not review.plan.planned:
            self.log.add("nothing to roll back")
            return
        target = review.runner.target
        need = requirement(target, Action.ROLLBACK)  # the engine's rule, on the target as resolved
        dialog = RollbackDialog(review.plan.planned, need, target=target.display(), parent=self)
        dialog.accepted.connect(lambda: self.start_rollback(review, dialog.confirmation()))
        self._open_confirmation(dialog)

    def manual_to_write(self) -> str | None:
        """The migration Write rollback SQL… is for: the selected one if applied with a manual rollback,
        else the newest applied one whose rollback is manual (the one that blocks Rollback last)."""
        from app.core.files import version_key

        status = self.snapshot.status if self.snapshot is not None else None
        manual = [x for x in (status.applied if status else []) if x.rollback_kind == "manual"]
        m = self.list.current()
        if m is not None and any(x.version == m.version for x in manual):
            return m.name
        newest = max(manual, key=lambda a: version_key(a.version), default=None)
        return newest.name if newest is not None else None

    def write_rollback_sql(self) -> None:
        """Read the manual migration's file on the worker, then offer to write its rollback block."""
        name = self.manual_to_write()
        if self.source is None or self.controller.busy or name is None:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._start("plan", lambda progress, cancel: tasks.plan_rollback_block(source.make_runner(options), name))

    def _offer_rollback_block(self, review: Any) -> None:
        """A manual rollback in range: offer to write its rollback SQL into the file and record it."""
        from app.core.protection import Action, requirement
        from app.gui.rollback_block_dialog import RollbackBlockDialog

        plan = review.plan
        self.progress.stop(f"rollback refused: {plan.name} is manual")
        self.log.add(f"Rollback refused: the rollback of {plan.name} is manual ({plan.why_manual}); "
                     "its rollback SQL can be written into the file and recorded")
        target = review.runner.target
        dialog = RollbackBlockDialog(plan, requirement(target, Action.REPAIR), target=target.display(), parent=self)
        dialog.accepted.connect(lambda: self.start_rollback_block(review, dialog.sql.toPlainText(),
                                                                  dialog.reason.text().strip(),
                                                                  dialog.confirmation()))
        self._open_confirmation(dialog)

    def start_rollback_block(self, review: Any, sql: str, reason: str, confirmed: Any) -> None:
        """Write the block and record it on the worker, with the runner that planned it."""
        if self.controller.busy:
            return
        from app.gui import tasks

        self.log.add(f"write the rollback SQL of {review.plan.name} into its file and record it: {reason}")
        self._start("rollback-block", lambda progress, cancel: tasks.write_rollback_block(
            review.runner, review.plan, sql, reason, cancel, confirmed))

    def _confirm_run(self, review: Any) -> None:
        """After the dry run: the summary, or the typed name and backup; nothing runs before it is accepted."""
        from app.core.backup import backup_folder
        from app.core.protection import Action, confirm, requirement
        from app.gui.run_dialog import RunDialog

        plan = review.plan
        for w in plan.warnings:
            self.log.add(f"note: {w}")
        if not plan.planned:
            self.progress.stop("nothing to run")
            self.log.add("nothing to migrate: the database is up to date")
            QTimer.singleShot(0, self.refresh_after)
            return
        target = review.runner.target
        need = requirement(target, Action.MIGRATE)
        names = [m.name for m in plan.planned]
        if not need.protected and not need.summary:
            self._start_run(review.runner, review.until, confirm(need, planned=names))
            return
        n = len(names)
        self.progress.stop(f"{n} to run: waiting for the confirmation")
        dialog = RunDialog(plan, need, target=target.display(), backup_folder=str(backup_folder(target)), parent=self)
        dialog.accepted.connect(lambda: self._start_run(review.runner, review.until, dialog.confirmation()))
        dialog.rejected.connect(lambda: self.log.add(f"run on {need.name} not confirmed: nothing ran"))
        self._open_confirmation(dialog)

    def _offer_editor(self, path: Any) -> None:
        """Offer to open the new file in the system's editor (a non-blocking question)."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Question, "New migration", f"Wrote {path}.\nOpen it in your editor?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Close, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(button: Any) -> None:
            opening = box.standardButton(button) == QMessageBox.StandardButton.Open
            if opening and not self.open_file(path):
                self.log.add(f"could not open {path}: no application is set up for .sql files")

        box.buttonClicked.connect(chosen)
        self.editor_offer = box
        box.open()

    def _confirm_repair(self, review: Any) -> None:
        from app.core.protection import Action, requirement
        from app.gui.maintenance_dialogs import RepairDialog

        self.progress.stop(f"{len(review.plan)} changed")
        if not review.plan:
            self.log.add("nothing to repair: every applied file matches its checksum")
            return
        target = review.runner.target
        dialog = RepairDialog(review.plan, requirement(target, Action.REPAIR), target=target.display(), parent=self)
        dialog.accepted.connect(lambda: self.start_repair(review, dialog.reason.text().strip(),
                                                          dialog.confirmation()))
        self._open_confirmation(dialog)

    def _confirm_baseline(self, review: Any) -> None:
        from app.core.protection import Action, requirement
        from app.gui.maintenance_dialogs import BaselineDialog

        self.progress.stop(f"baseline: {len(review.plan)} to record")
        if not review.plan:
            self.log.add(f"nothing to baseline: every migration up to {review.until} is applied")
            return
        target = review.runner.target
        dialog = BaselineDialog(review.plan, review.until, requirement(target, Action.BASELINE),
                                target=target.display(), parent=self)
        dialog.accepted.connect(lambda: self.start_baseline(review, dialog.force.isChecked(), dialog.confirmation()))
        self._open_confirmation(dialog)

    def _open_confirmation(self, dialog: QWidget) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()  # window-modal: the window stays responsive, nothing else starts meanwhile
        self.asking.emit(dialog)

    def _failed(self, kind: str, error: object) -> None:
        self.last_error = error
        heading = job_heading(kind)
        if isinstance(error, ManualRollback):
            heading = "Rollback refused"
        first = in_app(str(error)).splitlines()[0]
        where = getattr(getattr(error, "info", None), "location", lambda: "")()
        if where and first.startswith(f"{where}: "):
            first = first[len(where) + 2:]  # on the bar the file's name says it; the path is in the error panel
        self.progress.stop(f"failed: {first}")
        self.log.add(f"{heading}: {error}")
        self.error_panel.show_error(heading, error)
        if isinstance(error, BugReport):
            from app.gui.crash import show_bug

            QTimer.singleShot(0, lambda: show_bug(error))
        info = getattr(error, "info", None)
        failed_file = getattr(info, "file", None)
        if failed_file is not None:
            self._select_after_refresh = Path(failed_file).name[:14]  # show the failed migration's details
        if kind == "status":
            self.cards.clear("?")
            self.cards.cards["health"].set("unreachable" if "connect" in first else "error", "press Refresh to retry",
                                           theme.current().error)
        elif kind == "save-password":
            self.log.add("the password was not stored in the keyring: it is kept in memory until Tidemark quits")
            QTimer.singleShot(0, self.refresh_after)
        elif kind in MUTATING_KINDS:
            QTimer.singleShot(0, self.refresh_after)
        from app.core.errors import PasswordNeeded

        if isinstance(error, PasswordNeeded) and self.source is not None and kind != "save-password":
            source = self.source
            QTimer.singleShot(0, lambda: self._ask_password(source, error))

    def _ask_password(self, source: src.Source, error: Any) -> None:
        """The server wants a password: ask for it; keep it in memory, store it in the keyring if asked."""
        from app.gui.password_dialog import PasswordDialog

        if source is not self.source or self.controller.busy:
            return
        dialog = PasswordDialog(source.name, error.message, rejected=error.rejected,
                                can_save=source.kind == "environment", parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted() -> None:
            password = dialog.password.text()
            if not password:
                return
            src.remember_password(source.key, password)
            if dialog.save.isChecked():
                from app.core import passwords

                name = source.name
                self._start("save-password", lambda progress, cancel: passwords.set_password(name, password))
            else:
                self.refresh()

        dialog.accepted.connect(accepted)
        self.last_dialog = dialog
        dialog.open()
        self.asking.emit(dialog)
