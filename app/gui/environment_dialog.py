"""Add, edit, test and remove saved environments; the password goes to the OS keyring only."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.sources import colour_for
from app.gui.theme import current
from app.gui.words import in_app
from app.gui.worker import TaskController

SSLMODES = ("", "disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class EnvironmentDialog(QDialog):
    """The environments editor. Keyring and network work run on a worker thread."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Environments")
        self.resize(860, 520)
        self.controller = TaskController(self)  # save / test / remove
        self.controller.finished.connect(self._done)
        self.lookups = TaskController(self)  # "is a password stored?": never blocks the buttons
        self.lookups.finished.connect(self._looked_up)
        self.list = QListWidget()
        self.list.setAccessibleName("Saved environments")
        self.list.currentItemChanged.connect(self._picked)
        new = QPushButton("New")
        new.clicked.connect(self.new_environment)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addWidget(new)

        self.name = QLineEdit()
        self.host = QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("default (5432)")
        self.database = QLineEdit()
        self.user = QLineEdit()
        self.sslmode = QComboBox()
        self.sslmode.addItems([m or "(libpq default)" for m in SSLMODES])
        self.dsn = QLineEdit()
        self.dsn.setPlaceholderText("or a connection string / service=NAME (replaces host, port, database, user)")
        self.folder = QLineEdit()
        self.folder.setAccessibleName("Migrations folder")  # in a row with its Browse button: no buddy label
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.protected = QCheckBox("Protected: every run and rollback asks for the name typed; migrate backs up first")
        self._protected_follows_name = True  # a new environment's box follows its name until clicked
        self.protected.clicked.connect(self._protected_clicked)
        self.name.textEdited.connect(self._name_edited)
        self.colour = QLineEdit()
        self.colour.setPlaceholderText("e.g. #c62828 or red (default: by name)")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("typed once; stored in the OS keyring, never in a file")
        self.password_state = QLabel("")
        self.sslrootcert = QLineEdit()
        self.sslrootcert.setPlaceholderText("root certificate, for verify-ca / verify-full")
        self.sslcert = QLineEdit()
        self.sslcert.setPlaceholderText("client certificate (with its key below)")
        self.sslkey = QLineEdit()
        self.sslkey.setPlaceholderText("client key: readable by you only (chmod 600)")
        self.ssh = QLineEdit()
        self.ssh.setPlaceholderText("[user@]bastion[:port] or a Host alias of ~/.ssh/config (ProxyJump there)")
        self.password_command = QLineEdit()
        self.password_command.setPlaceholderText("instead of a password: e.g. aws rds generate-db-auth-token ...")
        self.groups = QLineEdit()
        self.groups.setPlaceholderText("comma-separated, e.g. tenants, eu (fleet commands select by them)")
        self.databases = QLineEdit()
        self.databases.setPlaceholderText("a fleet: every database LIKE this pattern, e.g. tenant_%")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("Database", self.database)
        form.addRow("User", self.user)
        form.addRow("SSL mode", self.sslmode)
        form.addRow("SSL root certificate", self.sslrootcert)
        form.addRow("SSL client certificate", self.sslcert)
        form.addRow("SSL client key", self.sslkey)
        form.addRow("SSH hop", self.ssh)
        form.addRow("Connection string", self.dsn)
        form.addRow("Migrations folder", folder_row)
        form.addRow("", self.protected)
        form.addRow("Colour", self.colour)
        form.addRow("Password", self.password)
        form.addRow("", self.password_state)
        form.addRow("Password command", self.password_command)
        form.addRow("Groups", self.groups)
        form.addRow("Databases", self.databases)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.remove)
        buttons = QHBoxLayout()
        for b in (self.save_button, self.test_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(buttons)
        right.addWidget(self.result)
        right.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        right.addWidget(close)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addLayout(right, 3)
        self.reload()

    # --- list ----------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        """Read the profiles file (small, local) and fill the list."""
        from app.core.environments import list_environments

        current = select or (self.list.currentItem().text() if self.list.currentItem() else None)
        self.list.blockSignals(True)
        self.list.clear()
        try:
            profiles = list_environments()
        except Exception as exc:  # a broken file: say where, keep the dialog usable
            profiles = []
            self._say(str(exc), error=True)
        self._profiles = {p.name: p for p in profiles}
        for p in profiles:
            item = QListWidgetItem(f"{p.name}{'  (protected)' if p.protected else ''}")
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            item.setForeground(QBrush(QColor(p.colour or colour_for(p.name, bool(p.protected)))))
            self.list.addItem(item)
        self.list.blockSignals(False)
        names = list(self._profiles)
        if current in names:
            self.list.setCurrentRow(names.index(current))
        elif names:
            self.list.setCurrentRow(0)
        else:
            self.new_environment()

    @Slot()
    def new_environment(self) -> None:
        """Empty form for a new environment."""
        self.list.clearSelection()
        self._fill(None)
        self.name.setFocus()

    @Slot(QListWidgetItem, QListWidgetItem)
    def _picked(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        self._fill(self._profiles.get(item.data(Qt.ItemDataRole.UserRole)))

    def _fill(self, p: Any) -> None:
        self.name.setText(p.name if p else "")
        self.host.setText((p.host or "") if p else "")
        self.port.setValue(int(p.port or 0) if p else 0)
        self.database.setText((p.database or "") if p else "")
        self.user.setText((p.user or "") if p else "")
        self.sslmode.setCurrentIndex(SSLMODES.index(p.sslmode) if p and p.sslmode in SSLMODES else 0)
        self.dsn.setText((p.dsn or (f"service={p.service}" if p.service else "")) if p else "")
        self.folder.setText((p.migrations_dir or "") if p else "")
        self._protected_follows_name = p is None
        self.protected.setChecked(bool(p.protected) if p else False)
        self.colour.setText((p.colour or "") if p else "")
        for field in ("sslrootcert", "sslcert", "sslkey", "ssh", "password_command", "databases"):
            getattr(self, field).setText((getattr(p, field, None) or "") if p else "")
        self.groups.setText(", ".join(getattr(p, "groups", ()) or ()) if p else "")
        self._loaded = p
        self.password.clear()
        self.password_state.setText("")
        self.remove_button.setEnabled(p is not None)
        if p is not None:
            self.lookups.start("password_state", lambda progress, cancel, n=p.name: _password_state(n))

    @Slot()
    def _protected_clicked(self) -> None:
        self._protected_follows_name = False

    @Slot(str)
    def _name_edited(self, name: str) -> None:
        from app.core.environments import default_protected

        if self._protected_follows_name:  # as `tidemark env add` decides: "prod" in the name
            self.protected.setChecked(default_protected(name.strip()))

    def profile(self) -> Any:
        """The Profile the form describes."""
        from app.core.environments import Profile

        dsn = self.dsn.text().strip()
        service = None
        if dsn.startswith("service=") and " " not in dsn:
            service, dsn = dsn.removeprefix("service="), ""
        from dataclasses import replace

        def text(field: QLineEdit) -> str | None:
            return field.text().strip() or None

        groups = tuple(dict.fromkeys(g.strip() for g in self.groups.text().split(",") if g.strip()))
        # From the profile as loaded: a field this form does not show is kept, never dropped on save.
        loaded = getattr(self, "_loaded", None)
        base = loaded if loaded is not None and loaded.name == self.name.text().strip() else None
        return replace(base or Profile(name=self.name.text().strip()), **dict(
            name=self.name.text().strip(),
            host=self.host.text().strip() or None,
            port=self.port.value() or None,
            database=self.database.text().strip() or None,
            user=self.user.text().strip() or None,
            sslmode=SSLMODES[self.sslmode.currentIndex()] or None,
            service=service,
            dsn=dsn or None,
            migrations_dir=self.folder.text().strip() or None,
            protected=self.protected.isChecked(),
            colour=self.colour.text().strip() or None,
            sslrootcert=text(self.sslrootcert), sslcert=text(self.sslcert), sslkey=text(self.sslkey),
            ssh=text(self.ssh), password_command=text(self.password_command), groups=groups,
            databases=text(self.databases),
        ))

    # --- actions -------------------------------------------------------------------------------

    def _run(self, kind: str, job: Any) -> None:
        self._set_busy(True)
        self.controller.start(kind, job)

    def _set_busy(self, busy: bool) -> None:
        for b in (self.save_button, self.test_button, self.remove_button):
            b.setEnabled(not busy)

    @Slot()
    def save(self) -> None:
        """Save the profile; a typed password goes to the keyring."""
        from app.core.errors import TidemarkError

        try:
            profile = self.profile()
            profile.validate()
        except TidemarkError as exc:
            self._say(str(exc), error=True)
            return
        password = self.password.text() or None
        self.password.clear()  # typed once: it does not linger in the widget
        from app.core.environments import save_environment

        self._run("save", lambda progress, cancel: save_environment(profile, password))

    @Slot()
    def test(self) -> None:
        """Connect with the form's settings (and the typed or stored password) and report."""
        from app.core.errors import TidemarkError

        try:
            profile = self.profile()
        except TidemarkError as exc:
            self._say(str(exc), error=True)
            return
        password = self.password.text() or None
        self._run("test", lambda progress, cancel: _test(profile, password))

    def confirm_remove(self, name: str) -> bool:
        """Ask before removing (tests replace this)."""
        answer = QMessageBox.question(self, "Remove environment",
                                      f"Remove {name!r} and its password from the keyring? "
                                      "The database itself is not touched.")
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def remove(self) -> None:
        """Remove the selected profile and its keyring entry."""
        item = self.list.currentItem()
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        if not self.confirm_remove(name):
            return
        from app.core.environments import delete_environment

        self._run("remove", lambda progress, cancel: delete_environment(name))

    @Slot(str, str, object)
    def _looked_up(self, _kind: str, outcome: str, payload: Any) -> None:
        self.password_state.setText(str(payload) if outcome == "ok" else "")

    @Slot(str, str, object)
    def _done(self, kind: str, outcome: str, payload: Any) -> None:
        self._set_busy(False)
        self.remove_button.setEnabled(self.list.currentItem() is not None)
        if outcome != "ok":
            self._say(str(payload), error=True)
            return
        if kind == "save":
            how = "password stored in the OS keyring" if payload.password_stored else "no password stored"
            if payload.password_from_dsn:
                how = "the password was moved out of the connection string into the OS keyring"
            self._say(f"saved {payload.profile.name} ({how})")
            self.reload(select=payload.profile.name)
        elif kind == "remove":
            extra = f"; {payload.keyring_problem}" if payload.keyring_problem else ""
            self._say(f"removed {payload.name}" + (" and its password" if payload.password_deleted else "") + extra)
            self.reload()
        elif kind == "test":
            c = payload
            lacking = html.escape(", ".join(c.missing_privileges))
            missing = (f"<br><span style='color:{current().warn}'>missing privileges: {lacking}</span>"
                       if c.missing_privileges else "")
            from app.core.envcheck import hop_lines

            hops = "".join(html.escape(" ".join(line.split())) + "<br>" for line in hop_lines(c))
            self._say(hops + f"connected to {html.escape(c.target)}: PostgreSQL {html.escape(c.server_version)} as "
                      f"{html.escape(c.current_user)}{' (superuser)' if c.is_superuser else ''}, "
                      f"connect {c.connect_ms:.0f} ms, round trip {c.latency_ms:.1f} ms{missing}", rich=True)

    def _say(self, text: str, *, error: bool = False, rich: bool = False) -> None:
        """Say `text` under the fields (the engine's advice in the app's words, app/gui/words.py)."""
        text = in_app(text)
        colour = current().error if error else current().ok
        body = text if rich else html.escape(text).replace("\n", "<br>")
        self.result.setText(f"<span style='color:{colour}'>{body}</span>")

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Migrations folder", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)

    def done(self, result: int) -> None:
        """Closing stops any keyring or connection work first."""
        self.controller.shutdown(3000)
        self.lookups.shutdown(3000)
        super().done(result)


def _password_state(name: str) -> str:
    from app.core.environments import password_stored

    stored = password_stored(name)
    if stored is None:
        return "the keyring cannot be read: the password comes from ~/.pgpass or PGPASSWORD"
    return "a password is stored in the OS keyring (type a new one to replace it)" if stored else \
        "no password stored (libpq may use ~/.pgpass or PGPASSWORD)"


def _test(profile: Any, password: str | None) -> Any:
    from app.core.environments import get_environment, profile_target, test_environment, test_target
    from app.core.errors import UsageError

    profile.validate()
    if password is None:
        try:
            saved = get_environment(profile.name)
        except UsageError:
            saved = None
        if saved == profile:
            return test_environment(profile.name)  # the stored password, from the keyring
    return test_target(profile_target(profile, password))  # through its SSH hop and password command too
