"""The client-side limiter that keeps one company's traffic under Intuit's throttles.

Intuit's limits per company (QBO_API_NOTES.md "Throttles"): 500 requests/min, 10 requests/s (and 10
in flight), 40 batch requests/min; over them QuickBooks answers 429 and advises waiting 60 s. A 429
in the middle of an initial sync costs a full minute, so we stay under the limits instead of reacting.

Why sliding logs that count in-flight requests, and timestamp a request when its response *ends*:
the server counts a request when it arrives, which is somewhere between our send and our receive.
A request in flight therefore counts in every window, and a finished one counts as if it arrived
at the latest possible moment. Our windows then always hold at least what the server's hold, so
when ours have room, the server's have room too, whatever the network delay.

Why shared per company: the tray app's sync worker, the account dropdown loader and the wizard each
build their own :class:`~qbosync_desktop.connectors.qbo.client.QboClient`; the budget is the company's, so all
clients in one process take their permits from one limiter (:func:`shared_limiter`). Two *processes*
(tray + cron) do not share it; the 429 handling in the client covers that rare case.

``time_scale`` divides every window (60 → a "minute" lasts one second), matching the practice
sandbox's scaled clock, so throttle tests and benchmarks run in seconds. ``clock``/``sleep`` are
injectable so the arithmetic is unit-tested without waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from qbosync_desktop.core.errors import Cancelled

INF = math.inf


@dataclass(frozen=True)
class RateLimits:
    """Intuit's published per-company limits; ``time_scale`` shortens every window by that factor."""

    per_minute: int = 500
    per_second: int = 10
    concurrent: int = 10
    batch_per_minute: int = 40
    time_scale: float = 1.0

    @property
    def minute(self) -> float:
        return 60.0 / self.time_scale

    @property
    def second(self) -> float:
        return 1.0 / self.time_scale


class _Slot:
    __slots__ = ("batch", "t")

    def __init__(self, batch: bool) -> None:
        self.batch = batch
        self.t = INF  # in flight: counts in every window until it ends


class Permit:
    """One request's right to be sent. Use as a context manager; release marks the end time."""

    def __init__(self, limiter: RateLimiter, slot: _Slot) -> None:
        self._limiter = limiter
        self._slot = slot
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limiter._release(self._slot)

    def __enter__(self) -> Permit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _window_wait(times: list[float], now: float, window: float, limit: int) -> float | None:
    """Seconds until one more request fits in ``limit`` per ``window``; None if only a finishing
    in-flight request can make room (wait for a release instead of for time)."""
    inside = [t for t in times if t > now - window]
    excess = len(inside) - limit + 1
    if excess <= 0:
        return 0.0
    finished = sorted(t for t in inside if t != INF)
    if excess > len(finished):
        return None
    return max(0.0, finished[excess - 1] + window - now)


class RateLimiter:
    """Per-company permits: ``with limiter.acquire(batch=True): send()``."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits or RateLimits()
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._slots: list[_Slot] = []
        self._paused_until = -INF
        self.waited = 0.0  # total seconds callers spent waiting (benchmarks report it)

    # -- arithmetic (pure given the clock) ----------------------------------------------------------
    def delay(self, batch: bool = False) -> float | None:
        """How long a request would wait now (0 = send at once; None = until an in-flight one ends)."""
        with self._cond:
            return self._delay_locked(self._clock(), batch)

    def _delay_locked(self, now: float, batch: bool) -> float | None:
        lim = self.limits
        horizon = now - lim.minute
        self._slots = [s for s in self._slots if s.t > horizon]
        if sum(1 for s in self._slots if s.t == INF) >= lim.concurrent:
            return None
        times = [s.t for s in self._slots]
        waits = [
            max(0.0, self._paused_until - now),
            _window_wait(times, now, lim.second, lim.per_second),
            _window_wait(times, now, lim.minute, lim.per_minute),
        ]
        if batch:
            waits.append(_window_wait([s.t for s in self._slots if s.batch], now, lim.minute, lim.batch_per_minute))
        if any(w is None for w in waits):
            return None
        return max(w for w in waits if w is not None)

    # -- permits ------------------------------------------------------------------------------------
    def acquire(self, batch: bool = False, cancel: threading.Event | None = None) -> Permit:
        """Block until the request fits every window, then reserve it (counted as in flight)."""
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            with self._cond:
                now = self._clock()
                wait = self._delay_locked(now, batch)
                if wait == 0.0:
                    slot = _Slot(batch)
                    self._slots.append(slot)
                    return Permit(self, slot)
                if wait is None:
                    self._cond.wait(timeout=0.05)
                    continue
            wait = min(wait, 0.25)  # re-check often: cancel, and permits released meanwhile
            self.waited += wait
            self._sleep(wait)

    def _release(self, slot: _Slot) -> None:
        with self._cond:
            slot.t = self._clock()
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """After a 429 (another process spent the budget): nobody in this process sends for a while."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def in_flight(self) -> int:
        with self._cond:
            return sum(1 for s in self._slots if s.t == INF)


_registry: dict[tuple[str, RateLimits], RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(realm_id: str, limits: RateLimits | None = None) -> RateLimiter:
    """The one limiter for this company (and these limits) in this process."""
    key = (str(realm_id), limits or RateLimits())
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(key[1])
        return limiter
