"""``emit(signal, *args)``: emit a Qt signal without PySide6 6.12.0's lost ``True`` reference.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without taking a reference to it, so every
``signal.emit(...)`` called from Python decrements ``Py_True``'s reference count by one. A desktop app
that emits a progress signal per record drains it within minutes, and the interpreter aborts with
"Fatal Python error: bool_dealloc" (the test suite hits it at exit). Our code therefore never calls
``.emit`` directly: it calls :func:`emit`, which gives the reference back when — and only when — the
installed PySide6 was found (by a probe at import) to lose it. On a fixed PySide6 it is a plain emit.
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


def _emit_loses_true() -> bool:
    """Measure: 64 emits in a tight loop; a broken PySide6 lowers ``Py_True``'s count by 64.

    The GIL rarely switches inside so short a loop, and another thread's own True references cancel
    out, so "lost at least 48 of 64" separates the two cases with a wide margin.
    """
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(64):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(lost, 0)):
        _incref(True)
    return lost >= 48


EMIT_LOSES_TRUE = _emit_loses_true()


def emit(signal: Any, *args: Any) -> None:
    """Emit ``signal`` with ``args`` (any thread); compensates PySide6 6.12.0's refcount bug."""
    result = signal.emit(*args)
    if EMIT_LOSES_TRUE and result is True:
        _incref(True)
