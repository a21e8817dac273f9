"""Before the window: can Qt open a display here? If not, say plainly what is missing.

On Linux Qt draws through its "xcb" platform plugin (X11, also XWayland), which needs a set of
system libraries a minimal install lacks. When one is missing Qt prints a generic "could not load
the Qt platform plugin" (naming libxcb-cursor0 even when that one is installed) and aborts the
process, which no ``try`` can catch. So the app checks first, before creating the QApplication,
and prints the missing files *and* the Debian/Ubuntu packages that provide them (issue 17).

The list is what the plugin shipped with PySide6 6.11 links against (``ldd libqxcb.so``), found by
launching on a bare Debian 12 under Xvfb; README.md's Quick start lists the same packages.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterable, Mapping

#: Shared library → the Debian/Ubuntu package that provides it, for Qt's xcb platform plugin.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def missing_libraries(libraries: Iterable[str] = XCB_LIBRARIES) -> list[str]:
    """The libraries the dynamic loader cannot load (the same loader Qt uses for its plugin)."""
    missing = []
    for name in libraries:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def _platform(env: Mapping[str, str]) -> str:
    """The platform plugin Qt will try: QT_QPA_PLATFORM, else wayland in a Wayland session, else xcb."""
    chosen = (env.get("QT_QPA_PLATFORM") or "").split(":", 1)[0].split(";", 1)[0].strip()
    if chosen:
        return chosen
    return "wayland" if env.get("WAYLAND_DISPLAY") else "xcb"


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None,
                    libraries: Mapping[str, str] = XCB_LIBRARIES) -> str | None:
    """A plain explanation (with what to do) when Qt cannot open a window here, else None.

    Only Linux's X11 path is checked: Windows and macOS ship their platform plugin's needs, and the
    offscreen/minimal plugins need no display.
    """
    env = os.environ if env is None else env
    if (platform or sys.platform) != "linux" or _platform(env) != "xcb":
        return None
    missing = missing_libraries(libraries)
    if missing:
        packages = sorted({libraries[name] for name in missing})
        return (
            "QBO Sync cannot open its window: Qt's X11 display support needs system libraries that are not "
            f"installed ({', '.join(missing)}).\n"
            f"What to do: on Debian or Ubuntu run\n    sudo apt-get install {' '.join(packages)}\n"
            "then start QBO Sync again (on other Linux systems install the packages that provide those files; "
            "README.md lists them all). The command-line tool 'qbosync' works without them."
        )
    if not env.get("DISPLAY"):
        return (
            "QBO Sync cannot open its window: there is no display (DISPLAY is not set).\n"
            "What to do: start it from a desktop session; on a server use the command-line tool 'qbosync', or "
            "run the window under a virtual display: xvfb-run qbosync-desktop."
        )
    return None


__all__ = ["XCB_LIBRARIES", "display_problem", "missing_libraries"]
