"""Links name one company's QuickBooks Ids: reconnecting to the same company keeps them (resume without
duplicates), connecting a different company forgets them (they would update the wrong records)."""

from __future__ import annotations

from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Cursor


def _connect(ws: Workspace, realm: str) -> None:
    ws.record_connection(realm_id=realm, company_name=f"Company {realm}", environment="practice",
                         discovery_url="http://127.0.0.1:1/.well-known/openid_configuration", client_id="abc",
                         redirect_uri="http://localhost:2/callback", api_base="http://127.0.0.1:1/v3")


def test_same_company_keeps_links_a_different_one_forgets_them(db, home):
    ws = Workspace(home)
    _connect(ws, "111")
    Link.create(kind="client", work_id="w1", qbo_id="7")
    Cursor.create(name="work.clients", value="2026-01-01T00:00:00Z")
    Problem.create(kind="client", work_id="w2", title="t", message="m")
    ws.disconnect()
    _connect(ws, "111")
    assert (Link.select().count(), Cursor.select().count(), Problem.select().count()) == (1, 1, 1)
    assert ws.connection.state == "connected"

    _connect(ws, "222")
    assert (Link.select().count(), Cursor.select().count(), Problem.select().count()) == (0, 0, 0)
    assert ws.connection.realm_id == "222" and ws.connection.company_name == "Company 222"
