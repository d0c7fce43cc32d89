"""The main window's way into the overview: open it, and Check drift or Promote the current
environment there (the overview's own actions, on its row), so these are in the main window's
menus and keys too.

A mixin of MainWindow. Drift and promotion act across environments, so their results live in the
overview's Drift and Now columns; the main window only chooses the row and starts the action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow as _Window
    from app.gui.overview import OverviewWindow
else:
    _Window = object


class WindowFleet(_Window):
    """Overview, Check drift and Promote from the main window (needs MainWindow's sources)."""

    @Slot()
    def show_overview(self) -> Any:
        """Every saved environment at a glance (a window of its own; its row opens an environment here)."""
        from app.gui.overview import OverviewWindow

        existing = getattr(self, "overview", None)
        if existing is not None:
            try:
                existing.raise_()
                existing.activateWindow()
                return existing
            except RuntimeError:  # closed and deleted
                pass
        window = OverviewWindow(self._sources, self.options, self)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.open_environment.connect(self._open_from_overview)
        window.destroyed.connect(lambda: setattr(self, "overview", None))
        self.overview = window
        window.show()
        window.refresh()
        return window

    def _open_from_overview(self, name: str) -> None:
        found = self._find(f"env:{name}")
        if found is not None and not self.controller.busy:
            self.set_source(found)
            self.raise_()
            self.activateWindow()

    def in_fleet(self) -> bool:
        """True when the current environment is a saved one (a row of the overview)."""
        return self.source is not None and self.source.kind == "environment"

    @Slot()
    def check_drift(self) -> None:
        """Environment ▸ Check drift: the overview's Check drift on this environment's row."""
        self._on_own_row(lambda o: o.fleet_actions.check_drift())

    @Slot()
    def promote(self) -> None:
        """Environment ▸ Promote to…: the overview's Promote from this environment."""
        self._on_own_row(lambda o: o.fleet_actions.promote())

    def _on_own_row(self, act: Any) -> None:
        """Open the overview, select this environment's row once its statuses are read, then `act` there."""
        if not self.in_fleet():
            return
        assert self.source is not None
        name = self.source.name
        o: OverviewWindow = self.show_overview()

        def go() -> None:
            row = o.rows.get(name)
            if row is None or o.controller.busy:
                self.log.add(f"{name} is not in the overview, or the overview is busy: nothing started")
                return
            o.tree.clearSelection()
            o.tree.setCurrentItem(row)
            row.setSelected(True)
            act(o)

        if o.members and not o.controller.busy:
            go()
            return

        def read(kind: str, _outcome: str, _payload: object) -> None:
            if kind in ("status", "expand") and not o.controller.busy:  # every status read (or none could be)
                o.job_done.disconnect(read)
                go()

        o.job_done.connect(read)
