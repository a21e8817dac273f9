"""Issue 17, first run: when Qt cannot open a window (a system library of its X11 plugin missing, or
no display at all) the app says what is missing and what to do, instead of Qt's generic abort."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qbosync_desktop.desktop.qt_check import XCB_LIBRARIES, display_problem, missing_libraries


def test_without_a_display_the_app_says_so_plainly_instead_of_aborting(home):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    done = subprocess.run([sys.executable, "-c", "from qbosync_desktop.desktop.app import main; raise SystemExit(main())"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert "QBO Sync cannot open its window" in done.stderr and "What to do" in done.stderr
    # Either the libraries are missing (named with their packages) or there is no display (said so).
    assert "apt-get install" in done.stderr or "no display" in done.stderr
    assert "Aborted" not in done.stderr and "could not be initialized" not in done.stderr


def test_a_missing_library_is_named_with_the_package_that_provides_it():
    libraries = {"libqbosync-not-there.so.7": "qbosync-test-package", "libc.so.6": "libc6"}
    assert missing_libraries(libraries) == ["libqbosync-not-there.so.7"]
    text = display_problem({"DISPLAY": ":99"}, platform="linux", libraries=libraries)
    assert text is not None and "libqbosync-not-there.so.7" in text
    assert "sudo apt-get install qbosync-test-package" in text and "libc6" not in text
    # Offscreen (tests, screenshots) and other systems need no check.
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux", libraries=libraries) is None
    assert display_problem({"DISPLAY": ":99"}, platform="win32", libraries=libraries) is None


def test_the_library_table_covers_what_the_shipped_xcb_plugin_links_against():
    """Every xcb/xkb library the installed plugin needs (ldd) has a package in the table."""
    import shutil
    from pathlib import Path

    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if sys.platform != "linux" or not plugin.exists() or shutil.which("ldd") is None:
        pytest.skip("the xcb plugin and ldd exist on Linux only")
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=60).stdout
    needed = {line.split()[0] for line in out.splitlines() if line.strip().startswith(("libxcb", "libxkb", "libX11"))}
    assert needed and needed <= set(XCB_LIBRARIES), needed - set(XCB_LIBRARIES)
