"""Bold while enabled: the buttons that stop or change something (Cancel, a destructive OK) are bold
only when they can be pressed; a disabled one reads as the plain, muted button it is.

A style sheet cannot say this: Qt applies a `font-weight` given under `:enabled` once, at polish
time, and the font stays bold when the button is disabled later. An event filter follows the state.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

# The state changes, and what resets a widget's font under a style sheet (moving it into a dialog's
# layout re-polishes it in its new parent's font).
_FOLLOWED = frozenset({QEvent.Type.EnabledChange, QEvent.Type.ParentChange, QEvent.Type.Polish, QEvent.Type.Show,
                       QEvent.Type.StyleChange})


class _BoldWhileEnabled(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _FOLLOWED and isinstance(watched, QWidget):
            _follow(watched)
        return False


def _follow(widget: QWidget) -> None:
    font = widget.font()
    if font.bold() != widget.isEnabled():
        font.setBold(widget.isEnabled())
        widget.setFont(font)


def bold_while_enabled(widget: QWidget) -> QWidget:
    """Make `widget`'s font bold exactly while it is enabled (returns it, for chaining)."""
    watcher = _BoldWhileEnabled(widget)  # parented: it lives as long as the widget
    widget.installEventFilter(watcher)
    _follow(widget)
    return widget
