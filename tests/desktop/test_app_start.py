"""The desktop app starts offscreen, shows a window and quits cleanly; a second launch defers."""

from __future__ import annotations

import os
import subprocess
import sys


def test_app_starts_and_quits_offscreen(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QBOSYNC_HOME=str(tmp_path))
    r = subprocess.run([sys.executable, "main.py", "--quit-after", "300"], capture_output=True, text=True, env=env, timeout=90,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "logs" / "qbosync.log").read_text()
    assert "started" in log and "stopped" in log


def test_second_instance_hands_over_to_the_first(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QBOSYNC_HOME=str(tmp_path))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    first = subprocess.Popen([sys.executable, "main.py", "--quit-after", "6000"], env=env, cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log_file = tmp_path / "logs" / "qbosync.log"
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (log_file.exists() and "started" in log_file.read_text()):
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "main.py", "--quit-after", "3000"], env=env, cwd=root,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0
        assert "Another instance is running" in log_file.read_text()
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0
