"""The desktop app's practice servers run in a process of their own (practice.PracticeProcess): a
workspace connects to them through the real OAuth and Work paths and syncs; stop() ends the process;
and the servers also stop by themselves when the app's end of the pipe closes (the app is gone)."""

from __future__ import annotations

import pytest

from qbosync_desktop.runtime.practice import PracticeProcess, connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.sync.engine import SyncEngine


@pytest.mark.timeout(120)
def test_connect_and_sync_against_the_practice_process_then_stop_it(home, tmp_path):
    practice = PracticeProcess(data_dir=tmp_path / "practice", throttle=False)
    proc = practice._proc
    try:
        assert proc.is_alive() and practice.qbo_config.api_base.startswith("http://127.0.0.1:")
        ws = Workspace.open(home)
        try:
            connect_practice(ws, practice, timeout=30)
            ws.save_settings(practice_settings(ws))
            summary = SyncEngine(ws).run(initial=True)
            assert summary.state == "done" and any(c.get("created") for c in summary.counts.values())
        finally:
            ws.close()
    finally:
        practice.stop()
    assert not proc.is_alive() and proc.exitcode == 0


@pytest.mark.timeout(60)
def test_the_practice_servers_stop_when_the_app_is_gone(tmp_path):
    practice = PracticeProcess(data_dir=None, throttle=False)
    proc = practice._proc
    practice._conn.close()  # what the OS does to the app's end of the pipe when the app exits
    proc.join(30)
    assert not proc.is_alive() and proc.exitcode == 0
