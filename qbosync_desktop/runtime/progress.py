"""Coalesced progress of a running sync: what the window and the tray show, at most ten times a second.

The engine calls its :class:`~qbosync_desktop.sync.engine.Observer` once per record — thousands of
times a second in a large sync. :class:`CoalescingObserver` turns those calls into a
:class:`Progress` snapshot at most every ``interval`` seconds and hands it to a *sink*: the desktop
service's sink emits a queued Qt signal, the sync worker process's sink writes a message to its pipe.
Qt-free on purpose: the worker process never imports PySide6.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from qbosync_desktop.sync.engine import Observer, RunSummary


@dataclass
class Progress:
    """A coalesced snapshot of a running sync, as the window shows it."""

    run_id: int | None = None
    entity: str = ""
    done: int = 0
    total: int = 0
    done_overall: int = 0
    total_overall: int = 0
    counts: dict[str, dict[str, int]] | None = None
    eta_seconds: float | None = None
    started: float = 0.0

    @property
    def fraction(self) -> float | None:
        if self.total_overall:
            return min(1.0, self.done_overall / self.total_overall)
        if self.total:
            return min(1.0, self.done / self.total)
        return None


class ProgressSink(Protocol):
    """Where a :class:`CoalescingObserver` delivers; called on whichever thread the engine used."""

    def run_started(self, run_id: int | None) -> None: ...

    def progress(self, snapshot: Progress) -> None: ...

    def problem(self, problem: dict[str, Any]) -> None: ...


class CoalescingObserver(Observer):
    """Engine callbacks → at most one :class:`Progress` snapshot per ``interval`` seconds, plus every
    problem and the start of the run as they happen. The engine's worker pool calls it from several
    threads, so the counters are updated under a lock."""

    def __init__(self, sink: ProgressSink, total_hint: int = 0, interval: float = 0.1) -> None:
        self.sink = sink
        self.interval = interval
        self.p = Progress(total_overall=total_hint, counts={}, started=time.monotonic())
        self._last_emit = 0.0
        self._phase_started = time.monotonic()
        self._lock = threading.Lock()

    def _snapshot(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_emit < self.interval:
                return
            self._last_emit = now
            p = self.p
            elapsed = now - p.started
            if p.total_overall and p.done_overall:
                rate = p.done_overall / max(elapsed, 1e-6)
                p.eta_seconds = max(0.0, (p.total_overall - p.done_overall) / rate)
            elif p.total and p.done:
                rate = p.done / max(now - self._phase_started, 1e-6)
                p.eta_seconds = max(0.0, (p.total - p.done) / rate)
            else:
                p.eta_seconds = None
            snap = Progress(p.run_id, p.entity, p.done, p.total, p.done_overall, p.total_overall,
                            {k: dict(v) for k, v in (p.counts or {}).items()}, p.eta_seconds, p.started)
        self.sink.progress(snap)

    def run_started(self, run_id: int | None, total_estimate: int) -> None:
        with self._lock:
            self.p.run_id = run_id
            if total_estimate and not self.p.total_overall:
                self.p.total_overall = total_estimate
        self.sink.run_started(run_id)
        self._snapshot(force=True)

    def phase(self, entity: str, done: int, total: int) -> None:
        with self._lock:
            if entity != self.p.entity:
                self._phase_started = time.monotonic()
                self.p.entity, self.p.done = entity, done
            self.p.total = total or self.p.total
        self._snapshot(force=True)

    def record(self, entity: str, work_id: str | None, outcome: str, message: str) -> None:
        with self._lock:
            bucket = self.p.counts.setdefault(entity, {})  # type: ignore[union-attr]
            bucket[outcome] = bucket.get(outcome, 0) + 1
            if entity == self.p.entity:
                self.p.done += 1
            self.p.done_overall += 1
        self._snapshot()

    def problem(self, problem: dict[str, Any]) -> None:
        self.sink.problem(problem)

    def run_finished(self, summary: RunSummary) -> None:
        # The run's own counts are the truth (some outcomes, e.g. conflicts, are counted without a
        # per-record callback); the last snapshot shows them.
        with self._lock:
            self.p.counts = {k: dict(v) for k, v in (summary.counts or {}).items()}
        self._snapshot(force=True)
