"""The Qt binding must not eat references to None or True (PySide6 6.12.0 did; pyproject pins it out)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal


class _Pinger(QObject):
    ping = Signal()


def test_void_calls_and_emits_keep_none_and_true_alive(qtbot) -> None:
    timer = QTimer()
    pinger = _Pinger()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(2000):
        timer.setInterval(5)  # returns None
        pinger.ping.emit()  # returns True
    # A long session makes millions of such calls: losing one reference each ends in
    # "Fatal Python error: none_dealloc" (Python 3.11, where None is not immortal).
    assert sys.getrefcount(None) > none_before - 100
    assert sys.getrefcount(True) > true_before - 100
