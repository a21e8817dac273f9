"""A bookkeeper's own fields on a synced transaction survive Work's next edit of it (issue 15: nothing
a bookkeeper changed in QuickBooks is overwritten silently; sync/rules/theirs.py).

Invoices and payments are written with QuickBooks' full update, which sets every writable field it
leaves out to nothing. What the bookkeeper filled in (a memo, a message on the invoice, its e-mail
status) is carried over from QuickBooks; what Work set last time and no longer sends is still
cleared. Everything is read back over the practice QuickBooks' REST API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fixtures.books import assert_books, cents, rest

from qbosync_desktop.store.models.links import Link


def _bookkeeper_edits(practice: Any, entity: str, qbo_id: str, **fields: Any) -> None:
    """An edit in QuickBooks, then the link's SyncToken brought up to date (as Reconcile's "keep
    QuickBooks' value" or a read-back does): the next update goes out with no stale-token retry, so
    only the read made while planning can know the bookkeeper's fields."""
    practice.qbo.user.update(entity, qbo_id, **fields)
    token = rest(practice, entity)[qbo_id]["SyncToken"]
    Link.update(qbo_sync_token=token).where(Link.qbo_id == qbo_id, Link.kind == entity.lower()).execute()


def test_an_invoice_edited_in_work_keeps_the_bookkeepers_memo_message_and_email_status(synced: Any) -> None:
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    wc = ws.work_client()
    inv = next(i for i in wc.invoices() if i.status == "sent" and Link.get_or_none(kind="invoice", work_id=i.id)
               and len(i.lines) >= 1 and not i.discount and not i.tax)
    qbo_id = Link.get(kind="invoice", work_id=inv.id).qbo_id
    _bookkeeper_edits(practice, "Invoice", qbo_id, PrivateNote="Customer asked for net 30 - agreed",
                      CustomerMemo={"value": "Thank you for your business!"}, EmailStatus="EmailSent")
    lines = [{"item_id": ln.item_id, "description": (ln.description or "Service") + " (corrected)",
              "quantity": str(ln.quantity), "unit_price": str(ln.unit_price)} for ln in inv.lines]
    practice.work.user.edit_invoice(inv.id, lines=lines)

    summary = engine.run()
    assert summary.state == "done", summary.error
    assert summary.counts.get("invoices", {}).get("updated") == 1, summary.counts
    back = rest(practice, "Invoice")[qbo_id]
    # Work's change is in QuickBooks ...
    assert all(ln.get("Description", "").endswith("(corrected)") for ln in back["Line"]
               if ln.get("DetailType") == "SalesItemLineDetail")
    assert cents(back["TotalAmt"]) == cents(wc.get_invoice(inv.id).total)
    # ... and so is everything the bookkeeper filled in
    assert back["PrivateNote"] == "Customer asked for net 30 - agreed"
    assert back["CustomerMemo"] == {"value": "Thank you for your business!"}
    assert back["EmailStatus"] == "EmailSent"
    assert_books(ws, practice)


def test_what_work_set_last_time_and_no_longer_sends_is_cleared(synced: Any) -> None:
    """A Work reference too long for PaymentRefNum went to the payment's memo; shortened in Work, it
    moves to PaymentRefNum and the memo Work wrote is cleared, while the payment method the bookkeeper
    set stays."""
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    wc = ws.work_client()
    inv = next(i for i in wc.invoices() if i.status == "sent" and i.balance and i.balance > 20
               and Link.get_or_none(kind="invoice", work_id=i.id))
    pay = practice.work.user.record_payment(inv.id, "10.00", method="check",
                                            reference="Remittance 2026-09 batch 0042 lockbox")
    assert engine.run().state == "done"
    qbo_id = Link.get(kind="payment", work_id=pay["id"]).qbo_id
    first = rest(practice, "Payment")[qbo_id]
    assert first["PrivateNote"] == "Reference: Remittance 2026-09 batch 0042 lockbox"
    _bookkeeper_edits(practice, "Payment", qbo_id, PaymentMethodRef={"value": "2", "name": "Check"})

    practice.work.user.edit_payment(pay["id"], reference="LB-0042")
    summary = engine.run()
    assert summary.state == "done", summary.error
    back = rest(practice, "Payment")[qbo_id]
    assert back["PaymentRefNum"] == "LB-0042"
    assert not back.get("PrivateNote")  # Work's own memo, no longer sent: cleared
    assert back["PaymentMethodRef"]["value"] == "2"  # the bookkeeper's: kept
    assert cents(back["TotalAmt"]) == Decimal("10.00")
    assert_books(ws, practice)
