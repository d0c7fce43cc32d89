"""The environment bar's entries and where they come from: the saved environments (followed as
environments.toml changes behind the app's back), the sandbox, and databases opened by DSN; one entry
per name (app.gui.sources.merged).

A mixin of MainWindow (kept apart so each module holds one idea).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Slot

from app.gui import sources as src
from app.gui.actions import colour_icon
from app.gui.settings import remember_dsn

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow as _Window
else:
    _Window = object


class WindowSources(_Window):
    """The environment bar of the main window (needs MainWindow's combo, log and set_source)."""

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
        """Add an entry of the environment bar, in place of one of the same key or name."""
        kept = [s for s in self._sources if s.key != source.key]
        self._set_sources([s for s in kept if s.kind != "dsn"], [s for s in kept if s.kind == "dsn"] + [source])
        if select and self._find(source.key) is not None:
            self.set_source(source)

    def _set_sources(self, saved: list[src.Source], opened: list[src.Source]) -> None:
        """The bar's entries, one per name (app.gui.sources.merged), and its notes in the log."""
        self._sources, notes = src.merged(saved, opened)
        for line in notes:
            self.log.add(line)
        self._fill_sources()

    @Slot(int)
    def _env_picked(self, i: int) -> None:
        chosen = self._find(self.env_combo.itemData(i) or "")
        if chosen is not None and (self.source is None or chosen.key != self.source.key):
            self.set_source(chosen)

    @Slot()
    def open_dsn_dialog(self) -> None:
        """Use any DSN and migrations folder."""
        from app.gui.dialogs import OpenDsnDialog

        dialog = OpenDsnDialog(self, taken=tuple(s.name for s in self._sources if s.kind != "dsn"))
        dialog.accepted.connect(lambda: self._open_dsn(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _open_dsn(self, dialog: Any) -> None:
        dsn = dialog.dsn.text().strip()
        folder = Path(dialog.folder.text().strip()).expanduser()
        name = dialog.name.text().strip()
        protected = dialog.protected.isChecked()
        remember_dsn(self.settings, dsn, folder, name, protected)
        self.add_source(src.dsn_source(dsn, folder, name=name or None, protected=protected))

    @Slot()
    def open_environments(self) -> None:
        """Add, edit, test and remove saved environments."""
        from app.gui.environment_dialog import EnvironmentDialog

        dialog = EnvironmentDialog(self)
        dialog.finished.connect(self._environments_changed)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    @Slot()
    def _environments_changed(self) -> None:
        fresh, problem = src.list_sources()
        if problem:
            self.log.add(problem)
        current = self.source.key if self.source else ""
        self._set_sources(fresh, [s for s in self._sources if s.kind == "dsn"])
        fresh_current = self._find(current) if current else None
        if current and fresh_current is None:
            self.set_source(self._sources[0] if self._sources else None)
        elif fresh_current is not None and fresh_current != self.source and not self.controller.busy:
            self.set_source(fresh_current, refresh=False)  # its flag, colour or folder changed: the banner shows it

    def watch_environments(self) -> None:
        """Follow environments.toml: an environment added or changed elsewhere shows up here."""
        if not src.environments_available() or getattr(self, "env_watcher", None) is not None:
            return  # one watcher: two would read the file twice per change
        from app.core.environments import environments_file
        from app.gui.env_watch import EnvironmentsWatcher

        self.env_watcher = EnvironmentsWatcher(environments_file(), self)
        self.env_watcher.changed.connect(self._environments_changed)
