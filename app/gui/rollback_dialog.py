"""The rollback confirmation: exactly the SQL that will run, what cannot be undone, typed confirmation."""

from __future__ import annotations

import html

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.data_loss import irreversible
from app.core.protection import Confirmation, Requirement, confirm
from app.core.results import PlannedRollback
from app.core.text import counted as count
from app.gui.confirm_widgets import TypedName, default_on_match
from app.gui.emphasis import bold_while_enabled
from app.gui.sql_view import SqlView


def rollback_script(planned: list[PlannedRollback]) -> str:
    """The SQL that will run, migration by migration, in the order it runs."""
    parts = []
    for i, p in enumerate(planned, start=1):
        how = "in one transaction with its history rows" if p.transactional else "outside a transaction"
        parts.append(f"-- {i}. {p.name}: {p.rollback_kind} rollback, {how}")
        if p.note:
            parts.append(f"-- note: {p.note}")
        parts.append((p.sql or "-- (no SQL: nothing to undo)").rstrip())
        parts.append("")
    return "\n".join(parts)


class RollbackDialog(QDialog):
    """Shows a planned rollback; on a protected environment, accepts only after its name is typed."""

    def __init__(self, planned: list[PlannedRollback], need: Requirement, *, target: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.need = need
        self.names = [p.name for p in planned]
        environment = self.environment = need.name
        self.protected = need.protected
        n = len(planned)
        self.setWindowTitle(f"Roll back {count(n, 'migration')} on {environment}")
        self.resize(820, 620)
        lay = QVBoxLayout(self)
        head = QLabel(
            f"<b>Roll back {count(n, 'migration')}</b> on <b>{_esc(environment)}</b> "
            f"({_esc(target)}), newest first. This is exactly the SQL that will run:")
        head.setWordWrap(True)
        lay.addWidget(head)
        self.sql = SqlView(name="Rollback SQL")
        self.sql.show_sql(rollback_script(planned))
        lay.addWidget(self.sql, 1)
        lost = irreversible(planned)
        self.lost = QLabel()
        self.lost.setObjectName("irreversible")
        self.lost.setWordWrap(True)
        if lost:
            self.lost.setText("<b>Cannot be undone:</b><br>" + "<br>".join(f"• {_esc(s)}" for s in lost))
        else:
            self.lost.setText("Nothing here deletes data: the objects these migrations created are dropped, and "
                              "running them again re-creates them.")
        lay.addWidget(self.lost)
        self.typed: TypedName | None = None
        self.confirm: QLineEdit | None = None
        if need.protected:
            self.typed = TypedName(need)
            self.confirm = self.typed.field
            lay.addWidget(self.typed)
        self.buttons = QDialogButtonBox()
        self.ok: QPushButton = self.buttons.addButton(f"&Roll back {n}", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("dangerButton")
        bold_while_enabled(self.ok)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        if self.typed is not None:
            self.typed.matched.connect(self._check)
            self._check(False)
            self.typed.field.setFocus()
        else:  # a rollback loses what it drops: Enter cancels, the button (or Alt+R) rolls back
            self.cancel_button.setDefault(True)

    @Slot(bool)
    def _check(self, matched: bool) -> None:
        default_on_match(self.ok, self.cancel_button, matched)

    def confirmation(self) -> Confirmation:
        """What the user confirmed, for the runner (this target, a rollback, these migrations)."""
        return confirm(self.need, typed=self.typed.text() if self.typed else None, planned=self.names)

    def accept(self) -> None:
        """Accept only when confirmed (the button may be triggered by Enter)."""
        if self.ok.isEnabled():
            super().accept()


def _esc(text: str) -> str:
    return html.escape(text)


__all__ = ["RollbackDialog", "irreversible", "rollback_script"]
