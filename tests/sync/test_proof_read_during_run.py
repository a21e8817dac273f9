"""The proof after money writes reads an invoice's balance back from QuickBooks while the run goes on,
once QuickBooks has answered every write of the run that touches it (sync/proof.py EarlyReads). A
cent of difference in such a read is still one problem, and a read that a later write of the run
made old (a credit applied to the invoice afterwards) does not count: the invoice is read again.

The practice QuickBooks answers the proof's balance reads made during the run a cent low (a fault
hook on its query answers); what it really holds is read over its REST API."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from fixtures.books import assert_books, cents, open_problems, rest

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.sync import proof
from qbosync_desktop.sync.flows import credits


def test_a_balance_read_back_during_the_run_a_cent_off_is_a_problem_and_a_read_made_old_is_read_again(
        synced: Any, monkeypatch: Any) -> None:
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    # Every invoice is read as soon as QuickBooks answered its writes (not 1,000 at a time).
    monkeypatch.setattr(proof, "EARLY_CHUNK", 1)
    wc = ws.work_client()
    open_invoices = [i for i in wc.invoices() if i.status == "sent" and i.balance and i.balance > 10
                     and Link.get_or_none(kind="invoice", work_id=i.id) is not None]
    a, b, c = open_invoices[:3]
    user = practice.work.user
    user.record_payment(a.id, "1.00", method="check", reference="CHK 901")
    user.record_payment(b.id, "2.00", method="check", reference="CHK 902")
    user.record_payment(c.id, "3.00", method="check", reference="CHK 903")
    # A credit applied to C: announced (credit applications phase) after C's payment was answered.
    user.add_credit_note(c.client_id, amount="4.00", invoice_id=c.id, notes="goodwill")
    qa, qb, qc = (Link.get(kind="invoice", work_id=i.id).qbo_id for i in (a, b, c))

    # The fault: the proof's balance reads (SELECT Balance, TotalAmt ...) answer a cent low - for A
    # and B always, except at the end; for C only until its credit application is planned.
    c_applied = threading.Event()
    c_read_early = threading.Event()
    at_end = threading.Event()
    altered: set[str] = set()

    def a_cent_low(body: Any) -> Any:
        rows = (body.get("QueryResponse") or {}).get("Invoice") or []
        if at_end.is_set() or not rows or any("DocNumber" in r or "TotalAmt" not in r for r in rows):
            return body
        for r in rows:
            qid = str(r["Id"])
            if qid in (qa, qb) or (qid == qc and not c_applied.is_set()):
                r["Balance"] = float(cents(r["Balance"]) - Decimal("0.01"))
                altered.add(qid)
                if qid == qc:
                    c_read_early.set()
        return body

    check = credits.CreditApplicationsOut.check

    def check_after_c_was_read(self: Any, ctx: Any, d: Any) -> Any:
        if str(d.rec.invoice_id) == c.id:
            # C's payment was answered in the phase before: the reader reads C meanwhile.
            assert c_read_early.wait(30), "C was not read back during the run"
            c_applied.set()
        return check(self, ctx, d)

    rest_of = proof.Proof._read_rest

    def read_rest(ctx: Any, work_ids: list[str], into: dict) -> None:
        at_end.set()
        rest_of(ctx, work_ids, into)

    monkeypatch.setattr(credits.CreditApplicationsOut, "check", check_after_c_was_read)
    monkeypatch.setattr(proof.Proof, "_read_rest", staticmethod(read_rest))
    practice.qbo.answer_next("query", transform=a_cent_low, count=100_000)
    try:
        summary = engine.run()
    finally:
        practice.qbo.clear_odd_answers()
    assert summary.state == "done", summary.error
    assert {qa, qb, qc} <= altered  # each was read back during the run

    qbo_invoices = rest(practice, "Invoice")
    for inv, qid, paid in ((a, qa, "1.00"), (b, qb, "2.00")):
        work_balance = wc.get_invoice(inv.id).balance
        assert work_balance == inv.balance - Decimal(paid)
        # QuickBooks holds Work's balance: the difference is only in the answer the proof read.
        assert cents(qbo_invoices[qid]["Balance"]) == work_balance
        (problem,) = open_problems(proof.BALANCE, inv.id)
        assert problem.title == "QuickBooks balance differs from Work"
        assert inv.number in problem.message
        assert f"QuickBooks shows balance {work_balance - Decimal('0.01'):.2f}" in problem.message
        assert f"Work shows {work_balance:.2f}" in problem.message
        assert problem.hint and inv.number in problem.hint
    # C's read during the run was made old by its credit application: read again at the end, it matches.
    assert cents(qbo_invoices[qc]["Balance"]) == wc.get_invoice(c.id).balance
    assert not open_problems(proof.BALANCE, c.id)

    # Retry: read again (at the end, as QuickBooks answers it now), they match and close.
    assert engine.retry().state == "done"
    assert not open_problems(proof.BALANCE)
    assert_books(ws, practice)


def test_a_payment_moved_to_another_invoice_has_every_balance_read_at_the_end(synced: Any, monkeypatch: Any,
                                                                              caplog: Any) -> None:
    """The old invoice of a moved payment is not announced (its payment's write changes it too): no
    read made during the run counts, so none of the reads the practice QuickBooks answers a cent low
    becomes a problem; the balances read at the end match."""
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    monkeypatch.setattr(proof, "EARLY_CHUNK", 1)
    wc = ws.work_client()
    linked = {i.id: i for i in wc.invoices() if Link.get_or_none(kind="invoice", work_id=i.id) is not None}
    moved, target = next(
        (p, i) for p in wc.payments() if p.status == "active" and p.invoice_id in linked
        and Link.get_or_none(kind="payment", work_id=p.id) is not None
        for i in linked.values() if i.status == "sent" and i.balance and i.balance > p.amount + 5
        and i.client_id == linked[p.invoice_id].client_id and i.id != p.invoice_id)
    other = next(i for i in linked.values() if i.status == "sent" and i.balance and i.balance > 10
                 and i.id not in (target.id, moved.invoice_id))
    user = practice.work.user
    user.record_payment(other.id, "1.00", method="check", reference="CHK 904")
    user.edit_payment(moved.id, invoice_id=target.id)

    summary = _sync_with_balances_a_cent_low_until_the_end(practice, engine, monkeypatch, caplog)
    assert summary.state == "done", summary.error
    qbo_invoices = rest(practice, "Invoice")
    for inv in (target, other):
        assert cents(qbo_invoices[Link.get(kind="invoice", work_id=inv.id).qbo_id]["Balance"]) == \
            wc.get_invoice(inv.id).balance
        assert not open_problems(proof.BALANCE, inv.id)
    assert not open_problems(proof.BALANCE)
    assert_books(ws, practice)
    assert "every balance read at the end" in caplog.text and "was on another invoice before" in caplog.text


def test_a_payment_changed_in_quickbooks_meanwhile_has_every_balance_read_at_the_end(synced: Any, monkeypatch: Any,
                                                                                     caplog: Any) -> None:
    """A bookkeeper edited a synced payment in QuickBooks, and Work corrected its amount: the sync's
    update meets a stale SyncToken, and which invoices its retry touches is not known in advance. No
    read made during the run counts then (none of the reads answered a cent low becomes a problem),
    the balances read at the end match, and QuickBooks holds Work's amount."""
    ws, practice, engine = synced.ws, synced.practice, synced.engine
    monkeypatch.setattr(proof, "EARLY_CHUNK", 1)
    wc = ws.work_client()
    linked = {i.id: i for i in wc.invoices() if Link.get_or_none(kind="invoice", work_id=i.id) is not None}
    pay = next(p for p in wc.payments() if p.status == "active" and p.invoice_id in linked
               and p.amount > 5 and Link.get_or_none(kind="payment", work_id=p.id) is not None)
    other = next(i for i in linked.values() if i.status == "sent" and i.balance and i.balance > 10
                 and i.id != pay.invoice_id)
    user = practice.work.user
    user.record_payment(other.id, "1.00", method="check", reference="CHK 905")
    user.edit_payment(pay.id, amount=str(pay.amount - Decimal("1.00")))
    # the bookkeeper's edit in QuickBooks: a memo, so the link's SyncToken is old
    qbo_pay = Link.get(kind="payment", work_id=pay.id).qbo_id
    practice.qbo.user.update("Payment", qbo_pay, PrivateNote="Checked against the bank statement")

    summary = _sync_with_balances_a_cent_low_until_the_end(practice, engine, monkeypatch, caplog)
    assert summary.state == "done", summary.error
    assert "a payment or credit changed in QuickBooks meanwhile" in caplog.text
    qbo_payment = rest(practice, "Payment")[qbo_pay]
    assert cents(qbo_payment["TotalAmt"]) == pay.amount - Decimal("1.00")
    assert qbo_payment.get("PrivateNote") == "Checked against the bank statement"  # a sparse update kept it
    qbo_invoices = rest(practice, "Invoice")
    for inv_id in (pay.invoice_id, other.id):
        assert cents(qbo_invoices[Link.get(kind="invoice", work_id=inv_id).qbo_id]["Balance"]) == \
            wc.get_invoice(inv_id).balance
    assert not open_problems(proof.BALANCE)
    assert_books(ws, practice)


def _sync_with_balances_a_cent_low_until_the_end(practice: Any, engine: Any, monkeypatch: Any, caplog: Any) -> Any:
    """A sync in which every balance read the proof makes during the run is answered a cent low (the
    reads at the end are not): a read made during the run that counted would become a problem."""
    at_end = threading.Event()

    def a_cent_low(body: Any) -> Any:
        rows = (body.get("QueryResponse") or {}).get("Invoice") or []
        if at_end.is_set() or not rows or any("DocNumber" in r or "TotalAmt" not in r for r in rows):
            return body
        for r in rows:
            r["Balance"] = float(cents(r["Balance"]) - Decimal("0.01"))
        return body

    rest_of = proof.Proof._read_rest

    def read_rest(ctx: Any, work_ids: list[str], into: dict) -> None:
        at_end.set()
        rest_of(ctx, work_ids, into)

    monkeypatch.setattr(proof.Proof, "_read_rest", staticmethod(read_rest))
    practice.qbo.answer_next("query", transform=a_cent_low, count=100_000)
    try:
        with caplog.at_level("INFO", logger=proof.__name__):
            return engine.run()
    finally:
        practice.qbo.clear_odd_answers()
