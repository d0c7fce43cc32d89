"""What a screen reader hears: the accessible name Qt gives each interactive control of a window."""

from __future__ import annotations

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QPlainTextEdit, QTextEdit, QAbstractSpinBox)
# Parts Qt builds inside a control (a combo's editor, a tab bar's scroll arrows): the control is named.
INNER_OF = (QComboBox, QAbstractSpinBox, QTabBar)


def accessible_name(w: QWidget) -> str:
    """The name Qt's accessibility layer reports: accessibleName, else the text or the buddy label."""
    face = QAccessible.queryAccessibleInterface(w)
    return (face.text(QAccessible.Text.Name) if face is not None else w.accessibleName()).strip()


def unnamed(root: QWidget) -> list[str]:
    """Every visible interactive control under root (root included) without an accessible name."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        if not isinstance(w, INTERACTIVE) or isinstance(w, QHeaderView) or not w.isVisible():
            continue
        if isinstance(w.parent(), INNER_OF) or w.objectName().startswith("qt_"):
            continue
        if not accessible_name(w):
            chain, p = [], w.parent()
            while p is not None and len(chain) < 3:
                chain.append(type(p).__name__ + (f"#{p.objectName()}" if p.objectName() else ""))
                p = p.parent()
            out.append(f"{type(w).__name__}#{w.objectName()} tip={w.toolTip()!r} in {' < '.join(chain)}")
    return out


def assert_named(root: QWidget, where: str = "") -> None:
    """Fail naming every unnamed control under root."""
    missing = unnamed(root)
    assert not missing, f"{where or type(root).__name__}: unnamed controls:\n" + "\n".join(missing)
