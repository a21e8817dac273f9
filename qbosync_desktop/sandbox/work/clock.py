"""Timestamps for the Work demo server: strictly increasing, microsecond precision, UTC.

Why strictly increasing: lists are ordered by ``(updated_at, id)`` and clients resume reading with
``updated_since``. If two changes could share a timestamp, or the wall clock stepped backwards (NTP),
a change could land *behind* a cursor that a client already holds and be missed for ever. Each call
returns ``max(wall clock, previous + 1 µs)``, and it is taken while the store's write lock is held, so
commit order equals timestamp order.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class MonotonicClock:
    """Hands out unique, increasing timestamps as integer microseconds since the Unix epoch."""

    def __init__(self, floor: int = 0) -> None:
        self._last = floor
        self._lock = threading.Lock()

    def advance_to(self, micros: int) -> None:
        """Never hand out a value at or below ``micros`` (used after loading an existing database)."""
        with self._lock:
            self._last = max(self._last, micros)

    def now(self) -> int:
        with self._lock:
            self._last = max(time.time_ns() // 1000, self._last + 1)
            return self._last


def to_iso(micros: int) -> str:
    """``1700000000123456`` → ``"2023-11-14T22:13:20.123456Z"`` (fixed width, so it sorts as text too)."""
    seconds, frac = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:06d}Z"


def parse_iso(text: str) -> int:
    """Parse an ISO 8601 date-time (``Z`` or an offset; naive means UTC) into epoch microseconds.

    Raises ``ValueError`` on anything else, which the server turns into a 400.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
