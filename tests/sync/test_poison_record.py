"""Issue 16, poison isolation: one Work invoice that does not parse never stops a sync.

Real HTTP against both practice servers. The bad record is written into the Work demo server's store
with ``WorkStore.bulk_edit`` - the scale generator's path that applies patches without the per-record
checks the API makes - because the Work API itself (rightly) refuses an invalid date. That is the
documented test-only way to put a malformed record in Work (docs/work-api.md, "Malformed records").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.sync import problems


@pytest.fixture
def big_enabled(make_enabled: Any) -> Any:
    return make_enabled(work_clients=40, work_invoices=200)


def _qbo_docnumbers(ws: Workspace) -> set[str]:
    return {row["DocNumber"] for row in ws.qbo_client().query("Invoice", order_by="Id")}


def test_one_malformed_invoice_among_200_is_one_problem_and_the_rest_sync(big_enabled: Any) -> None:
    from qbosync_desktop.sync.engine import SyncEngine

    practice, ws = big_enabled
    work = ws.work_client()
    invoices = list(work.invoices())
    assert len(invoices) == 200
    bad = next(inv for inv in invoices if inv.status == "sent")
    practice.work.store.bulk_edit("invoices", {bad.id: {"issue_date": "2026-02-30"}})

    summary = SyncEngine(ws).run(initial=True)
    assert summary.state == "done", summary.error  # not "Work had a temporary problem"

    # every other sendable invoice is in QuickBooks, read back over its REST API
    readable = list(work.invoices())  # the list reads on past the bad record
    assert bad.id not in {inv.id for inv in readable} and len(readable) == 199
    expected = {inv.number for inv in readable if inv.status in ("sent", "paid")}
    assert len(expected) > 150
    in_qbo = _qbo_docnumbers(ws)
    assert expected <= in_qbo and bad.number not in in_qbo

    # and so are their payments: each active Work payment is a QuickBooks payment line on its invoice
    number_of = {inv.id: inv.number for inv in readable}
    active_payments = [p for p in work.payments() if not p.is_void]
    assert active_payments and all(p.invoice_id != bad.id for p in active_payments)  # a "sent" one
    wanted = Counter((number_of[p.invoice_id], Decimal(p.amount)) for p in active_payments)
    docnumber_of = {row["Id"]: row["DocNumber"] for row in ws.qbo_client().query("Invoice", order_by="Id")}
    in_qbo_payments = Counter(
        (docnumber_of.get(txn["TxnId"]), Decimal(str(line["Amount"])).quantize(Decimal("0.01")))
        for row in ws.qbo_client().query("Payment", order_by="Id") for line in row.get("Line") or []
        for txn in line.get("LinkedTxn") or [] if txn.get("TxnType") == "Invoice")
    assert not wanted - in_qbo_payments

    # exactly one problem, naming the record (Work id and number), the field and the value, with a next step
    # (the scale data has one unrelated payment QuickBooks refuses, on main too: pa_39, "more than its
    # open balance" - reported to the lead; it is not about this invoice and is left out here)
    open_now = problems.open_problems()
    naming = [q for q in open_now if q["work_id"] == bad.id or bad.number in q["message"]]
    assert len(naming) == 1, [(q["work_id"], q["message"]) for q in open_now]
    p = naming[0]
    assert (p["kind"], p["work_id"]) == ("invoice", bad.id)
    assert bad.number in p["message"] and bad.id in p["message"]
    assert "issue_date" in p["message"] and "2026-02-30" in p["message"]
    assert "in Work" in p["hint"] and "issue_date" in p["hint"]
    assert p["details"]["field"] == "issue_date" and p["details"]["value"] == "2026-02-30"

    # a second run with nothing changed: the problem stays (one), nothing new is sent
    again = SyncEngine(ws).run()
    assert again.state == "done", again.error
    assert problems.open_problems() == open_now  # the same ones, none re-raised or added
    assert _qbo_docnumbers(ws) == in_qbo

    # fixed in Work: the next sync sends it and closes the problem
    practice.work.store.bulk_edit("invoices", {bad.id: {"issue_date": dt.date.today().isoformat()}})
    fixed = SyncEngine(ws).run()
    assert fixed.state == "done", fixed.error
    assert bad.number in _qbo_docnumbers(ws)
    assert [q for q in problems.open_problems() if q["kind"] == "invoice"] == []
    assert bad.number not in str(problems.open_problems())


def test_payments_for_a_void_or_unknown_invoice_are_problems_with_the_true_reason(big_enabled: Any) -> None:
    from qbosync_desktop.sync.engine import SyncEngine

    practice, ws = big_enabled
    work = ws.work_client()
    invoices = {inv.id: inv for inv in work.invoices()}
    payments = [p for p in work.payments() if not p.is_void]
    to_void, to_orphan = payments[0], payments[1]
    voided = invoices[to_void.invoice_id]
    # a paid invoice voided in Work with its payment still active; a payment pointing at no invoice
    practice.work.store.bulk_edit("invoices", {voided.id: {"status": "void"}})
    practice.work.store.bulk_edit("payments", {to_orphan.id: {"invoice_id": "in_999999"}})

    summary = SyncEngine(ws).run(initial=True)
    assert summary.state == "done", summary.error

    by_id = {q["work_id"]: q for q in problems.open_problems("payment")}
    void_p, orphan_p = by_id[to_void.id], by_id[to_orphan.id]
    assert "void in Work" in void_p["message"] and voided.number in void_p["message"]
    assert "void this payment" in void_p["hint"]
    assert "in_999999" in orphan_p["message"] and "does not have" in orphan_p["message"]
    assert "In Work" in orphan_p["hint"]
    # neither reached QuickBooks: no payment line on the voided invoice, which itself is not there
    assert voided.number not in _qbo_docnumbers(ws)
    qbo_refs = {str(line.get("Amount")) for row in ws.qbo_client().query("Payment", order_by="Id")
                for line in row.get("Line") or [] if not line.get("LinkedTxn")}
    assert qbo_refs == set()  # no unapplied payment was made up for the orphan either
