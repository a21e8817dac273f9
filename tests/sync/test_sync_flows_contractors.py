"""Contractors → vendors (add-only, linked by name or e-mail) and contractor invoices → bills, including
an unmapped concept (a problem naming the mapping to make) and "Rename on name collision"."""

from __future__ import annotations

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync.engine import SyncEngine


def _vendor(practice, qbo_id):
    return next(v for v in practice.qbo.store.all("Vendor") if str(v["Id"]) == qbo_id)


def test_new_concept_is_a_problem_until_mapped_then_the_bill_syncs(synced):
    user, ws = synced.practice.work.user, synced.ws
    contractor = next(c for c in ws.work_client().contractors() if Link.get_or_none(kind="vendor", work_id=c.id))
    user.add_concept("Permits")
    ci = user.add_contractor_invoice(contractor.id, [{"concept": "Permits", "amount": "120.00"},
                                                     {"concept": "Travel", "amount": "30.00"}])
    s = synced.engine.run()
    assert s.counts["bills"] == {"failed": 1}
    (p,) = [p for p in synced.engine.problems() if p["work_id"] == ci["id"]]
    assert p["message"] == "Map the concept 'Permits' to an expense account in Sync Settings."
    assert "Sync Settings" in p["hint"]
    assert synced.engine.run().counts.get("bills") in (None, {}), "an unchanged problem is not news"

    settings = ws.settings()
    account = settings.concepts["Travel"]
    ws.save_settings(settings.replace(concepts={**settings.concepts, "Permits": account}))
    s = synced.engine.run()
    assert s.counts["bills"] == {"created": 1}
    assert Problem.get_by_id(p["id"]).state == "closed"
    bill = next(b for b in synced.practice.qbo.store.all("Bill")
                if str(b["Id"]) == Link.get(kind="bill", work_id=ci["id"]).qbo_id)
    assert [ln["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] for ln in bill["Line"]] == [account, account]
    assert bill["APAccountRef"]["value"] == settings.ap_account


def test_existing_vendor_is_linked_never_edited_and_collisions_can_be_renamed(configured_workspace, practice):
    ws, user = configured_workspace, practice.work.user
    qbo_vendor = practice.qbo.user.create("Vendor", {"DisplayName": "Rita Ortega Tiling",
                                                     "PrimaryEmailAddr": {"Address": "rita@tiling.example"}})
    by_email = user.add_contractor("R. Ortega", email="rita@tiling.example", contracts=[
        {"title": "Tiling", "start_date": "2026-01-01", "status": "active"}])
    no_contract = user.add_contractor("Idle Ian", contracts=[
        {"title": "Old", "start_date": "2020-01-01", "end_date": "2020-12-31", "status": "ended"}])
    ws.save_settings(ws.settings().replace(rename_on_collision=True))
    ws.mark_enabled()
    summary = SyncEngine(ws).run(initial=True)
    assert summary.state == "done"

    link = Link.get(kind="vendor", work_id=by_email["id"])
    assert link.qbo_id == str(qbo_vendor["Id"]) and link.origin == "linked_by_name"
    assert _vendor(practice, link.qbo_id)["SyncToken"] == qbo_vendor["SyncToken"], "add-only: never edited"
    assert Link.get_or_none(kind="vendor", work_id=no_contract["id"]) is None
    assert not Problem.select().where(Problem.work_id == no_contract["id"]).exists()

    # Contractors who are also clients, and the two clients differing only in case/spacing, are sent
    # under the deterministic, explained rename instead of failing.
    names = {v["DisplayName"] for v in practice.qbo.store.all("Vendor")}
    renamed_vendors = sorted(n for n in names if "(Work co_" in n)
    assert renamed_vendors, names
    customers = {c["DisplayName"] for c in practice.qbo.store.all("Customer")}
    assert any("(Work cl_" in n for n in customers)
    assert not [p for p in SyncEngine(ws).problems() if "same name" in p["message"] or "already has" in p["message"]]
