"""Issue 16: a linked customer QuickBooks' change feed reports deleted (``status: Deleted`` - a customer
merged into another in QuickBooks, the only way one disappears) is one plain problem of its Work
client, never silently re-created nor written to; a later invoice of that client is a clear problem of
its own instead of QuickBooks' "Invalid Reference Id"; and the problem closes once the link is fixed
(Reconcile's Re-create). The practice QuickBooks merges as the web app does
(``SandboxUser.merge_customers``). Real HTTP against both practice servers; QuickBooks is read back over
its REST API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.sync import problems, reconcile
from qbosync_desktop.sync.engine import SyncEngine


def _customers(ws: Any, name: str) -> list[dict[str, Any]]:
    return [c for c in ws.qbo_client().query("Customer", where="Active IN (true, false)", order_by="Id")
            if c.get("DisplayName") == name]


def _problems(kind: str, work_id: str) -> list[dict[str, Any]]:
    return [p for p in problems.open_problems() if p["kind"] == kind and p["work_id"] == work_id]


def _first_sync(ws: Any) -> tuple[SyncEngine, Any, Any, list[Link]]:
    """Enabled and synced once: the engine, both clients, and the client links whose customers are
    top-level (no sub-customers: a merge moves those along)."""
    ws.mark_enabled()
    eng = SyncEngine(ws)
    assert eng.run(initial=True).state == "done"
    qbo, work = ws.qbo_client(), ws.work_client()
    parents = {str((c.get("ParentRef") or {}).get("value")) for c in qbo.query("Customer") if c.get("ParentRef")}
    top = [lk for lk in Link.select().where(Link.kind == "client").order_by(Link.id) if lk.qbo_id not in parents]
    return eng, qbo, work, top


def test_a_merged_customer_is_one_problem_not_recreated_and_closes_once_relinked(
        configured_workspace: Any, practice: Any) -> None:
    ws = configured_workspace
    eng, qbo, work, top = _first_sync(ws)
    # two linked clients with top-level customers and no sites: one is merged into the other in QuickBooks
    linked = sorted(top, key=lambda lk: int(lk.qbo_id))
    # the merged one has a synced invoice still open in Work (a payment of it comes later)
    synced_invoices = {lk.work_id for lk in Link.select().where(Link.kind == "invoice")}
    open_invoice = {i["client_id"]: i for i in practice.work.store.all("invoices")
                    if i["id"] in synced_invoices and i["status"] != "void" and Decimal(i["balance"]) > 1}
    merged = next(lk for lk in linked if lk.work_id in open_invoice)
    into, other = [lk for lk in linked if lk is not merged][:2]
    merged_name = qbo.get("Customer", merged.qbo_id)["DisplayName"]
    client = work.get_client(merged.work_id)
    practice.qbo.user.merge_customers(merged.qbo_id, into.qbo_id)
    into_before = qbo.get("Customer", into.qbo_id)

    # meanwhile in Work: the client changes, it gets a new invoice, and another client changes too
    practice.work.user.edit_client(merged.work_id, phone="(303) 555-0177")
    practice.work.user.edit_client(other.work_id, phone="(303) 555-0178")
    item = next(i for i in practice.work.store.all("items") if float(i["unit_price"]) > 0)
    invoice = practice.work.user.add_invoice(merged.work_id, [{"item_id": item["id"]}], number="INV-MERGED-1")
    payment = practice.work.user.record_payment(open_invoice[merged.work_id]["id"], "1.00", reference="MERGED-PAY")

    summary = eng.run()
    assert summary.state == "done", summary.error
    # one plain problem naming the customer and the client, with what to do
    (found,) = _problems("client", merged.work_id)
    assert f"Customer “{merged_name}” was deleted or merged in QuickBooks" in found["message"]
    assert f"“{client.name}”" in found["message"] and found["code"] == "qbo-deleted"
    assert "Reconcile" in found["hint"] and "Re-create" in found["hint"]
    assert summary.counts["customers"]["failed"] == 1
    # not re-created, and nothing written to the customer it went into
    assert _customers(ws, merged_name) == []
    assert qbo.get("Customer", into.qbo_id)["SyncToken"] == into_before["SyncToken"]
    # the new invoice is a clear problem of its own, not a QuickBooks fault after a request
    assert not list(qbo.query("Invoice", where="DocNumber = 'INV-MERGED-1'"))
    (inv_problem,) = _problems("invoice", invoice["id"])
    assert "was deleted or merged in QuickBooks" in inv_problem["message"]
    assert inv_problem["details"].get("code") == "qbo-deleted" and inv_problem["hint"]
    # so is a payment of the client's invoice synced before the merge (it would name the deleted customer)
    (pay_problem,) = _problems("payment", payment["id"])
    assert "was deleted or merged in QuickBooks" in pay_problem["message"]
    assert not list(qbo.query("Payment", where="PaymentRefNum = 'MERGED-PAY'"))
    # every other client still syncs
    assert qbo.get("Customer", other.qbo_id)["PrimaryPhone"]["FreeFormNumber"] == "(303) 555-0178"

    # a second run: the same problems, not news again, still nothing written
    again = eng.run()
    assert again.state == "done", again.error
    assert len(_problems("client", merged.work_id)) == 1 and len(_problems("invoice", invoice["id"])) == 1
    assert not again.counts.get("customers", {}).get("failed") and not again.counts.get("clients", {}).get("failed")
    assert _customers(ws, merged_name) == []

    # Reconcile lists it as deleted in QuickBooks; Re-create fixes the link: the problem closes, the
    # client is created again and its invoice follows
    report = reconcile.check_workspace(ws)
    (row,) = [d for d in report.differences if d.kind == "client" and d.work_id == merged.work_id]
    assert row.check == "missing" and "was deleted in QuickBooks" in row.message
    # it says where its invoices went; that customer is another client's (so it is not offered for re-linking)
    assert f"now under customer “{into_before['DisplayName']}” (Id {into.qbo_id})" in row.what_to_do
    assert "relink" not in row.actions
    assert f"syncs with the Work client “{work.get_client(into.work_id).name}”" in row.what_to_do
    # and its invoices' own "for another customer" rows are not listed: the client's row explains them
    merged_invoices = {lk.work_id for lk in Link.select().where(Link.kind == "invoice")
                       if practice.work.store.get("invoices", lk.work_id)["client_id"] == merged.work_id}
    assert merged_invoices and not [d for d in report.differences
                                    if d.kind == "invoice" and d.work_id in merged_invoices and d.check == "customer"]
    reconcile.apply_fix(row, "recreate")
    fixed = eng.run()
    assert fixed.state == "done", fixed.error
    assert not _problems("client", merged.work_id) and not _problems("invoice", invoice["id"])
    (again_customer,) = _customers(ws, merged_name)
    assert again_customer["Id"] != merged.qbo_id
    assert again_customer["PrimaryPhone"]["FreeFormNumber"] == "(303) 555-0177"
    (sent,) = qbo.query("Invoice", where="DocNumber = 'INV-MERGED-1'")
    assert sent["CustomerRef"]["value"] == again_customer["Id"]



def test_merged_into_a_customer_no_client_has_yet_reconcile_relinks_to_it(configured_workspace: Any,
                                                                          practice: Any) -> None:
    """Reconcile before the next sync, when the customer it went into is not linked to any Work client
    yet (entered in QuickBooks by hand): Re-link points the client at it; the sync then writes the
    client's new invoice there, and does not import that customer as a second Work client."""
    ws = configured_workspace
    eng, qbo, work, top = _first_sync(ws)
    synced_invoices = {lk.work_id for lk in Link.select().where(Link.kind == "invoice")}
    with_invoices = {i["client_id"] for i in practice.work.store.all("invoices") if i["id"] in synced_invoices}
    merged = next(lk for lk in top if lk.work_id in with_invoices)
    survivor = practice.qbo.user.create("Customer", {"DisplayName": "Hand-entered Holdings LLC"})
    practice.qbo.user.merge_customers(merged.qbo_id, survivor["Id"])
    clients_before = len(list(work.clients()))

    report = reconcile.check_workspace(ws)
    (row,) = [d for d in report.differences if d.kind == "client" and d.work_id == merged.work_id]
    assert row.actions[0] == "relink" and row.candidate_qbo_id == survivor["Id"], (row.what_to_do, row.actions)
    assert "now under customer “Hand-entered Holdings LLC”" in row.what_to_do
    assert not [d for d in report.differences if d.check == "customer"]
    reconcile.apply_fix(row, "relink")

    item = next(i for i in practice.work.store.all("items") if float(i["unit_price"]) > 0)
    practice.work.user.add_invoice(merged.work_id, [{"item_id": item["id"]}], number="INV-AFTER-MERGE")
    fixed = eng.run()
    assert fixed.state == "done", fixed.error
    assert not _problems("client", merged.work_id)
    (sent,) = qbo.query("Invoice", where="DocNumber = 'INV-AFTER-MERGE'")
    assert sent["CustomerRef"]["value"] == survivor["Id"]
    assert Link.get(kind="client", work_id=merged.work_id).qbo_id == survivor["Id"]
    assert len(list(work.clients())) == clients_before  # the survivor was not imported as a second client
    assert not [d for d in reconcile.check_workspace(ws).differences if d.check == "customer"]
