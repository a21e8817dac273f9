"""Intuit's per-company limits: 500 requests a minute, 10 in flight at once, 40 batch requests a minute.

Windows slide (a deque of accepted request times per realm). ``time_scale`` divides the window, so
``time_scale=60`` makes a throttle "minute" last one second — benchmarks and drills can reach the
limit quickly without sending 500 requests in a real minute. Refused requests are not counted.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

REQUESTS_PER_MINUTE = 500
CONCURRENT = 10
BATCH_PER_MINUTE = 40


class Throttle:
    def __init__(self, *, enabled: bool = True, time_scale: float = 1.0, per_minute: int = REQUESTS_PER_MINUTE,
                 concurrent: int = CONCURRENT, batch_per_minute: int = BATCH_PER_MINUTE,
                 now: Callable[[], float] = time.monotonic) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.enabled = enabled
        self.window = 60.0 / time_scale
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.batch_per_minute = batch_per_minute
        self._now = now
        self._lock = threading.Lock()
        self._requests: dict[str, deque[float]] = {}
        self._batches: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    def reset(self, *, enabled: bool) -> None:
        """Forget the request history (requests still in flight keep their count until they leave)."""
        with self._lock:
            self.enabled = enabled
            self._requests.clear()
            self._batches.clear()

    def enter(self, realm: str, *, batch: bool = False) -> str | None:
        """Admit a request, or return why it is refused (then do not call :meth:`leave`)."""
        now = self._now()
        with self._lock:
            if not self.enabled:
                self._in_flight[realm] = self._in_flight.get(realm, 0) + 1
                return None
            if self._in_flight.get(realm, 0) >= self.concurrent:
                return f"More than {self.concurrent} requests at the same time for this company."
            requests = self._prune(self._requests, realm, now)
            if len(requests) >= self.per_minute:
                return f"More than {self.per_minute} requests in a minute for this company."
            batches = self._prune(self._batches, realm, now)
            if batch and len(batches) >= self.batch_per_minute:
                return f"More than {self.batch_per_minute} batch requests in a minute for this company."
            requests.append(now)
            if batch:
                batches.append(now)
            self._in_flight[realm] = self._in_flight.get(realm, 0) + 1
            return None

    def leave(self, realm: str) -> None:
        with self._lock:
            self._in_flight[realm] = max(0, self._in_flight.get(realm, 0) - 1)

    def _prune(self, table: dict[str, deque[float]], realm: str, now: float) -> deque[float]:
        window = table.setdefault(realm, deque())
        while window and now - window[0] >= self.window:
            window.popleft()
        return window
