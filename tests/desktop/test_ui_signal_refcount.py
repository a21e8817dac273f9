"""Emitting signals through ui.signals.emit never drains Python's ``True`` (PySide6 6.12.0 bug)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from qbosync_desktop.desktop.signals import emit


class _Source(QObject):
    changed = Signal(bool, str)


def test_many_emits_keep_true_alive(qtbot):
    src = _Source()
    got = []
    src.changed.connect(lambda ok, why: got.append(1 if ok else 0))
    before = sys.getrefcount(True)
    for i in range(5000):
        emit(src.changed, i % 2 == 0, "x")
    assert len(got) == 5000
    assert abs(sys.getrefcount(True) - before) < 50


def test_no_direct_emit_calls_in_ui_and_service():
    root = Path(__file__).resolve().parents[2] / "qbosync_desktop"
    offenders = []
    for path in [*root.joinpath("ui").rglob("*.py"), root / "service.py"]:
        if not path.exists() or path.name == "signals.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.emit\(", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == [], "use qbosync_desktop.desktop.signals.emit(signal, ...) instead of signal.emit(...)"
