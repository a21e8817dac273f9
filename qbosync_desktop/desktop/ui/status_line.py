"""One line that always says where things stand, as a sync client's status does.

"Up to date · synced 2 minutes ago", "Syncing… 120 of 640", "3 problems · 2 changes wait for your
decision". The integration window shows it under the company name and sends it to the tray (tooltip
and the first menu line), so the window, the tray and the screen reader never disagree. The time is
relative ("just now", "40 seconds ago") so a Sync now visibly changes it; the exact time is in the
tooltip (:func:`exact_time`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qbosync_desktop.desktop.ui.text import tr


def _utc(value: Any) -> dt.datetime | None:
    """A naive-UTC database timestamp (or ISO text) as an aware UTC datetime."""
    if not value:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.rstrip("Z"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def relative_time(value: Any, now: dt.datetime | None = None) -> str:
    """"just now" (under 10 s), "40 seconds ago", "1 minute ago", "3 hours ago", "yesterday", or the date."""
    when = _utc(value)
    if when is None:
        return ""
    now = now or dt.datetime.now(dt.timezone.utc)
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 10:
        return tr("just now")
    if seconds < 60:
        return tr("{0} seconds ago").format(int(seconds))
    minutes = int(seconds // 60)
    if minutes < 60:
        return tr("1 minute ago") if minutes == 1 else tr("{0} minutes ago").format(minutes)
    hours = minutes // 60
    if hours < 24:
        return tr("1 hour ago") if hours == 1 else tr("{0} hours ago").format(hours)
    local = when.astimezone()
    if hours < 48:
        return tr("yesterday at {0}").format(local.strftime("%H:%M"))
    return tr("on {0}").format(local.strftime("%Y-%m-%d %H:%M"))


def exact_time(value: Any) -> str:
    """The full local time with seconds and zone (the tooltip of a relative time)."""
    when = _utc(value)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if when else ""


@dataclass
class SyncStatus:
    """What the line is made of; :meth:`text` words it."""

    connection: str = "connected"  # connected / needs_reconnect / disconnected
    running: bool = False
    done: int = 0
    total: int = 0
    paused: bool = False
    last_sync: Any = None  # when the last finished run ended (naive UTC)
    last_failed: str = ""  # the last run's stop reason, if it stopped
    problems: int = 0
    waiting: int = 0  # conflicts + match proposals: changes that wait for a person's decision

    @property
    def level(self) -> str:
        """"ok", "syncing" or "attention" (the icon and colour next to the line)."""
        if self.connection != "connected" or self.problems or self.waiting or self.last_failed:
            return "attention"
        return "syncing" if self.running else "ok"

    def text(self, now: dt.datetime | None = None) -> str:
        if self.connection == "needs_reconnect":
            return tr("QuickBooks needs to be reconnected · syncing is stopped")
        if self.connection == "disconnected":
            return tr("Not connected")
        if self.running:
            if self.total:
                return tr("Syncing… {0} of {1}").format(f"{self.done:,}", f"{self.total:,}")
            return tr("Syncing…")
        parts = []
        if self.problems:
            parts.append(tr("1 problem") if self.problems == 1 else tr("{0} problems").format(self.problems))
        if self.waiting:
            parts.append(tr("1 change waits for your decision") if self.waiting == 1
                         else tr("{0} changes wait for your decision").format(self.waiting))
        if self.last_failed:
            parts.insert(0, tr("Last sync stopped: {0}").format(self.last_failed))
        if not parts:
            parts.append(tr("Up to date") if self.last_sync else tr("Not synced yet"))
        if self.last_sync:
            parts.append(tr("synced {0}").format(relative_time(self.last_sync, now)))
        if self.paused:
            parts.append(tr("scheduled syncs paused"))
        return " · ".join(parts)


__all__ = ["SyncStatus", "exact_time", "relative_time"]
