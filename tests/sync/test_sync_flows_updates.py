"""Changes after the first sync: updates, inactive, invoice edits (all lines), voids, stale SyncToken,
and problems that close themselves once their record syncs."""

from __future__ import annotations

from decimal import Decimal

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem


def _qbo_obj(practice, entity, qbo_id):
    return next(r for r in practice.qbo.store.all(entity) if str(r["Id"]) == str(qbo_id))


def _linked_client(synced):
    for c in synced.ws.work_client().clients():
        link = Link.get_or_none(kind="client", work_id=c.id)
        if link is not None and link.origin == "created" and c.active:
            return c, link
    raise AssertionError("no created client")


def _linked_invoice(synced, status="sent"):
    """A synced invoice without payments (voiding or re-pricing a paid one is another story)."""
    paid = {p.invoice_id for p in synced.ws.work_client().payments()}
    for inv in synced.ws.work_client().invoices():
        link = Link.get_or_none(kind="invoice", work_id=inv.id)
        if link is not None and inv.status == status and inv.id not in paid:
            return inv, link
    raise AssertionError("no linked invoice")


def test_changes_after_the_first_sync_reach_quickbooks(synced):
    """Client edits (sparse update, audited) and deactivation; an invoice edit sends all lines; a stale
    SyncToken (someone edited the invoice in QuickBooks) is re-read and retried; a void voids once."""
    c, link = _linked_client(synced)
    synced.practice.work.user.edit_client(c.id, phone="(303) 555-0199", billing_address={
        "line1": "1 New St", "city": "Boulder", "state": "CO", "postal_code": "80301", "country": "US"})
    s = synced.engine.run()
    # Issue 7's two-way customers phase may carry the change instead of the one-way clients phase.
    assert sum(s.counts.get(k, {}).get("updated", 0) for k in ("clients", "customers")) == 1, s.counts
    q = _qbo_obj(synced.practice, "Customer", link.qbo_id)
    assert q["PrimaryPhone"]["FreeFormNumber"] == "(303) 555-0199" and q["BillAddr"]["City"] == "Boulder"
    assert AuditEntry.select().where((AuditEntry.action == "update") & (AuditEntry.work_id == c.id)
                                     & (AuditEntry.run_id == s.run_id)).count() == 1

    inv, inv_link = _linked_invoice(synced)
    items = [it for it in synced.ws.work_client().items() if Link.get_or_none(kind="item", work_id=it.id)]
    synced.practice.work.user.edit_invoice(inv.id, lines=[
        {"item_id": items[0].id, "quantity": "2", "unit_price": "10.00"},
        {"item_id": items[1].id, "quantity": "1", "unit_price": "5.50"},
    ])
    s = synced.engine.run()
    assert s.counts["invoices"] == {"updated": 1}
    q = _qbo_obj(synced.practice, "Invoice", inv_link.qbo_id)
    lines = [ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    assert len(lines) == 2 and Decimal(str(q["TotalAmt"])) == Decimal("25.50")
    upd = AuditEntry.get((AuditEntry.action == "update") & (AuditEntry.work_id == inv.id))
    assert upd.before["TotalAmt" if "TotalAmt" in upd.before else "Line"] and len(upd.after["Line"]) == 2

    # Someone edits the invoice in QuickBooks: our stored SyncToken is now old (QBO answers 5010).
    synced.practice.qbo.user.update("Invoice", inv_link.qbo_id, PrivateNote="edited in QuickBooks")
    synced.practice.work.user.edit_invoice(inv.id, lines=[{"item_id": items[0].id, "quantity": "3", "unit_price": "7.00"}])
    s = synced.engine.run()
    assert s.counts["invoices"] == {"updated": 1}, s.counts
    assert Decimal(str(_qbo_obj(synced.practice, "Invoice", inv_link.qbo_id)["TotalAmt"])) == Decimal("21.00")
    assert not Problem.select().where((Problem.work_id == inv.id) & (Problem.state == "open")).exists()

    synced.practice.work.user.void_invoice(inv.id)
    s = synced.engine.run()
    assert s.counts["invoices"] == {"voided": 1}
    q = _qbo_obj(synced.practice, "Invoice", inv_link.qbo_id)
    assert Decimal(str(q["TotalAmt"])) == 0
    assert AuditEntry.select().where((AuditEntry.action == "void") & (AuditEntry.work_id == inv.id)).count() == 1
    assert synced.engine.run().counts.get("invoices") in (None, {})  # voided once, not again

    synced.practice.work.user.deactivate_client(c.id)
    synced.engine.run()
    assert _qbo_obj(synced.practice, "Customer", link.qbo_id)["Active"] is False

    # Choosing another income account moves every item to it (items are read again for that).
    settings = synced.ws.settings()
    other = next(a["Id"] for a in synced.ws.qbo_client().accounts()["income"] if a["Id"] != settings.income_account)
    synced.ws.save_settings(settings.replace(income_account=other))
    s = synced.engine.run()
    item_links = list(Link.select().where(Link.kind == "item"))
    assert s.counts["items"] == {"updated": len(item_links)}
    assert {_qbo_obj(synced.practice, "Item", lk.qbo_id)["IncomeAccountRef"]["value"] for lk in item_links} == {other}


def test_fixing_a_client_closes_its_problem_and_its_invoices_follow(synced):
    smith = next(c for c in synced.ws.work_client().clients() if ":" in c.name)
    dependants = [p for p in synced.engine.problems() if (p["details"].get("depends_on") == f"client {smith.id}")]
    assert dependants, "the colon client's invoices wait for it"
    synced.practice.work.user.edit_client(smith.id, name=smith.name.replace(":", " -"))
    s = synced.engine.run()
    assert s.counts["clients"].get("created") == 1
    assert Link.get_or_none(kind="client", work_id=smith.id) is not None
    for p in dependants:
        assert Problem.get_by_id(p["id"]).state == "closed"
        assert Link.get_or_none(kind=p["kind"], work_id=p["work_id"]) is not None
    assert not Problem.select().where((Problem.work_id == smith.id) & (Problem.state == "open")).exists()


def test_refused_record_is_not_resent_until_retry(synced):
    """A QuickBooks refusal (duplicate DocNumber, 6140) is one problem; unchanged, it is not sent again
    on every run; Retry sends it again and, once fixed in QuickBooks, it syncs and the problem closes."""
    inv, _ = _linked_invoice(synced)
    client_link = Link.get(kind="client", work_id=inv.client_id)
    item = next(it for it in synced.ws.work_client().items() if Link.get_or_none(kind="item", work_id=it.id))
    item_link = Link.get(kind="item", work_id=item.id)
    blocker = synced.practice.qbo.user.create("Invoice", {
        "CustomerRef": {"value": client_link.qbo_id}, "DocNumber": "DUP-1",
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 10.0,
                  "SalesItemLineDetail": {"ItemRef": {"value": item_link.qbo_id}, "Qty": 1, "UnitPrice": 10.0}}]})
    new = synced.practice.work.user.add_invoice(inv.client_id, [{"item_id": item.id}], number="DUP-1")
    synced.engine.run()
    (p,) = [p for p in synced.engine.problems() if p["work_id"] == new["id"]]
    assert p["code"] == "6140" and p["details"].get("intuit_tid")

    before = synced.practice.qbo.stats
    s = synced.engine.run()
    after = synced.practice.qbo.stats
    assert after.get("write", 0) + after.get("batch", 0) == before.get("write", 0) + before.get("batch", 0)
    assert s.counts.get("invoices") in (None, {})

    synced.practice.qbo.user.update("Invoice", blocker["Id"], DocNumber="DUP-1-OLD")
    s = synced.engine.retry(p["id"])
    assert s.counts["invoices"] == {"created": 1}
    assert Problem.get_by_id(p["id"]).state == "closed"


def test_an_earlier_start_date_brings_older_invoices_and_their_payments(configured_workspace, practice):
    import datetime as dt

    from qbosync_desktop.sync.engine import SyncEngine

    ws = configured_workspace
    s = ws.settings()
    invoices = [i for i in ws.work_client().invoices() if i.status in ("sent", "paid")]
    dates = sorted({i.issue_date for i in invoices})
    cut = dates[len(dates) // 2]
    ws.save_settings(s.replace(start_date=cut))
    ws.mark_enabled()
    eng = SyncEngine(ws)
    assert eng.run(initial=True).state == "done"
    older = [i for i in invoices if i.issue_date < cut]
    assert older and all(Link.get_or_none(kind="invoice", work_id=i.id) is None for i in older)
    assert eng.run().counts.get("invoices") in (None, {})  # nothing new: the cursor moved past them

    ws.save_settings(ws.settings().replace(start_date=cut - dt.timedelta(days=400)))
    summary = eng.run()
    assert summary.counts["invoices"].get("created", 0) > 0
    assert summary.counts.get("payments", {}).get("created", 0) > 0
    for inv in older:
        assert Link.get_or_none(kind="invoice", work_id=inv.id) is not None or Problem.select().where(
            (Problem.work_id == inv.id) & (Problem.state == "open")).exists()
