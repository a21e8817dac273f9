"""Sync runs in the desktop app happen in a worker process (sync/worker_process.py), against the
practice servers: the worker reads and rotates secrets through the app's keyring, its log lines reach
the app's log, a worker killed mid-run is reported in words and the next run finishes with nothing
duplicated, and a worker whose app dies stops after the batch in flight."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest

from qbosync_desktop import APP_ID
from qbosync_desktop.core import secrets
from qbosync_desktop.core.errors import QboSyncError, SyncWorkerStopped
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.runtime.practice import connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.store.models.runs import Run


def _close(qtbot, session):
    session.close()
    qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


def _no_duplicates(practice):
    names = [c["DisplayName"] for c in practice.qbo.store.all("Customer")]
    assert len(names) == len(set(names)), "no duplicate customers"
    numbers = [i.get("DocNumber") for i in practice.qbo.store.all("Invoice")]
    assert len(numbers) == len(set(numbers)), "no duplicate invoices"


@pytest.fixture
def enabled(configured_workspace):
    configured_workspace.mark_enabled()
    return configured_workspace


def test_a_run_happens_in_the_worker_process_with_the_apps_keyring_and_log(qtbot, enabled, caplog):
    ws = enabled
    old_access = ws.secrets.get(secrets.QBO_ACCESS_TOKEN)
    ws.secrets.set(secrets.QBO_ACCESS_EXPIRES_AT, "0.000")  # the worker must refresh, and rotate, the token
    session = Session(ws, schedule=False)
    service = session.service
    caplog.set_level(logging.INFO)
    try:
        with qtbot.waitSignal(service.finished, timeout=120_000) as finished:
            assert service.sync_now(initial=True)
        worker = service.worker_process
        assert worker is not None and worker.pid not in (None, os.getpid())
        if hasattr(os, "getpriority"):
            assert os.getpriority(os.PRIO_PROCESS, worker.pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 1, \
                "the worker runs at a lower priority than the app"
        assert finished.args[0].state == "done"
        assert Run.get_by_id(finished.args[0].run_id).state == "done"
        # The token the worker got by refreshing is in the app's (in-memory, per-process) keyring.
        new_access = ws.secrets.get(secrets.QBO_ACCESS_TOKEN)
        assert new_access and new_access != old_access
        assert float(ws.secrets.get(secrets.QBO_ACCESS_EXPIRES_AT)) > time.time()
        assert ws.qbo_client().accounts(), "the app's own client still works after the worker rotated tokens"
        worker_lines = [r for r in caplog.records if r.threadName.startswith("sync-worker/")]
        assert any("Run" in r.getMessage() or "run" in r.getMessage() for r in worker_lines), \
            "the worker's log lines reach the app's log handlers"
        # A second run reuses the same worker process.
        with qtbot.waitSignal(service.finished, timeout=60_000):
            assert service.sync_now()
        assert worker.starts == 1
    finally:
        _close(qtbot, session)
    assert service.worker_process.pid is None, "closing the app stops its worker"


def test_the_keyring_relay_serves_only_this_apps_secrets(memory_keyring):
    keyring.set_password("another-app", "user", "not yours")
    assert secrets.relay_request("get", "another-app", "user", None) == ("error", "not this app's secret")
    assert secrets.relay_request("set", APP_ID, "x/name", "value") == ("ok", None)
    assert secrets.relay_request("get", APP_ID, "x/name", None) == ("ok", "value")
    assert secrets.relay_request("delete", APP_ID, "x/name", None) == ("ok", None)
    assert secrets.relay_request("delete", APP_ID, "x/name", None) == ("delete_error", None)


def test_a_killed_worker_is_reported_and_the_next_run_finishes_without_duplicates(qtbot, slow_enabled):
    practice, ws = slow_enabled
    session = Session(ws, schedule=False)
    service = session.service
    killed: list[int] = []

    def kill_midway(p):
        if p.done_overall >= 5 and not killed:
            killed.append(service.worker_process.pid)
            os.kill(killed[0], signal.SIGKILL)

    try:
        service.progress.connect(kill_midway)
        with qtbot.waitSignal(service.failed, timeout=120_000) as failed:
            service.sync_now(initial=True)
        error = failed.args[0]
        assert killed and isinstance(error, SyncWorkerStopped)
        assert "ended before the run finished" in error.message and "Sync now" in error.hint
        assert not service.busy
        service.progress.disconnect(kill_midway)
        with qtbot.waitSignal(service.finished, timeout=120_000) as second:
            service.sync_now(initial=True)
        assert second.args[0].state == "done"
        assert service.worker_process.starts == 2
        assert OutboxEntry.select().where(OutboxEntry.state.in_(("pending", "sent"))).count() == 0
        _no_duplicates(practice)
    finally:
        _close(qtbot, session)


_APP = r"""
import json, sys
from qbosync_desktop.core.paths import get_paths
from qbosync_desktop.runtime.worker_process import SyncWorkerProcess

worker = SyncWorkerProcess(get_paths())
worker.start()
print(json.dumps({"worker": worker.pid}), flush=True)
worker.run("run", initial=True, on_progress=lambda p: print(json.dumps({"done": p.done_overall}), flush=True))
print(json.dumps({"finished": True}), flush=True)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie nobody reaps in this container has exited all the same


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.timeout(180)
def test_when_the_app_dies_the_worker_stops_after_the_batch_in_flight(home, make_practice):
    from qbosync_desktop.store import close_database

    practice = make_practice(latency_ms=25)
    secrets.enable_insecure_file_secrets(home)  # the stand-in app below is another process: no shared memory keyring
    ws = Workspace.open(home)
    connect_practice(ws, practice)
    ws.save_settings(practice_settings(ws))
    ws.mark_enabled()
    ws.close()
    close_database()
    env = {**os.environ, "QBOSYNC_HOME": str(home.data_dir.parent)}
    app = subprocess.Popen([sys.executable, "-c", _APP], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker_pid = json.loads(app.stdout.readline())["worker"]
        for line in app.stdout:
            message = json.loads(line)
            assert "finished" not in message, "the run was still going when the app was killed"
            if message.get("done", 0) >= 5:
                break
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=30)
        deadline = time.monotonic() + 60
        while not _gone(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(worker_pid), "the worker exits on its own once its app is gone"
    finally:
        if app.poll() is None:
            app.kill()
    ws = Workspace.open(home)
    try:
        last = Run.select().order_by(Run.id.desc()).first()
        assert last.state == "cancelled", "it stopped between batches, as a Cancel would, and recorded the run"
        assert OutboxEntry.select().where(OutboxEntry.state.in_(("pending", "sent"))).count() == 0
        from qbosync_desktop.sync.engine import SyncEngine

        assert SyncEngine(ws).run(initial=True).state == "done"
        _no_duplicates(practice)
    finally:
        ws.close()


def test_the_review_pages_plan_is_made_in_the_worker_process(qtbot, configured_workspace):
    from qbosync_desktop.sync.engine import SyncEngine

    session = Session(configured_workspace, schedule=False)
    try:
        with qtbot.waitCallback(timeout=60_000) as planned:
            session.service.plan(True, on_done=planned)
        preview, matches = planned.args[0]
        assert session.service.worker_process.starts == 1, "the plan was made in the worker process"
        assert preview.counts() == SyncEngine(configured_workspace).preview().counts()
        assert matches and all(isinstance(m, dict) and "id" in m for m in matches)
    finally:
        _close(qtbot, session)


def test_a_worker_that_cannot_open_the_data_folder_says_so_and_is_gone(tmp_path):
    from qbosync_desktop.core.paths import AppPaths
    from qbosync_desktop.runtime.worker_process import SyncWorkerProcess

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    paths = AppPaths(data_dir=blocker / "data", config_dir=tmp_path / "config", log_dir=tmp_path / "logs")
    worker = SyncWorkerProcess(paths)
    with pytest.raises(QboSyncError) as failed:
        worker.start()
    assert failed.value.title == "The sync could not start" and "data folder" in failed.value.hint
    assert failed.value.details["error"] in ("NotADirectoryError", "FileExistsError")
    assert worker.pid is None and worker.starts == 1
