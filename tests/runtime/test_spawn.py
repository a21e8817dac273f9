"""The helper processes start with multiprocessing's *spawn* method on Linux too, the path Windows
and macOS take (issue 18): the sync worker (with the keyring relay) and the practice servers.

Linux's default start method is *fork*, which copies the app's memory: its Qt, its in-memory
keyring, its open database. *spawn* starts a fresh interpreter that imports what it needs and gets
its arguments pickled. These tests prove the spawn path from outside the child: its command line is
multiprocessing's ``spawn_main``, the app's Qt libraries are not mapped into it, and its secrets
come over the relay from the app's keyring (a spawned child has no copy of the app's in-memory
keyring). What stays unverified on Windows and macOS is listed in docs/packaging.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qbosync_desktop import APP_ID
from qbosync_desktop.core import secrets

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc of the child")


def _spawned(pid: int) -> None:
    """Assert that ``pid`` is a fresh interpreter started by multiprocessing's spawn, with none of the
    app's Qt (a forked child would show the parent's command line and have Qt mapped)."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "from multiprocessing.spawn import spawn_main" in cmdline, cmdline
    assert "pytest" not in cmdline
    assert "libQt6Core" in Path("/proc/self/maps").read_text(), "the test process (the app) has Qt loaded"
    assert "libQt6Core" not in Path(f"/proc/{pid}/maps").read_text(), "nothing of the app's Qt in the child"


@pytest.mark.timeout(180)
def test_the_sync_worker_is_a_spawned_interpreter_and_gets_its_secrets_over_the_relay(
        configured_workspace, practice, monkeypatch):
    import PySide6.QtCore  # noqa: F401  (the app's process has Qt loaded: a fork would copy it)

    from qbosync_desktop.runtime.worker_process import SyncWorkerProcess
    from qbosync_desktop.store.models.links import Link

    ws = configured_workspace
    ws.mark_enabled()
    ws.secrets.set(secrets.QBO_ACCESS_EXPIRES_AT, "0.000")  # the worker must refresh: a write over the relay
    old_refresh = ws.secrets.get(secrets.QBO_REFRESH_TOKEN)
    relayed: list[tuple[str, str]] = []
    relay = secrets.relay_request

    def counting(op, service, username, value):
        relayed.append((op, service))
        return relay(op, service, username, value)

    monkeypatch.setattr(secrets, "relay_request", counting)
    worker = SyncWorkerProcess(ws.paths)
    assert worker._mp.get_start_method() == "spawn"
    try:
        worker.start()
        assert worker.pid not in (None, os.getpid())
        _spawned(worker.pid)
        def customers():  # top-level customers (a Work site is a sub-customer)
            return {c["Id"] for c in practice.qbo.store.all("Customer") if not c.get("ParentRef")}

        before = customers()
        summary = worker.run("run", initial=True)
        assert summary.state == "done"
        # What QuickBooks holds: the customers the worker created are there, each linked to a client.
        created = summary.counts["clients"]["created"]
        after = customers()
        assert created and len(after - before) >= created
        client_links = {lk.qbo_id for lk in Link.select().where(Link.kind == "client")}
        assert after - before <= client_links <= after
        # The secrets came from this process's (in-memory) keyring, over the pipe: the spawned
        # worker has none of its own. The refreshed tokens landed here.
        assert ("get", APP_ID) in relayed and ("set", APP_ID) in relayed
        assert {service for _, service in relayed} == {APP_ID}
        assert ws.secrets.get(secrets.QBO_REFRESH_TOKEN) != old_refresh
        assert float(ws.secrets.get(secrets.QBO_ACCESS_EXPIRES_AT)) > 0
    finally:
        worker.stop()
    assert worker.pid is None


@pytest.mark.timeout(120)
def test_the_practice_process_is_a_spawned_interpreter(home):
    import PySide6.QtCore  # noqa: F401

    from qbosync_desktop.runtime.practice import PracticeProcess, connect_practice
    from qbosync_desktop.runtime.workspace import Workspace

    practice = PracticeProcess(data_dir=None, throttle=False)
    proc = practice._proc
    try:
        assert type(proc).__name__ == "SpawnProcess"
        _spawned(proc.pid)
        ws = Workspace.open(home)
        try:
            connect_practice(ws, practice, timeout=30)
            assert ws.qbo_client().accounts(), "the spawned practice QuickBooks answers"
            assert ws.work_client().invoice_concepts() is not None
        finally:
            ws.close()
    finally:
        practice.stop()
    assert proc.exitcode == 0


_APP = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path

    # Top-level code of the app's main module. Under spawn the child imports this file again (as
    # "__mp_main__"), as it does on Windows and macOS, so anything here runs in the worker too.
    Path(sys.argv[1]).open("a").write(json.dumps({"name": __name__, "pid": os.getpid()}) + "\\n")

    if __name__ == "__main__":
        from qbosync_desktop.core.paths import get_paths
        from qbosync_desktop.runtime.worker_process import SyncWorkerProcess

        worker = SyncWorkerProcess(get_paths())
        worker.start()
        print(json.dumps({"worker": worker.pid}), flush=True)
        worker.stop()
""")


@pytest.mark.timeout(120)
def test_the_worker_reimports_the_apps_main_module_guarded_like_main_py(tmp_path):
    script = tmp_path / "app_main.py"
    script.write_text(_APP)
    marks = tmp_path / "imports.jsonl"
    env = {**os.environ, "QBOSYNC_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, str(script), str(marks)], capture_output=True, text=True, env=env,
                         timeout=90, check=True)
    worker_pid = json.loads(out.stdout.splitlines()[-1])["worker"]
    seen = [json.loads(line) for line in marks.read_text().splitlines()]
    assert {"name": "__mp_main__", "pid": worker_pid} in seen, seen
    assert [s["name"] for s in seen].count("__main__") == 1, "only the app ran the guarded part"
    # main.py (the documented start) keeps its guard, so the worker does not start a second app.
    main_py = (Path(__file__).resolve().parents[2] / "main.py").read_text()
    assert 'if __name__ == "__main__":\n    raise SystemExit(main())' in main_py
