"""When a rollback in range is manual: write its rollback SQL into the file and record it, in one step.

The dialog shows why the rollback is manual, takes the SQL that undoes the migration, shows the
diff of the file as it will be written (a `-- ROLLBACK BEGIN` ... `-- ROLLBACK END` block), and
asks for the reason that goes into the audit trail (and, on a protected environment, the name
typed: the step records a repair, which app.core.protection's rule covers). Nothing is written
here: the window runs app.core.custom_rollback.write_and_record on the worker.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from app.core.custom_rollback import BlockPlan
from app.core.protection import Confirmation, Requirement, confirm
from app.gui.maintenance_dialogs import Confirming, show_diff
from app.gui.sql_view import SqlView

# The block's comment lines, each kept whole when the heading wraps: said without their "--", after
# which a line may break whatever follows (the heading broke "-- | ROLLBACK BEGIN").
CODE_BEGIN, CODE_END = ("<code>" + text.replace(" ", "&nbsp;") + "</code>"
                        for text in ("ROLLBACK BEGIN", "ROLLBACK END"))


class RollbackBlockDialog(Confirming):
    """The rollback SQL of a manual migration, the diff of its file, the reason, and the name typed."""

    def __init__(self, plan: BlockPlan, need: Requirement, *, target: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle(f"Rollback SQL for {plan.name} on {need.name}")
        self.resize(880, 700)
        lay = QVBoxLayout(self)
        head = QLabel(
            f"<b>Nothing was rolled back:</b> the rollback of <b>{html.escape(plan.name)}</b> is manual "
            f"({html.escape(plan.why_manual)}). Write the SQL that undoes it: Tidemark adds it at the end of the "
            f"file, between {CODE_BEGIN} and {CODE_END} comment lines, and records it on "
            f"<b>{html.escape(need.name)}</b> ({html.escape(target)}) as a repair, in one step. Then roll back "
            "again. Nothing runs now.")
        head.setWordWrap(True)
        lay.addWidget(head)
        sql_label = QLabel("Rollback &SQL:")
        self.sql = QPlainTextEdit()
        self.sql.setPlaceholderText("e.g. DELETE FROM settings WHERE key = 'theme';")
        sql_label.setBuddy(self.sql)
        lay.addWidget(sql_label)
        lay.addWidget(self.sql, 1)
        lay.addWidget(QLabel(f"The file {plan.path} as it will be written:"))
        self.diff = SqlView()
        lay.addWidget(self.diff, 2)
        label = QLabel("&Reason (goes into the audit trail):")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. the demo rows this migration inserts are deleted by their key")
        label.setBuddy(self.reason)
        lay.addWidget(label)
        lay.addWidget(self.reason)
        self.sql.textChanged.connect(self._sql_changed)
        self.reason.textChanged.connect(self._check)
        self._finish(lay, need, "&Write and record")
        self._sql_changed()
        self.sql.setFocus()

    @Slot()
    def _sql_changed(self) -> None:
        sql = self.sql.toPlainText()
        show_diff(self.diff, [(self.plan.diff(sql), True) if sql.strip()
                              else ("-- (write the rollback SQL above)", False)])
        self._check()

    def _complete(self) -> bool:
        return bool(self.sql.toPlainText().strip() and self.reason.text().strip())

    def confirmation(self) -> Confirmation:
        """For the runner's repair: this target, this migration."""
        return confirm(self.need, typed=self.typed.text() if self.typed else None, planned=[self.plan.name])
