"""Background processes give way to the window: the sync worker and the practice servers run at a
lower priority (nice 10 on Linux and macOS, "below normal" on Windows), so when the machine is busy
the window — and the person's other programs — get the CPU first."""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

#: The niceness of background processes on Linux and macOS (Windows: "below normal" priority class).
BACKGROUND_NICE = 10


def lower_priority() -> None:
    """Give way to the window: a background sync must never take the CPU from the person using the
    computer (or from the app's own window when both want it). Best effort on every OS."""
    try:
        if sys.platform == "win32":
            below_normal = 0x4000  # BELOW_NORMAL_PRIORITY_CLASS
            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal)
        else:
            os.nice(BACKGROUND_NICE)
    except (OSError, AttributeError):
        log.info("Could not lower the sync worker's priority", exc_info=True)
