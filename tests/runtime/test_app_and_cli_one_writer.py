"""One data folder, one writer, across the app and the CLI: while the app's sync worker runs a sync,
``qbosync sync`` does not run alongside it; it says that the app is syncing (its process, since when)
and exits 8. Afterwards QuickBooks, read over REST, holds every record once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from qbosync_desktop.cli import main as cli
from qbosync_desktop.core import writer_lock
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.runtime.practice import connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace


@pytest.mark.timeout(240)
def test_the_cli_never_syncs_while_the_app_syncs(qtbot, make_practice, home, capsys):
    practice = make_practice(latency_ms=100)
    ws = Workspace.open(home)
    session = None
    try:
        connect_practice(ws, practice, timeout=30)
        ws.save_settings(practice_settings(ws))
        ws.mark_enabled()
        session = Session(ws, schedule=False)
        service = session.service
        with qtbot.waitSignal(service.finished, timeout=180_000) as finished:
            assert service.sync_now(initial=True)
            qtbot.waitUntil(lambda: (writer_lock.holder(home, writer_lock.SYNC) or {}).get("program")
                            == "app sync worker", timeout=60_000)
            holder = writer_lock.holder(home, writer_lock.SYNC)
            assert cli.main(["sync", "--wait", "0.3"]) == 8
            err = capsys.readouterr().err
            assert "the QBO Sync app's sync" in err and f"process {holder['pid']}" in err
            assert "What to do:" in err and "Traceback" not in err
            assert service.worker_process.pid == holder["pid"]
        assert finished.args[0].state == "done"

        assert cli.main(["sync", "--json"]) in (0, 1)
        run = json.loads(capsys.readouterr().out)["run"]
        assert run["state"] == "done" and not any(by.get("created") for by in run["counts"].values())
        qbo = ws.qbo_client()
        for entity, key in (("Customer", "DisplayName"), ("Invoice", "DocNumber"), ("Bill", "DocNumber")):
            seen = Counter(row.get(key) for row in qbo.query(entity) if row.get(key))
            assert seen and max(seen.values()) == 1, (entity, [k for k, n in seen.items() if n > 1])
    finally:
        if session is not None:
            session.close()
            qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
        ws.close()
