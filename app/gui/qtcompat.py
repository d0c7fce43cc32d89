"""Work-arounds for Qt binding bugs, in one place.

PySide6 6.12.0's `SignalInstance.emit()` returns `True` without taking a reference to it: every
Python-side emit drops one reference to `True`, and after a few thousand emits (one long run)
the interpreter aborts with "Fatal Python error: bool_dealloc". `emit()` below puts the
reference back, and only when a probe at import shows the binding has the bug.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _emit_drops_true(n: int = 16) -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(n):
        probe.ping.emit()
    dropped = before - sys.getrefcount(True)
    for _ in range(max(0, dropped)):
        _incref(True)  # give back what the probe itself took
    return dropped >= n // 2


EMIT_DROPS_TRUE = _emit_drops_true()


def emit(signal: Any, *args: object) -> None:
    """`signal.emit(*args)`, without the binding's lost reference to True."""
    result = signal.emit(*args)
    if EMIT_DROPS_TRUE and result is True:
        _incref(True)
