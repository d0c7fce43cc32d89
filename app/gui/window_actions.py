"""The main window's commands: run, dry run, rollbacks, lint, new, repair, baseline, history, export, compare.

A mixin of MainWindow (kept apart so each module holds one idea): every command checks that
nothing runs, then starts one job on the window's TaskController or opens a dialog.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from app.core.status import State
from app.gui import sources as src
from app.gui.settings import read_str

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow as _Window
else:
    _Window = object


def export_file_name(environment: str, ext: str, at: _dt.datetime | None = None) -> str:
    """`tidemark-<environment>-<YYYYMMDD-HHMM>.<ext>`, the time in UTC as in the report itself.

    An environment's name may hold anything (a DSN's `user@host:5432/db`, spaces, slashes,
    non-ASCII): every run of other characters than letters, digits, `.`, `_` and `-` becomes one
    `-`, so the name is one safe file name on every system (no folder, no hidden file).
    """
    when = (at or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", environment).strip(".-") or "database"
    return f"tidemark-{safe[:60]}-{when:%Y%m%d-%H%M}.{ext}"


class WindowActions(_Window):
    """Commands of the main window (needs MainWindow's widgets and controller)."""

    def run_pending(self, target: str | None = None) -> None:
        """Run every pending migration (or up to `target`), after the confirmation the engine's rule asks for.

        The sandbox runs at once. Elsewhere a dry run on the worker comes first; its plan is shown
        (with the typed name and the backup on a protected environment) and only then does it run.
        """
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        if source.kind == "sandbox":
            self._start_run(source.make_runner, target, None)
            return
        self._start("review", lambda progress, cancel: tasks.review_run(source.make_runner(options), target))

    def _start_run(self, runner: Any, target: str | None, confirmed: Any) -> None:
        """Start the run; `runner` is a runner, or a function of the options that makes one on the worker."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        options = self.options
        what = f"up to {target}" if target else "all pending"
        self.log.add(f"run {what} on {self.source.name}" + (f" (confirmed: {confirmed.by})" if confirmed else ""))

        def job(progress: Any, cancel: Any) -> Any:
            made = runner(options) if callable(runner) else runner
            return tasks.run_pending(made, target, progress, cancel, confirmed)

        self._start("run", job)

    @Slot()
    def run_to_selected(self) -> None:
        """Run pending migrations up to and including the selected one."""
        m = self.list.current()
        if m is not None:
            self.run_pending(m.version)

    @Slot()
    def dry_run(self) -> None:
        """Show what Run pending would do."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._start("dryrun", lambda progress, cancel: tasks.dry_run(source.make_runner(options), None))

    @Slot()
    def rehearse(self) -> None:
        """Rehearse the pending migrations and their rollbacks on a throwaway copy."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self.log.add(f"rehearse the pending migrations of {source.name} on a throwaway copy")
        self._start("rehearse", lambda progress, cancel: tasks.rehearse(source.make_runner(options), progress))

    @Slot()
    def rollback_last(self) -> None:
        """Ask how many, then plan the rollback of the newest applied migrations."""
        if self.snapshot is None or self.controller.busy:
            return
        from app.gui.dialogs import RollbackCountDialog

        applied = len(self.snapshot.status.applied)
        dialog = RollbackCountDialog(applied, self)
        dialog.accepted.connect(lambda: self.plan_rollback(count=dialog.count.value()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    @Slot()
    def rollback_to_selected(self) -> None:
        """Plan rolling back everything applied after the selected migration."""
        m = self.list.current()
        if m is not None:
            self.plan_rollback(to=m.version)

    def plan_rollback(self, count: int | None = None, to: str | None = None) -> None:
        """Dry-run a rollback, then show its SQL for confirmation."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._start("plan", lambda progress, cancel: tasks.plan_rollback(source.make_runner(options), count, to))

    def start_rollback(self, review: Any, confirmed: Any) -> None:
        """Run a rollback the user confirmed, with the runner that planned it."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        count, to = review.count, review.to
        self.log.add(f"rollback {'last ' + str(count) if count else 'to ' + str(to)} on {self.source.name}")
        self._start("rollback", lambda progress, cancel: tasks.rollback(review.runner, count, to, progress, cancel,
                                                                        confirmed))

    @Slot()
    def lint_pending(self) -> None:
        """Lint the pending migrations on the worker; the findings open in a window."""
        if self.source is None or self.controller.busy:
            return
        from app.core.lint import lint_pending

        source, options = self.source, self.options
        self._start("lint", lambda progress, cancel: lint_pending(source.make_runner(options)))

    def show_line(self, path: Any, line: int) -> None:
        """Select the migration of `path` and mark `line` in its SQL (a lint finding, double-clicked)."""
        status = self.snapshot.status if self.snapshot is not None else None
        found = next((m for m in (status.migrations if status else []) if m.path == path), None)
        if found is None or not self.list.select_version(found.version):
            self.log.add(f"{path}:{line}: not in the list (filtered out?)")
            return
        self.details.setCurrentIndex(0)
        self.details.mark_line(line)  # once its file is read (off the UI thread)

    @Slot()
    def new_migration(self) -> None:
        """Ask for a description, then write the next migration file (on the worker) and select it."""
        if self.source is None or self.controller.busy:
            return
        from PySide6.QtWidgets import QInputDialog

        dialog = QInputDialog(self)
        dialog.setWindowTitle("New migration")
        dialog.setLabelText("Description (it names the file and its -- Migration: header):")
        dialog.setTextValue("")
        dialog.textValueSelected.connect(self.start_new_migration)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_dialog = dialog
        dialog.open()

    def start_new_migration(self, description: str) -> None:
        """Write the file for `description` in the source's migrations folder."""
        if self.source is None or self.controller.busy or not description.strip():
            return
        from app.core.scaffold import new_migration

        source, options = self.source, self.options
        self._start("new", lambda progress, cancel: new_migration(source.make_runner(options).migrations_dir,
                                                                  description))

    @Slot()
    def repair_changed(self) -> None:
        """Show the changed applied files' diffs, then ask for the reason (and the name on a protected one)."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        m = self.list.current()
        name = m.name if m is not None and (m.state is State.MODIFIED or m.line_endings_only) else None
        self._start("repair-review", lambda progress, cancel: tasks.review_repair(source.make_runner(options), name))

    def start_repair(self, review: Any, reason: str, confirmed: Any) -> None:
        """Accept the reviewed changes."""
        from app.gui import tasks

        self.log.add(f"repair {len(review.plan)} on {self.source.name if self.source else ''}: {reason}")
        self._start("repair", lambda progress, cancel: tasks.repair(review.runner, review.plan, reason, cancel,
                                                                    confirmed))

    @Slot()
    def baseline_to_selected(self) -> None:
        """Record every migration up to the selected one as applied, without running it (after confirming)."""
        m = self.list.current()
        if self.source is None or self.controller.busy or m is None:
            return
        from app.gui import tasks

        source, options, version = self.source, self.options, m.version
        self._start("baseline-review", lambda progress, cancel: tasks.review_baseline(source.make_runner(options),
                                                                                      version))

    def start_baseline(self, review: Any, force: bool, confirmed: Any) -> None:
        """Record the reviewed migrations as applied."""
        from app.gui import tasks

        self.log.add(f"baseline up to {review.until} on {self.source.name if self.source else ''}")
        self._start("baseline", lambda progress, cancel: tasks.baseline(review.runner, review.until, force, progress,
                                                                        cancel, confirmed))

    @Slot()
    def import_history(self) -> None:
        """Migrations ▸ Import history…: find other tools' histories and plan the import (app.gui.import_history)."""
        from app.gui import import_history

        import_history.start_review(self)

    def supabase_status(self) -> None:
        """Environment ▸ Supabase status: config.toml and both histories, read on the worker."""
        from app.gui import supabase_dialog

        supabase_dialog.start_status(self)

    def install_shim(self) -> None:
        """Environment ▸ Install Supabase shim…: look for auth.users, then confirm (app.gui.supabase_dialog)."""
        from app.gui import supabase_dialog

        supabase_dialog.start_shim(self)

    def show_history(self) -> None:
        """The audit trail."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._start("history", lambda progress, cancel: tasks.audit_trail(source.make_runner(options)))

    def export_report(self, path: Path, fmt: str, *, open_after: bool = False) -> None:
        """Write a report file in the background."""
        if self.source is None or self.controller.busy:
            return
        from app.gui import tasks

        source, options = self.source, self.options
        self._open_after = open_after
        self._start("export", lambda progress, cancel: tasks.export_report(source.make_runner(options), source.name,
                                                                           fmt, path))

    def find(self) -> None:
        """Edit ▸ Find (Ctrl+F): the focused SQL pane's or log's find bar, else the migration filter."""
        from app.gui.find_bar import find_or_filter

        find_or_filter(self, self.list.search)

    def find_next(self) -> None:
        """Edit ▸ Find next (F3)."""
        from app.gui.find_bar import find_again

        find_again(self, backward=False)

    def find_previous(self) -> None:
        """Edit ▸ Find previous (Shift+F3)."""
        from app.gui.find_bar import find_again

        find_again(self, backward=True)

    def show_shortcuts(self) -> Any:
        """Help ▸ Keyboard shortcuts (F1)."""
        from app.gui.menus import show_shortcuts

        return show_shortcuts(self)

    def show_about(self) -> None:
        """Help ▸ About Tidemark."""
        from app.gui.menus import show_about

        show_about(self)

    def choose_export(self) -> None:
        """File ▸ Export report… (Ctrl+E): the export button's formats, below the button, without waiting
        in a nested event loop as QToolButton.showMenu does (the keys and the window stay live)."""
        if self.export_button.isEnabled():
            self.export_menu.popup(self.export_button.mapToGlobal(self.export_button.rect().bottomLeft()))

    @Slot(QAction)
    def _export_menu(self, action: QAction) -> None:
        fmt = action.data()
        if action is self.act_open_after:
            self.settings.setValue("export/open_after", action.isChecked())
            return
        if not fmt or self.source is None:
            return
        folder = Path(read_str(self.settings, "export/folder", str(Path.home())))
        default = folder / export_file_name(self.source.name, fmt)
        name, _ = QFileDialog.getSaveFileName(self, f"Export {fmt.upper()} report", str(default),
                                              f"{fmt.upper()} (*.{fmt})")
        if name:
            path = Path(name)
            if path.suffix.lower() != f".{fmt}":
                path = path.with_suffix(f".{fmt}")
            self.settings.setValue("export/folder", str(path.parent))
            self.export_report(path, fmt, open_after=self.act_open_after.isChecked())

    def compare(self, chosen: list[src.Source]) -> None:
        """Compare environments in the background."""
        if self.controller.busy or len(chosen) < 1:
            return
        from app.gui import tasks

        options = self.options
        makers = [(s.name, lambda s=s: s.make_runner(options)) for s in chosen]
        self._start("compare", lambda progress, cancel: tasks.compare(makers, cancel))

    @Slot()
    def compare_dialog(self) -> None:
        """Choose environments to compare."""
        from app.gui.compare_view import ChooseEnvironmentsDialog

        remembered = self.settings.value("compare/chosen")
        dialog = ChooseEnvironmentsDialog(self._sources, self.source, self,
                                          remembered=[str(k) for k in remembered] if isinstance(remembered, list)
                                          else [str(remembered)] if remembered else None)

        def chosen() -> None:
            picked = dialog.chosen()
            self.settings.setValue("compare/chosen", [s.key for s in picked])  # ticked so next time
            self.compare(picked)

        dialog.accepted.connect(chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def apply_theme(self, choice: str) -> None:
        """View ▸ Theme: switch to a theme (remembered), and paint what is shown again in its colours."""
        from app.gui.theme_switch import repaint

        self.theme_choice = choice
        self.settings.setValue("view/theme", choice)
        repaint(self)

    @Slot(Qt.ColorScheme)
    def follow_system_scheme(self, scheme: Qt.ColorScheme) -> None:
        """The desktop's colour scheme changed: under "system", switch with it (nothing is remembered)."""
        if self.theme_choice == "system":
            from app.gui.theme_switch import repaint

            repaint(self, scheme)
