"""Credits, refunds and payment corrections reach QuickBooks exactly once, and every synced invoice's
Balance equals Work's balance (issue 14). QuickBooks is read back over the practice REST API.

Seed (sandbox/work/seed.py "books"): INV-2001's payment was edited; INV-2006's check bounced
(voided) and a refund keyed by mistake was voided; CN-0001 was voided; CN-0002 (37.94, with tax) is
applied to INV-2004; CN-0003 is an open 60.00 credit with 25.00 refunded; INV-2002's payment had
40.00 refunded.
"""

from __future__ import annotations

from decimal import Decimal

from fixtures.books import assert_books, cents, open_problems, rest

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem


def test_enable_puts_credits_refunds_and_corrected_payments_in_quickbooks_once(synced):
    ws, practice = synced.ws, synced.practice
    assert synced.summary.state == "done"
    assert_books(ws, practice)
    wc = ws.work_client()
    by_number = {cn.number: cn for cn in wc.credit_notes()}
    assert Link.get_or_none(kind="credit_note", work_id=by_number["CN-0001"].id) is None  # voided first
    # voided before it was ever synced: a counted skip with its reason, not a write
    voided = [p for p in wc.payments() if p.status == "void"]
    assert voided
    for pay in voided:
        assert Link.get_or_none(kind="payment", work_id=pay.id) is None
        assert AuditEntry.select().where((AuditEntry.action == "skip") & (AuditEntry.work_id == pay.id)
                                         & (AuditEntry.message.contains("voided in Work"))).count() == 1
    assert synced.summary.counts["payments"].get("skipped", 0) >= len(voided)
    assert synced.summary.counts["credit_notes"]["created"] == 2
    assert synced.summary.counts["credit_applications"]["created"] == 1
    assert synced.summary.counts["refunds"]["created"] == 2


def test_edits_and_voids_in_work_update_quickbooks_in_place(synced):
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    wc, user = ws.work_client(), practice.work.user
    before = rest(practice, "Payment")
    active = [p for p in wc.payments() if p.status == "active" and Link.get_or_none(kind="payment", work_id=p.id)]
    edited, voided = active[0], active[1]
    edit_link = Link.get(kind="payment", work_id=edited.id)
    user.edit_payment(edited.id, amount=str(edited.amount - Decimal("1.00")), reference="FIXED 1")
    user.void_payment(voided.id)
    # a new credit applied to an open invoice, and a refund of part of a payment
    open_inv = next(i for i in wc.invoices() if i.status == "sent" and i.balance and i.balance > 5
                    and Link.get_or_none(kind="invoice", work_id=i.id))
    credit = user.add_credit_note(open_inv.client_id, amount="5.00", invoice_id=open_inv.id, notes="Goodwill")
    refunded = active[2]
    refund = user.add_refund("2.50", payment_id=refunded.id, method="check", reference="CHK 9")
    # the credit note CN-0002 voided: its credit memo is deleted and INV-2004 reopens
    cn2 = next(cn for cn in wc.credit_notes() if cn.number == "CN-0002")
    user.void_credit_note(cn2.id)

    # the preview counts the same corrections, in a person's words
    from qbosync_desktop.sync.onboarding.preview import summarise
    shown = {e["entity"]: e for e in summarise(engine.preview())}
    writes = ("create", "update", "void", "delete", "fail")
    counts = {e: {a: n for a, n in shown[e]["counts"].items() if a in writes} for e in shown}
    assert counts["payments"] == {"update": 1, "void": 1}
    assert shown["credit_notes"]["label"] == "Credit notes"
    assert counts["credit_notes"] == {"create": 1, "delete": 1}
    assert counts["credit_applications"] == {"create": 1}
    assert shown["refunds"]["label"] == "Refunds" and counts["refunds"] == {"create": 1}

    s = engine.run()
    assert s.state == "done", s.error
    assert s.counts["payments"] == {"updated": 1, "voided": 1}, s.counts
    assert s.counts["credit_notes"] == {"created": 1, "voided": 1}, s.counts
    assert s.counts["credit_applications"] == {"created": 1}, s.counts
    assert s.counts["refunds"] == {"created": 1}, s.counts
    after = rest(practice, "Payment")
    # never a second payment: the edit kept its Id, with a new SyncToken
    q = after[edit_link.qbo_id]
    assert cents(q["TotalAmt"]) == edited.amount - Decimal("1.00")
    assert q["PaymentRefNum"] == "FIXED 1"
    assert int(q["SyncToken"]) > int(before[edit_link.qbo_id]["SyncToken"])
    assert cents(after[Link.get(kind="payment", work_id=voided.id).qbo_id]["TotalAmt"]) == 0
    assert len(after) == len(before) + 1  # only the new credit application
    assert Link.get_or_none(kind="credit_application", work_id=credit["id"]) is not None
    assert Link.get_or_none(kind="refund", work_id=refund["id"]) is not None
    assert_books(ws, practice)

    # nothing changed since: no write, and no read-back either
    stats = practice.qbo.stats
    again = engine.run()
    assert again.state == "done"
    assert practice.qbo.stats["requests"] - stats["requests"] <= 2
    assert_books(ws, practice)


def test_bad_money_records_get_one_clear_problem_each_and_the_run_goes_on(synced):
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    wc, user = ws.work_client(), practice.work.user
    # 1. A credit note for a client QuickBooks does not have (its own name problem: a colon).
    unsynced = next(c for c in wc.clients() if Link.get_or_none(kind="client", work_id=c.id) is None
                    and open_problems("client", c.id))
    bad_credit = user.add_credit_note(unsynced.id, amount="12.00", notes="for a client not in QuickBooks")
    # 2. A refund larger than its payment: the payment was corrected down after the refund.
    open_inv = [i for i in wc.invoices() if i.status == "sent" and i.balance and i.balance > 60
                and Link.get_or_none(kind="invoice", work_id=i.id)]
    pay = user.record_payment(open_inv[0].id, "50.00", method="card")
    big_refund = user.add_refund("40.00", payment_id=pay["id"], method="card")
    user.edit_payment(pay["id"], amount="30.00")
    # 3. A payment larger than its invoice's open balance in QuickBooks (someone lowered the invoice
    # in QuickBooks): QuickBooks would keep the excess unapplied.
    inv = open_inv[1]
    link = Link.get(kind="invoice", work_id=inv.id)
    q = rest(practice, "Invoice")[link.qbo_id]
    lines = [ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    practice.qbo.user.update("Invoice", link.qbo_id, Line=[{**lines[0], "Amount": 1.0,
                                                           "SalesItemLineDetail": {
                                                               "ItemRef": lines[0]["SalesItemLineDetail"]["ItemRef"]}}])
    over = user.record_payment(inv.id, str(inv.balance), method="check", reference="CHK 77")
    # and a good one in the same run
    good = user.add_credit_note(wc.get_invoice(open_inv[0].id).client_id, amount="3.00")

    s = engine.run()
    assert s.state == "done", s.error
    (p1,) = open_problems("credit_note", bad_credit["id"])
    assert "not in QuickBooks yet" in p1.message and unsynced.name.strip()[:5] in p1.message and p1.hint
    (p2,) = open_problems("refund", big_refund["id"])
    assert "40.00" in p2.message and "30.00" in p2.message and p2.hint
    (p3,) = open_problems("payment", over["id"])
    assert inv.number in p3.message and f"{inv.balance:.2f}" in p3.message and p3.hint
    assert Link.get_or_none(kind="payment", work_id=over["id"]) is None
    assert Link.get_or_none(kind="credit_note", work_id=good["id"]) is not None
    memos = rest(practice, "CreditMemo")
    assert cents(memos[Link.get(kind="credit_note", work_id=good["id"]).qbo_id]["TotalAmt"]) == Decimal("3.00")
    # each bad record once: a second run opens nothing new
    n = Problem.select().where(Problem.state == "open").count()
    assert engine.run().state == "done"
    assert Problem.select().where(Problem.state == "open").count() == n
