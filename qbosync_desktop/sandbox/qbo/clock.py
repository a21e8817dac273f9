"""Time as the sandbox's QuickBooks company sees it.

QBO stamps ``MetaData`` in the company's time zone with an explicit offset and whole seconds
(``2026-11-22T10:00:00-08:00``), and the ``time`` field of a response with milliseconds. The practice
company lives on Pacific Standard Time (a fixed -08:00, as many QBO sandbox companies report).

The clock can be moved forward (:meth:`Clock.advance`) so tests can expire access tokens or age CDC
cursors past QBO's 30-day window without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

COMPANY_TZ = timezone(timedelta(hours=-8))


class Clock:
    """Wall-clock seconds plus an adjustable offset (never negative jumps: tests only age things)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def monotonic(self) -> float:
        """For intervals (throttle windows): monotonic time moved by the same offset."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += float(seconds)

    @property
    def offset(self) -> float:
        return self._offset

    def set_offset(self, seconds: float) -> None:
        """Only for :meth:`QboSandbox.restore`, which puts the company back to the same moment."""
        with self._lock:
            self._offset = float(seconds)


def intuit_time(ts: float) -> str:
    """``MetaData`` style: whole seconds with the company's offset."""
    return datetime.fromtimestamp(ts, COMPANY_TZ).isoformat(timespec="seconds")


def response_time(ts: float) -> str:
    """The ``time`` field of every response: milliseconds with the company's offset."""
    return datetime.fromtimestamp(ts, COMPANY_TZ).isoformat(timespec="milliseconds")


def company_date(ts: float, days: int = 0) -> str:
    """A ``TxnDate``/``DueDate`` (YYYY-MM-DD) in the company's time zone."""
    return (datetime.fromtimestamp(ts, COMPANY_TZ) + timedelta(days=days)).date().isoformat()


def parse_time(text: str) -> float:
    """Parse an ISO 8601 date or date-time as QBO accepts it; naive values are company time.

    Raises ``ValueError`` for anything else, which callers turn into the matching fault.
    """
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=COMPANY_TZ)
    return dt.timestamp()
