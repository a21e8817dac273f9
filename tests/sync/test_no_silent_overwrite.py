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


def test_a_bill_touched_while_its_concept_was_unmapped_is_not_resent_once_mapped_the_same(synced):
    """The bill's Work record changed without changing its bill (approved): while the concepts are
    unmapped that is a "Map the concept" problem; mapped again to the same accounts, QuickBooks already
    holds exactly this bill, so the problem closes and nothing is sent."""
    from qbosync_desktop.store.models.problems import Problem

    ws, practice = synced.ws, synced.practice
    link = Link.select().where(Link.kind == "bill").first()
    settings = ws.settings()
    ws.disconnect()
    connect_practice(ws, practice)
    practice.work.user.edit_contractor_invoice(link.work_id, status="paid")
    before = _writes(practice)
    assert synced.engine.run().ok
    (p,) = Problem.select().where((Problem.kind == "bill") & (Problem.work_id == link.work_id)
                                  & (Problem.state == "open"))
    assert "Map the concept" in p.message
    ws.save_settings(settings)
    s = synced.engine.run()
    assert s.ok and "updated" not in s.counts.get("bills", {}), s.counts
    assert Problem.get_by_id(p.id).state == "closed"
    assert _writes(practice) == before
    with qbo_session(practice.qbo) as http:
        bill = http.get(f"{http.company_url}/bill/{link.qbo_id}").json()["Bill"]
    assert str(bill["SyncToken"]) == link.qbo_sync_token
