"""Measures event-loop stalls: how late a 10 ms timer fires while the app works.

"The GUI thread never blocks" is a claim a test can check: a ``QTimer`` asks to run every 10 ms; any
gap much longer than that is time the GUI thread spent on something else (rendering a huge table,
a synchronous call, a flood of queued signals) instead of answering the person. Used by the
responsiveness test and bench/bench_ui_responsiveness.py.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallMeter(QObject):
    """Start, do work while the Qt loop runs, stop; then read :attr:`max_ms` / :meth:`percentile`."""

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.gaps_ms: list[float] = []
        #: CPU time the GUI thread itself spent in each gap: a long gap with little CPU means the thread
        #: was waiting (for the OS scheduler or the GIL), not running our code.
        self.busy_ms: list[float] = []
        #: (seconds since start, gap ms, GUI CPU ms) of every gap over :attr:`long_ms` — when they happened.
        self.long_gaps: list[tuple[float, float, float]] = []
        self.long_ms = 50.0
        self._started = 0.0
        #: Wall-clock time of :meth:`start` (to line long gaps up with another process's measurements).
        self.started_at = 0.0
        self._last: float | None = None
        self._last_cpu = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps_ms.clear()
        self.busy_ms.clear()
        self.long_gaps.clear()
        self._last = self._started = time.perf_counter()
        self.started_at = time.time()
        self._last_cpu = time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if self._last is not None:
            gap, busy = (now - self._last) * 1000.0, (cpu - self._last_cpu) * 1000.0
            self.gaps_ms.append(gap)
            self.busy_ms.append(busy)
            if gap > self.long_ms:
                self.long_gaps.append((now - self._started, gap, busy))
        self._last, self._last_cpu = now, cpu

    @property
    def max_ms(self) -> float:
        return max(self.gaps_ms, default=0.0)

    @property
    def max_busy_ms(self) -> float:
        return max(self.busy_ms, default=0.0)

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        values = self.gaps_ms if values is None else values
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]

    def report(self) -> str:
        return (f"{len(self.gaps_ms)} ticks, max gap {self.max_ms:.1f} ms, p99 {self.percentile(99):.1f} ms, "
                f"p50 {self.percentile(50):.1f} ms; GUI-thread CPU per gap max {self.max_busy_ms:.1f} ms "
                f"(timer interval {self.interval_ms} ms)")


    def app_gaps_over(self, ms: float, machine_stalls: list[tuple[float, float]], window_s: float = 0.2
                      ) -> list[tuple[float, float, float]]:
        """Long gaps (over ``ms``) that no :class:`MachineStallMeter` stall explains: the app's own."""
        return [(t, g, b) for t, g, b in self.long_gaps if g > ms
                and not any(abs((self.started_at + t) - end) < window_s for end, _g in machine_stalls)]


class MachineStallMeter:
    """A bare Python process that only sleeps 10 ms at a time, recording every gap over 50 ms as
    (wall-clock time, ms). What the machine alone does to a process with nothing to do — CPU steal on
    a shared virtual machine, the OS scheduler — measured alongside the app so a long gap can be told
    apart from the app's own stalls. Start it before the work, :meth:`stop` after."""

    SCRIPT = (
        "import json, sys, threading, time\n"
        "stop = threading.Event()\n"
        "threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()\n"
        "gaps, last = [], time.perf_counter()\n"
        "while not stop.is_set():\n"
        "    time.sleep(0.01)\n"
        "    now = time.perf_counter()\n"
        "    if now - last > 0.05:\n"
        "        gaps.append((time.time(), (now - last) * 1000))\n"
        "    last = now\n"
        "print(json.dumps(gaps))\n"
    )

    def __init__(self) -> None:
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def stop(self) -> list[tuple[float, float]]:
        import json

        out, _err = self.proc.communicate("", timeout=30)
        return [(float(t), float(g)) for t, g in json.loads(out or "[]")]
