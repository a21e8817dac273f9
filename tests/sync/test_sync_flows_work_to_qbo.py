"""Work → QBO flows end to end against both practice servers (real HTTP, real SQLite, real keyring API).

Checked in QuickBooks record by record: customers with addresses, items on the chosen accounts,
invoices with lines and totals, payments linked and deposited, vendors, bills on mapped accounts; every
messy demo record ends synced or as exactly one problem.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from fixtures.sync_engine import RecordingObserver

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem


def _open(kind: str, work_id: str) -> int:
    return Problem.select().where((Problem.kind == kind) & (Problem.work_id == work_id)
                                 & (Problem.state == "open")).count()


def _undecided_matches() -> set[str]:
    try:
        from qbosync_desktop.store.models.onboarding import MatchProposal
    except ModuleNotFoundError:  # pragma: no cover - before issue 7
        return set()
    return {m.work_id for m in MatchProposal.select().where((MatchProposal.kind == "client")
                                                             & (MatchProposal.state == "proposed"))}


def _qbo(practice, entity: str) -> dict[str, dict]:
    return {str(r["Id"]): r for r in practice.qbo.store.all(entity)}


def test_initial_sync_puts_every_record_in_quickbooks_once_or_as_one_problem(engine, configured_workspace, practice):
    ws, obs = configured_workspace, RecordingObserver()
    summary = engine.run(initial=True, observer=obs)
    assert summary.state == "done", summary.error
    assert obs.finished is summary and obs.started and obs.started[0][0] == summary.run_id
    settings, wc = ws.settings(), ws.work_client()

    customers = _qbo(practice, "Customer")
    names = Counter(" ".join(c["DisplayName"].split()).casefold() for c in customers.values())
    assert max(names.values()) == 1, "no DisplayName twice"
    held = {r[1] for r in obs.records if r[0] == "clients" and r[2] == "skipped"} | _undecided_matches()
    for c in wc.clients():
        link = Link.get_or_none(kind="client", work_id=c.id)
        if link is None and c.id in held:
            continue  # waiting for match review (issue 7): neither created nor failed
        assert (link is not None) != (_open("client", c.id) == 1), c.name
        if link is not None and link.origin == "created":
            q = customers[link.qbo_id]
            assert q["DisplayName"] == c.name.strip()
            if c.billing_address and c.billing_address.city:
                assert q["BillAddr"]["City"] == c.billing_address.city
                assert q["BillAddr"].get("CountrySubDivisionCode") == c.billing_address.state
            assert q.get("Active", True) == c.active

    items = _qbo(practice, "Item")
    for it in wc.items():
        link = Link.get(kind="item", work_id=it.id)
        q = items[link.qbo_id]
        assert q["IncomeAccountRef"]["value"] == settings.income_account
        assert Decimal(str(q["UnitPrice"])) == it.unit_price

    invoices = _qbo(practice, "Invoice")
    synced_invoices = 0
    for inv in wc.invoices():
        link = Link.get_or_none(kind="invoice", work_id=inv.id)
        if inv.status in ("draft",) or (inv.status == "void" and link is None):
            assert link is None
            continue
        assert (link is not None) != (_open("invoice", inv.id) == 1), inv.number
        if link is None:
            continue
        synced_invoices += 1
        q = invoices[link.qbo_id]
        assert q["DocNumber"] == inv.number
        assert q["CustomerRef"]["value"] == Link.get(kind="client", work_id=inv.client_id).qbo_id
        assert len([ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]) == len(inv.lines)
        assert Decimal(str(q["TotalAmt"])) == inv.total
    assert synced_invoices > 50

    payments = _qbo(practice, "Payment")
    for pay in wc.payments():
        link = Link.get_or_none(kind="payment", work_id=pay.id)
        inv_link = Link.get_or_none(kind="invoice", work_id=pay.invoice_id)
        if pay.status == "void":  # voided in Work before the first sync: a counted skip, never sent
            assert link is None and _open("payment", pay.id) == 0, pay.id
            continue
        assert (link is not None) == (inv_link is not None), pay.id
        if link is None:
            assert _open("payment", pay.id) == 1
            continue
        q = payments[link.qbo_id]
        assert q["Line"][0]["LinkedTxn"][0]["TxnId"] == inv_link.qbo_id
        assert q["DepositToAccountRef"]["value"] == settings.deposit_account
        assert Decimal(str(q["TotalAmt"])) == pay.amount

    vendors = _qbo(practice, "Vendor")
    for con in wc.contractors():
        link = Link.get_or_none(kind="vendor", work_id=con.id)
        if link is not None:
            assert vendors[link.qbo_id]["DisplayName"] in (con.name, con.name.strip())

    bills = _qbo(practice, "Bill")
    for ci in wc.contractor_invoices():
        link = Link.get_or_none(kind="bill", work_id=ci.id)
        if link is None:
            assert ci.status in ("draft", "rejected") or _open("bill", ci.id) == 1
            continue
        q = bills[link.qbo_id]
        assert q["VendorRef"]["value"] == Link.get(kind="vendor", work_id=ci.contractor_id).qbo_id
        assert [ln["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] for ln in q["Line"]] == [
            settings.concepts[ln.concept] for ln in ci.lines]

    # the audit log has one create per created link, in this run
    created = Link.select().where(Link.origin == "created").count()
    assert AuditEntry.select().where((AuditEntry.action == "create") & (AuditEntry.run_id == summary.run_id)).count() == created
    assert summary.open_problems == Problem.select().where(Problem.state == "open").count() == len(obs.problems)


def test_messy_demo_records_become_clear_problems(synced):
    problems = {(p["kind"], p["work_id"]): p for p in synced.engine.problems()}
    by_message = " | ".join(p["message"] for p in problems.values())
    assert "contains a colon (:)" in by_message  # "Smith: Residential"
    assert "characters long; QuickBooks allows at most 21" in by_message  # long invoice number
    assert "same name" in by_message  # "Joe Plumbing" / "joe  plumbing"
    for p in problems.values():
        assert p["title"] and p["message"] and p["hint"], p


def test_second_sync_without_changes_makes_no_request_and_writes_nothing(synced):
    before_stats = synced.practice.qbo.stats
    counts = (AuditEntry.select().count(), Link.select().count(), Problem.select().count())
    summary = synced.engine.run()
    after_stats = synced.practice.qbo.stats
    assert summary.state == "done"
    assert after_stats["requests"] - before_stats["requests"] <= 2
    assert summary.qbo_requests <= 2
    assert after_stats.get("write", 0) == before_stats.get("write", 0)
    assert after_stats.get("batch", 0) == before_stats.get("batch", 0)
    assert (AuditEntry.select().count(), Link.select().count(), Problem.select().count()) == counts
    assert not any(n for by in summary.counts.values() for n in by.values())


def test_cancel_stops_the_run_between_batches_and_keeps_what_was_done(engine, practice):
    import threading

    from qbosync_desktop.store.models.outbox import Batch

    cancel = threading.Event()

    class CancelAfterFirstBatch(RecordingObserver().__class__):
        def phase(self, entity, done, total):
            super().phase(entity, done, total)
            if done and done < total:
                cancel.set()

    obs = CancelAfterFirstBatch()
    summary = engine.run(initial=True, observer=obs, cancel=cancel)
    assert summary.state == "cancelled" and summary.error["type"] == "Cancelled"
    assert any(0 < d < t for _, d, t in obs.phases), "cancelled in the middle of a phase"
    assert not Batch.select().where(Batch.state != "done").exists(), "in-flight batches are applied, not lost"
    done_links = Link.select().count()
    assert done_links > 0
    resumed = engine.run(initial=True)
    assert resumed.state == "done"
    names = Counter(" ".join(c["DisplayName"].split()).casefold() for c in practice.qbo.store.all("Customer"))
    assert max(names.values()) == 1
