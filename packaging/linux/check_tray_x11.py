"""Check the tray on a real X11 desktop: icon embedded, states, notification balloon, click to open.

    python packaging/linux/check_tray_x11.py [--screenshot tray.png]

The test suite runs Qt offscreen, where no system tray exists, so this script starts a real X server
(Xvfb) with a real tray host (trayer, an XEmbed system tray like those of XFCE, MATE or KDE's legacy
tray), runs the app's tray (ui/tray.py) with the xcb platform plugin against the practice servers,
and checks what a person would see: the icon is embedded in the tray, it turns to "syncing" and then
"needs attention" when a run ends with problems, a notification balloon with the run's result is
shown, and a click on the icon asks to open the window. Prints one JSON line; exit code 0 when every
check passed. Needs Debian's xvfb, trayer and xdotool (``tests/desktop/test_tray_on_x11.py`` runs it when
they are installed; CI has no display and skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEEDS = ("Xvfb", "trayer", "xdotool")


def missing_tools() -> list[str]:
    return [tool for tool in NEEDS if shutil.which(tool) is None]


def start_x() -> tuple[subprocess.Popen, str]:
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as fh:
        display = ":" + fh.readline().strip()
    return xvfb, display


def tray_center() -> tuple[int, int]:
    """The middle of trayer's panel window on screen (xdotool reports its geometry)."""
    ids = subprocess.run(["xdotool", "search", "--name", "^panel$"], capture_output=True, text=True).stdout.split()
    for wid in ids:
        shell = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], capture_output=True, text=True).stdout
        geo = dict(line.split("=", 1) for line in shell.splitlines() if "=" in line)
        if int(geo.get("WIDTH", 0)) > 1 and int(geo.get("HEIGHT", 0)) > 1:
            return int(geo["X"]) + int(geo["WIDTH"]) // 2, int(geo["Y"]) + int(geo["HEIGHT"]) // 2
    raise RuntimeError("the tray's window was not found")


def run_checks(screenshot: str | None) -> dict[str, object]:
    import keyring
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    from qbosync_desktop.core.keyring_memory import MemoryKeyring
    from qbosync_desktop.desktop.ui.eventloop import run_until
    from qbosync_desktop.desktop.ui.session import Session
    from qbosync_desktop.desktop.ui.tray import Tray
    from qbosync_desktop.runtime.practice import connect_practice, practice_settings, start_practice
    from qbosync_desktop.runtime.workspace import Workspace

    keyring.set_keyring(MemoryKeyring())
    app = QApplication(sys.argv[:1])
    result: dict[str, object] = {"platform": app.platformName()}
    run_until(QSystemTrayIcon.isSystemTrayAvailable, timeout_ms=10_000)
    result["tray_available"] = QSystemTrayIcon.isSystemTrayAvailable()
    practice = start_practice(throttle=False)
    ws = Workspace.open()
    try:
        connect_practice(ws, practice)
        ws.save_settings(practice_settings(ws))
        ws.mark_enabled()
        session = Session(ws, schedule=False)
        tray = Tray(session.service)
        icons: list[str] = []
        session.service.state_changed.connect(lambda _s: icons.append(tray.icon_name))
        notes: list[tuple[str, str]] = []
        tray.notified.connect(lambda title, message: notes.append((title, message)))
        opened: list[bool] = []
        tray.open_requested.connect(lambda: opened.append(True))
        tray.show()
        run_until(lambda: tray.tray.geometry().width() > 0, timeout_ms=10_000)
        geometry = tray.tray.geometry()
        result["icon_embedded"] = tray.tray.isVisible() and geometry.width() > 0
        result["icon_size"] = [geometry.width(), geometry.height()]
        done: list[object] = []
        session.service.finished.connect(done.append)
        session.service.set_attention(False)
        session.service.sync_now(initial=True)
        run_until(lambda: bool(done), timeout_ms=120_000)
        session.service.set_attention(bool(getattr(done[0], "open_problems", 0)))
        run_until(lambda: bool(notes), timeout_ms=5_000)
        app.processEvents()
        balloons = [w for w in QApplication.topLevelWidgets()
                    if w.metaObject().className() == "QBalloonTip" and w.isVisible()]
        result["icons_seen"] = icons
        result["notification"] = notes[0] if notes else None
        result["balloon_shown"] = bool(balloons)
        if screenshot:
            time.sleep(0.3)
            app.processEvents()
            screen = app.primaryScreen().geometry()  # the corner with the tray and the balloon
            app.primaryScreen().grabWindow(0, screen.width() - 460, screen.height() - 110, 460, 110).save(screenshot)
            result["screenshot"] = screenshot
        for balloon in balloons:
            balloon.hide()
        # A person clicks the tray icon (xdotool moves the real X pointer and clicks). The icon is the
        # only thing in the tray, so the middle of the tray's window is the icon.
        x, y = tray_center()
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True)
        run_until(lambda: bool(opened), timeout_ms=5_000)
        result["click_opens_window"] = bool(opened)
        session.close()
        run_until(lambda: not session.service.thread.is_alive(), timeout_ms=30_000)
    finally:
        ws.close()
        practice.stop()
    result["ok"] = bool(result["tray_available"] and result["icon_embedded"] and "tray-syncing" in icons
                        and icons and icons[-1] == "tray-attention" and result["notification"]
                        and result["balloon_shown"] and result["click_opens_window"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screenshot", help="save a picture of the tray corner with the balloon shown")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # the app side, under Xvfb
    args = parser.parse_args()
    if args.inside:
        result = run_checks(args.screenshot)
        print(json.dumps(result), flush=True)
        return 0 if result["ok"] else 1
    missing = missing_tools()
    if missing:
        print(json.dumps({"ok": False, "missing": missing}))
        return 2
    xvfb, display = start_x()
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    trayer = subprocess.Popen(["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "request",
                               "--height", "32", "--SetDockType", "true"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory(prefix="qbosync-tray-") as home:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--inside"]
            if args.screenshot:
                cmd += ["--screenshot", str(Path(args.screenshot).resolve())]
            proc = subprocess.run(cmd, env={**env, "QBOSYNC_HOME": home}, capture_output=True, text=True,
                                  timeout=240)
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            print(lines[-1] if lines else json.dumps({"ok": False, "stderr": proc.stderr[-2000:]}))
            return proc.returncode
    finally:
        trayer.terminate()
        xvfb.terminate()
        trayer.wait(10)
        xvfb.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
