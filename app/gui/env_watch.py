"""Follow environments.toml as it changes behind the app's back (`tidemark env add` in a terminal).

The file is replaced atomically when it is written, which ends a watch on the file itself, so
its folder is watched as well and the file's watch renewed after each change. Changes come in
bursts (write the temp file, rename): one `changed` after they settle.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

SETTLE_MS = 250


class EnvironmentsWatcher(QObject):
    """Emits `changed` once after the environments file (or its folder) changed."""

    changed = Signal()

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._watcher = QFileSystemWatcher(self)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        self._watcher.fileChanged.connect(self._poke)
        self._watcher.directoryChanged.connect(self._poke)
        self._stamp = self._read_stamp()
        self._renew()

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _renew(self) -> None:
        """Watch the nearest existing folder (the config folder may not exist yet) and the file when it exists."""
        folder = self.path.parent
        while not folder.is_dir() and folder != folder.parent:
            folder = folder.parent
        wanted = [str(folder)] + ([str(self.path)] if self.path.is_file() else [])
        missing = [p for p in wanted if p not in self._watcher.files() + self._watcher.directories()]
        if missing:
            self._watcher.addPaths(missing)

    @Slot(str)
    def _poke(self, _path: str) -> None:
        self._settle.start()

    @Slot()
    def _settled(self) -> None:
        self._renew()
        stamp = self._read_stamp()
        if stamp != self._stamp:  # the folder changes for other files too: only the file counts
            self._stamp = stamp
            self.changed.emit()
