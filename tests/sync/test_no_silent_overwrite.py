"""Issue 15 part 3: QuickBooks records are written only when the Work content we own changed."""

from __future__ import annotations

from fixtures.qbo_sandbox import qbo_session

from qbosync_desktop.runtime.practice import connect_practice
from qbosync_desktop.store.models.links import Link


def _writes(practice) -> int:
    stats = practice.qbo.stats
    return stats.get("write", 0) + stats.get("batch", 0)


def test_disconnect_reconnect_and_the_same_mapping_resend_no_bill(synced):
    ws, practice = synced.ws, synced.practice
    assert Link.select().where(Link.kind == "bill").count() > 0
    settings = ws.settings()
    ws.disconnect()
    connect_practice(ws, practice)
    # A sync before the concepts are mapped again (the schedule keeps running): bills wait.
    before = _writes(practice)
    first = synced.engine.run()
    assert first.ok and first.counts.get("bills", {}).get("updated") is None, first.counts
    # ... and the person maps the concepts to the same accounts again.
    ws.save_settings(settings)
    s = synced.engine.run()
    assert s.ok and "updated" not in s.counts.get("bills", {}), s.counts
    assert _writes(practice) == before, "no QuickBooks write at all: the bills did not change in Work"
    # The bills QuickBooks holds are the ones first sent (SyncToken unchanged, read over REST).
    with qbo_session(practice.qbo) as http:
        for link in Link.select().where(Link.kind == "bill"):
            bill = http.get(f"{http.company_url}/bill/{link.qbo_id}").json()["Bill"]
            assert str(bill["SyncToken"]) == link.qbo_sync_token == "0"
