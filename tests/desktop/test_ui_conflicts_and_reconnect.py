"""With the practice company: conflicts are shown side by side and resolved per field from the window;
a grant revoked at QuickBooks turns into the reconnect dialog, and reconnecting keeps every mapping."""

from __future__ import annotations

import pytest
import requests

from qbosync_desktop.core import secrets
from qbosync_desktop.desktop.ui.dialogs.reconnect import ReconnectDialog
from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.tray import Tray
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.links import Link


@pytest.fixture
def synced(qtbot, configured_workspace, practice):
    """An enabled practice integration after its first sync, shown in the integration window."""
    configured_workspace.mark_enabled()
    session = Session(configured_workspace, schedule=False, practice=practice)
    window = IntegrationWindow(session)
    qtbot.addWidget(window)
    with qtbot.waitSignal(session.service.finished, timeout=120_000):
        session.service.sync_now(initial=True)
    qtbot.waitUntil(lambda: window.snapshot.last_run is not None, timeout=10_000)  # rendered after the run
    yield window
    session.close()
    qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)


def _make_a_conflict(qtbot, window, practice) -> None:
    """The test's own conflict, whatever the seed holds: the same field of one linked client is changed
    on both sides (as people would, through the servers' user handles), then the window syncs; the
    practice settings keep "ask me" for clients, so the run records a conflict."""
    link = Link.select().where(Link.kind == "client").order_by(Link.id).first()
    assert link is not None, "the first sync linked clients"
    practice.work.user.edit_client(link.work_id, email="work-side@conflict.example.com")
    practice.qbo.user.update_customer(link.qbo_id, PrimaryEmailAddr={"Address": "qbo-side@conflict.example.com"})
    with qtbot.waitSignal(window.service.finished, timeout=120_000):
        window.sync_button.click()
    qtbot.waitUntil(lambda: window.conflicts_table.rowCount()
                    == Conflict.select().where(Conflict.state == "open").count(), timeout=10_000)


def test_conflicts_side_by_side_and_resolved_per_field(qtbot, synced, practice):
    window = synced
    _make_a_conflict(qtbot, window, practice)
    open_conflicts = list(Conflict.select().where(Conflict.state == "open"))
    assert open_conflicts, "editing one field on both sides makes a conflict"
    t = window.conflicts_table
    assert t.rowCount() == len(open_conflicts) and window.tabs.tabText(1) == f"Conflicts ({len(open_conflicts)})"
    # counted where the person looks (issue 15): the window's status line and the tray's tooltip and
    # first menu line say how many changes wait (conflicts, and match proposals if any)
    waiting = len(window.snapshot.conflicts) + sum(1 for m in window.snapshot.matches if m.get("state") == "proposed")
    assert waiting >= len(open_conflicts)
    words = "1 change waits for your decision" if waiting == 1 else f"{waiting} changes wait for your decision"
    qtbot.waitUntil(lambda: words in window.status_line.text(), timeout=10_000)
    tray = Tray(window.service)
    window.status_changed.connect(tray.set_status_line)  # as the app wires them (ui/bootstrap.py)
    tray.set_status_line(window.status_text)
    assert words in tray.tray.toolTip() and words in tray.status_action.text()
    first = open_conflicts[0]
    assert t.item(0, 1).text() == first.field
    work_shown, qbo_shown = t.item(0, 2).text(), t.item(0, 3).text()
    assert work_shown != qbo_shown, "both values are shown side by side"
    button = t.cellWidget(0, 4).findChild(type(window.sync_button), f"keep_quickbooks_{first.id}")
    button.click()
    qtbot.waitUntil(lambda: Conflict.get_by_id(first.id).state == "resolved", timeout=10_000)
    assert Conflict.get_by_id(first.id).resolution == "quickbooks"
    qtbot.waitUntil(lambda: t.rowCount() == len(open_conflicts) - 1, timeout=10_000)


def test_revoked_grant_opens_reconnect_and_keeps_mappings(qtbot, synced, practice, configured_workspace):
    window = synced
    ws = configured_workspace
    concepts_before = ws.settings().concepts
    assert concepts_before, "practice settings map every concept"
    # The admin disconnects the app on QuickBooks' side: the grant is revoked at the OAuth server.
    conn = ws.connection
    refresh = ws.secrets.get(secrets.QBO_REFRESH_TOKEN)
    r = requests.post(practice.qbo_config.base_url + "/v2/oauth2/tokens/revoke", json={"token": refresh},
                      auth=(conn.client_id, ws.secrets.get(secrets.QBO_CLIENT_SECRET)), timeout=10)
    assert r.status_code == 200
    reconnects = []
    window.service.needs_reconnect.connect(lambda exc: reconnects.append(window.open_reconnect(exc)))
    with qtbot.waitSignal(window.service.failed, timeout=60_000):
        window.sync_button.click()
    qtbot.waitUntil(lambda: bool(reconnects), timeout=5000)
    qtbot.waitUntil(lambda: window.health_label.property("state") == "needs_reconnect", timeout=10_000)
    assert window.reconnect_button.isVisibleTo(window) and window.service.state == "attention"
    dialog = reconnects[0]
    assert isinstance(dialog, ReconnectDialog) and dialog.isVisible()
    with qtbot.waitSignal(dialog.accepted, timeout=60_000):
        dialog.reconnect_button.click()
    qtbot.waitUntil(lambda: ws.connection.state == "connected", timeout=10_000)
    assert ws.settings().concepts == concepts_before, "reconnecting keeps the concept mappings"
    with qtbot.waitSignal(window.service.finished, timeout=120_000) as after:
        pass  # the window syncs by itself once reconnected
    assert after.args[0].state == "done"
    qtbot.waitUntil(lambda: window.health_label.text() == "Connected", timeout=10_000)
