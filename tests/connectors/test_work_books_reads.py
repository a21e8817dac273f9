"""Issue 14 through the Work connector (real HTTP to the demo server): typed tax, discounts, terms and
balances on invoices; payment status; tax rates, credit notes and refunds with paging, ``get`` and
``updated_since``; a person's payment corrections and voids read back as changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from qbosync_desktop.connectors.work.client import WorkClient
from qbosync_desktop.connectors.work.models import (
    CreditNote,
    Discount,
    Invoice,
    InvoiceTax,
    Payment,
    Refund,
    TaxRate,
    round_cents,
)


def _after(records) -> object:
    return max(r.updated_at for r in records) + timedelta(microseconds=1)


def _by_number(work_client) -> dict[str, Invoice]:
    return {i.number: i for i in work_client.invoices()}


def test_invoices_carry_tax_discounts_terms_and_balance_as_decimals(work_client):
    inv = _by_number(work_client)
    resort = inv["INV-2004"]
    assert resort.tax == InvoiceTax(rate_id=resort.tax.rate_id, name="Mountain Resort District",
                                    percent=Decimal("9.975"), taxable_amount=Decimal("1475.82"),
                                    amount=Decimal("147.21"))
    assert resort.discount == Discount("percent", Decimal("5")) and resort.discount_amount == Decimal("87.18")
    assert (resort.subtotal, resort.total, resort.terms) == (Decimal("1743.50"), Decimal("1803.53"), "Due on receipt")
    assert resort.balance == Decimal("1803.53") - Decimal("37.94")  # the credit note applied to it
    both = inv["INV-2002"]
    pump = both.lines[0]
    assert pump.taxable and pump.discount == Discount("percent", Decimal("10"))
    assert (pump.amount, pump.discount_amount, pump.net_amount) == (Decimal("680.00"), Decimal("68.00"),
                                                                  Decimal("612.00"))
    assert not both.lines[2].taxable and both.discount == Discount("amount", Decimal("25.00"))
    rounding = inv["INV-2005"].lines[1]
    assert rounding.amount == round_cents(rounding.quantity * rounding.unit_price) == Decimal("0.50")
    assert inv["INV-2003"].tax is None and inv["INV-1001"].tax is None and inv["INV-1001"].terms is None
    for record in inv.values():
        tax = record.tax.amount if record.tax else Decimal(0)
        assert record.total == record.subtotal - record.discount_amount + tax
        assert record.balance is not None and record.balance <= record.total


def test_tax_rates_clients_and_sites_read_typed(work_client):
    rates = {r.name: r for r in work_client.tax_rates()}
    assert all(isinstance(r, TaxRate) for r in rates.values())
    assert rates["Mountain Resort District"].percent == Decimal("9.975") and not rates["Denver (before 2025)"].active
    assert work_client.get_tax_rate(rates["Boulder"].id).percent == Decimal("8.845")
    clients = {c.name: c for c in work_client.clients()}
    assert clients["Wash Park Preschool"].tax_exempt and not clients["Ann Lee"].tax_exempt
    rated = [s for s in work_client.sites() if s.tax_rate_id]
    assert {s.tax_rate_id for s in rated} <= {r.id for r in rates.values()} and len(rated) >= 4


def test_credit_notes_and_refunds_page_and_get(work_sandbox):
    cfg = work_sandbox.start()
    client = WorkClient(cfg.base_url, cfg.api_key, page_size=1, backoff=0.01)  # one record per page
    credits = list(client.credit_notes())
    refunds = list(client.refunds())
    assert len(credits) == len({c.id for c in credits}) == 3 and all(isinstance(c, CreditNote) for c in credits)
    assert len(refunds) == 3 and all(isinstance(r, Refund) for r in refunds)
    by_number = {c.number: c for c in credits}
    applied = by_number["CN-0002"]
    assert applied.invoice_id and applied.tax and applied.tax.amount == Decimal("3.44")
    assert (applied.subtotal, applied.amount) == (Decimal("34.50"), Decimal("37.94")) and len(applied.lines) == 1
    assert applied.lines[0].taxable and applied.lines[0].amount == Decimal("34.50")
    assert by_number["CN-0001"].status == "void" and by_number["CN-0003"].lines == ()
    assert client.get_credit_note(applied.id) == applied
    partial = next(r for r in refunds if r.amount == Decimal("40.00"))
    assert partial.payment_id and partial.credit_note_id is None and partial.status == "active"
    assert client.get_refund(partial.id) == partial
    against_credit = next(r for r in refunds if r.credit_note_id)
    assert against_credit.credit_note_id == by_number["CN-0003"].id and against_credit.payment_id is None
    client.session.close()


def test_payment_status_and_a_persons_corrections_read_as_changes(work_sandbox, work_client):
    payments = list(work_client.payments())
    assert all(isinstance(p, Payment) for p in payments)
    assert sum(1 for p in payments if p.is_void) == 1 and any(p.version == 2 and not p.is_void for p in payments)
    invoice = next(i for i in work_client.invoices() if i.status == "sent" and i.balance == i.total and i.total > 5)
    since = _after(payments)
    made = work_sandbox.user.record_payment(str(invoice.id), "5.00", reference="CHK 900")
    work_sandbox.user.edit_payment(made["id"], amount="4.00", reference="CHK 901")
    (edited,) = list(work_client.payments(updated_since=since))
    assert (edited.id, edited.version, edited.amount, edited.reference, edited.status) == (
        made["id"], 2, Decimal("4.00"), "CHK 901", "active")
    assert work_client.get_invoice(invoice.id).balance == invoice.total - Decimal("4.00")
    since = edited.updated_at + timedelta(microseconds=1)
    work_sandbox.user.void_payment(made["id"])
    (voided,) = list(work_client.payments(updated_since=since))
    assert voided.id == made["id"] and voided.is_void and voided.version == 3 and voided.amount == Decimal("4.00")
    assert work_client.get_payment(made["id"]) == voided
    assert work_client.get_invoice(invoice.id).balance == invoice.total


def test_credit_notes_and_refunds_made_by_a_person_arrive_with_updated_since(work_sandbox, work_client):
    credit_since, refund_since = _after(work_client.credit_notes()), _after(work_client.refunds())
    ann = next(c for c in work_client.clients() if c.name == "Ann Lee")
    credit = work_sandbox.user.add_credit_note(ann.id, amount="30.00", notes="Late arrival")
    refund = work_sandbox.user.add_refund("12.50", credit_note_id=credit["id"], method="check")
    (new_credit,) = list(work_client.credit_notes(updated_since=credit_since))
    (new_refund,) = list(work_client.refunds(updated_since=refund_since))
    assert (new_credit.id, new_credit.amount, new_credit.invoice_id, new_credit.notes) == (
        credit["id"], Decimal("30.00"), None, "Late arrival")
    assert (new_refund.id, new_refund.credit_note_id, new_refund.amount, new_refund.method) == (
        refund["id"], credit["id"], Decimal("12.50"), "check")
    work_sandbox.user.void_refund(refund["id"])
    (void_refund,) = list(work_client.refunds(updated_since=new_refund.updated_at + timedelta(microseconds=1)))
    assert void_refund.status == "void" and void_refund.version == 2
