"""``run_until``: run the real Qt event loop until a condition holds (scripts and benchmarks).

Scripts that drive the UI without pytest-qt (the screenshot renderer, the responsiveness benchmark)
must let Qt deliver queued signals from worker threads. Spinning ``processEvents()`` in a Python loop
does that badly (it burns the CPU the worker needs); a nested ``QEventLoop`` polled by a timer is the
real loop, like the app's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer


def run_until(condition: Callable[[], object], timeout_ms: int = 120_000, extra_ms: int = 0) -> bool:
    """Run the event loop until ``condition()`` is truthy (then ``extra_ms`` more); False on timeout."""
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_ms / 1000
    met = [False]

    def check() -> None:
        if met[0]:
            return
        if condition():
            met[0] = True
            QTimer.singleShot(extra_ms, loop.quit)
        elif time.monotonic() > deadline:
            loop.quit()

    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(check)
    poll.start()
    check()
    if not met[0] or extra_ms:
        loop.exec()
    poll.stop()
    return met[0]
