"""Changes made "as a Work user would" (voids, payments, contractor invoices, company settings) show up
through the connector with new versions, and Work's own business rules refuse impossible ones."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from qbosync_desktop.sandbox.work.rules import ApiError


def _after_everything(work_client, lister):
    return max(r.updated_at for r in lister()) + timedelta(microseconds=1)


def test_voiding_an_invoice_bumps_its_version_and_is_read_as_a_change(work_sandbox, work_client):
    sent = next(i for i in work_client.invoices() if i.status == "sent")
    since = _after_everything(work_client, work_client.invoices)
    work_sandbox.user.void_invoice(sent.id)
    (changed,) = list(work_client.invoices(updated_since=since))
    assert (changed.id, changed.status, changed.version) == (sent.id, "void", sent.version + 1)
    with pytest.raises(ApiError) as caught:
        work_sandbox.user.record_payment(sent.id)
    assert caught.value.status == 422
    with pytest.raises(ApiError) as changed_void:
        work_sandbox.user.edit_invoice(sent.id, notes="too late")
    assert changed_void.value.status == 422 and work_client.get_invoice(sent.id).version == changed.version


def test_partial_then_final_payment_marks_the_invoice_paid(work_sandbox, work_client):
    client = next(c for c in work_client.clients() if c.name == "Ann Lee")
    items = {i.name: i for i in work_client.items()}
    invoice = work_sandbox.user.add_invoice(client.id, [
        {"item_id": items["Hourly Labor"].id, "quantity": "2.5"},
        {"item_id": items["Warranty Part"].id},
    ])
    assert invoice["total"] == "237.50" and invoice["lines"][1]["amount"] == "0.00"
    work_sandbox.user.record_payment(invoice["id"], "100.00", method="check", reference="CHK 1001")
    assert work_client.get_invoice(invoice["id"]).status == "sent"
    with pytest.raises(ApiError):
        work_sandbox.user.record_payment(invoice["id"], "500.00")  # more than the balance
    work_sandbox.user.record_payment(invoice["id"])
    assert work_client.get_invoice(invoice["id"]).status == "paid"
    paid = [p for p in work_client.payments() if p.invoice_id == invoice["id"]]
    assert sorted(p.amount for p in paid) == [Decimal("100.00"), Decimal("137.50")]
    assert {p.client_id for p in paid} == {client.id}


def test_new_contractor_invoice_is_read_with_its_concepts_and_total(work_sandbox, work_client):
    rivera = next(c for c in work_client.contractors() if c.name == "Hank Rivera")
    active = [k for k in rivera.contracts if k.status == "active"]
    since = _after_everything(work_client, work_client.contractor_invoices)
    created = work_sandbox.user.add_contractor_invoice(rivera.id, [
        {"concept": "Labor", "description": "Panel upgrade", "amount": "1200.00"},
        {"concept": "Travel", "amount": "45.50"},
    ])
    (read,) = list(work_client.contractor_invoices(updated_since=since))
    assert read.id == created["id"] and read.contract_id == active[0].id and read.total == Decimal("1245.50")
    assert [ln.concept for ln in read.lines] == ["Labor", "Travel"]
    with pytest.raises(ApiError) as caught:
        work_sandbox.user.add_contractor_invoice(rivera.id, [{"concept": "Snacks", "amount": "5.00"}])
    assert caught.value.status == 422 and "Labor" in caught.value.details["concepts"]
    other = next(c for c in work_client.contractors() if c.name == "Priya Shah")
    with pytest.raises(ApiError):
        work_sandbox.user.add_contractor_invoice(rivera.id, [{"concept": "Labor", "amount": "1.00"}],
                                                 contract_id=other.contracts[0].id)


def test_new_contractor_gets_contract_ids_and_company_settings_change(work_sandbox, work_client):
    added = work_sandbox.user.add_contractor("Nia Brooks", email="nia@example.com",
                                             contracts=[{"title": "Tile work 2025", "start_date": "2025-01-06"}])
    contractor = work_client.get_contractor(added["id"])
    assert contractor.contracts[0].id.startswith("ct_") and contractor.contracts[0].status == "active"
    assert contractor.has_contract
    before = work_client.company()
    work_sandbox.user.set_company(default_state=None)
    after = work_client.company()
    assert after.default_state is None and after.version == before.version + 1


def test_deactivated_client_is_read_as_inactive_and_sites_follow_their_rules(work_sandbox, work_client):
    laundromat = next(c for c in work_client.clients() if c.name == "Old Town Laundromat")
    assert laundromat.active is False
    joe = next(c for c in work_client.clients() if c.name == "Joe Plumbing")
    work_sandbox.user.deactivate_client(joe.id)
    assert work_client.get_client(joe.id).active is False
    site = work_sandbox.user.add_site(joe.id, "Shop", address=None)
    edited = work_sandbox.user.edit_site(site["id"], name="Shop 2")
    assert work_client.get_site(site["id"]).name == "Shop 2" and edited["version"] == 2
