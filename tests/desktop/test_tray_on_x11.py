"""The tray on a real X11 desktop (Xvfb + the trayer system tray + the xcb platform plugin): the icon
is embedded, turns to syncing and then needs-attention, the end of a run with problems shows a
notification balloon, and clicking the icon asks to open the window. The rest of the suite runs Qt
offscreen, where no tray exists. Needs Debian's xvfb, trayer and xdotool; skipped without them (CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "linux" / "check_tray_x11.py"
sys.path.insert(0, str(SCRIPT.parent))
from check_tray_x11 import missing_tools  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or bool(missing_tools()),
                                reason=f"needs {', '.join(missing_tools()) or 'Linux'} (a real X server and tray)")


@pytest.mark.timeout(300)
def test_tray_icon_states_notification_and_click_on_a_real_x11_tray(tmp_path):
    shot = tmp_path / "tray.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--screenshot", str(shot)], capture_output=True, text=True,
                          timeout=280)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["platform"] == "xcb" and result["tray_available"] and result["icon_embedded"], result
    assert result["icons_seen"][0] == "tray-syncing" and result["icons_seen"][-1] == "tray-attention", result
    title, message = result["notification"]
    assert title == "Sync finished with problems" and "could not be synced" in message
    assert result["balloon_shown"] and result["click_opens_window"], result
    assert proc.returncode == 0 and shot.stat().st_size > 1000
