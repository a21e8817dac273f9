"""Kill drill: ``qbosync sync`` is SIGKILLed at random moments, restarted, and QBO ends up holding every
record exactly once: clients, invoices, payments (edited and voided), credit notes (applied, open,
voided after they reached QuickBooks) and refunds (voided too).

The practice servers run in this test process (QBO data in memory is fine: the sandbox outlives every
killed sync). Part of the time the sandbox also drops committed responses (``lost_response_rate``).
The subprocess needs the QuickBooks tokens and the Work key: the in-memory test keyring is
per-process, so this test's temp home opts in to the file secrets backend
(``secrets.enable_insecure_file_secrets``) *before* connecting - the same opt-in a user without a
keyring makes - and the child process reads them from there.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import pytest
from fixtures.kill_moment import wait_for_kill_moment

from qbosync_desktop.core.secrets import enable_insecure_file_secrets
from qbosync_desktop.runtime.practice import connect_practice, practice_settings
from qbosync_desktop.runtime.workspace import Workspace
from qbosync_desktop.store import close_database, open_database
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import Batch
from qbosync_desktop.store.models.problems import Problem

KILLS = 20
# Most kills come after 1-14 of the run's QuickBooks requests (a run here makes about 15-18), the rest at a
# random 0.5-1.6 s: fixtures/kill_moment.py.
MAX_REQUESTS = 14
SEED = int(os.environ.get("QBOSYNC_KILL_DRILL_SEED", "20261122"))


def _sync(root, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qbosync_desktop.cli.main", "--home", str(root), "sync", "--json"],
        stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "QBOSYNC_HOME": str(root)},
    )


def _finish(root, log) -> list[int]:
    """Syncs until one finishes; a run that started while a batch was half-applied may need one more."""
    codes = []
    for _ in range(3):
        proc = _sync(root, log)
        codes.append(proc.wait(timeout=120))
        if codes[-1] in (0, 1):
            break
    return codes


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkilled_syncs_leave_every_record_in_quickbooks_exactly_once(practice, home, tmp_path):
    rng = random.Random(SEED)
    root = home.data_dir.parent
    enable_insecure_file_secrets(home)
    ws = Workspace.open(home)
    try:
        connect_practice(ws, practice, timeout=30)
        ws.save_settings(practice_settings(ws))
        ws.mark_enabled()
    finally:
        ws.close()
    close_database()

    user = practice.work.user
    items = [r["id"] for r in practice.work.store.all("items")][:3]
    kills = killed_mid_run = attempts = 0
    earlier: list[dict] = []
    earlier_money: tuple = ()
    with open(tmp_path / "children.log", "wb") as log:
        practice.qbo.set_faults(latency_ms=40)  # a little network time, as with the real QuickBooks
        while kills < KILLS and attempts < 3 * KILLS:
            attempts += 1
            # Keep giving the drill work, as a Work user would: new clients, invoices and payments, a
            # credit applied to an invoice, an open credit, refunds, and corrections of earlier payments
            # (edited and voided, most of them already in QuickBooks by then), credits and refunds.
            paid, applied, refunded = [], None, None
            for n in range(5):
                client = user.add_client(f"Drill Client {attempts}-{n}", email=f"drill{attempts}.{n}@example.com")
                inv = user.add_invoice(client["id"], [{"item_id": items[n % len(items)]}, {"item_id": items[-1]}])
                if n == 2:
                    applied = user.add_credit_note(client["id"], amount="1.00", invoice_id=inv["id"])
                if n:
                    paid.append(user.record_payment(inv["id"]))
                if n == 1:
                    refunded = user.add_refund("1.00", payment_id=paid[-1]["id"])
                if n == 4:
                    credit = user.add_credit_note(client["id"], amount="2.00")
                    user.add_refund("0.50", credit_note_id=credit["id"])
            for old_payment in earlier[:1]:
                user.edit_payment(old_payment["id"], amount=str(Decimal(old_payment["amount"]) - Decimal("0.50")))
            for old_payment in earlier[1:2]:
                user.void_payment(old_payment["id"])
            # ... and voids of the last round's applied credit and refund (most already in QuickBooks:
            # their credit memo and refund receipt are deleted, the invoice reopens by the credit)
            if earlier_money:
                user.void_credit_note(earlier_money[0]["id"])
                user.void_refund(earlier_money[1]["id"])
            earlier, earlier_money = paid[2:], (applied, refunded)
            practice.qbo.set_faults(lost_response_rate=0.3 if attempts % 2 == 0 else 0.0)
            before = practice.qbo.stats.get("requests", 0)
            proc = _sync(root, log)
            wait_for_kill_moment(proc, practice.qbo, rng, max_requests=MAX_REQUESTS)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                killed_mid_run += practice.qbo.stats.get("requests", 0) > before
            proc.wait(timeout=30)
        practice.qbo.set_faults(lost_response_rate=0.0, latency_ms=0)
        codes = _finish(root, log)
        if codes[-1] in (0, 1):
            # Everything is in QuickBooks now: void credit notes and refunds that reached it (their
            # credit memos and refund receipts are deleted, the invoices reopen by the credit), under
            # one more SIGKILL and lost responses, then finish again.
            drill_ids = {c["id"] for c in practice.work.store.all("clients") if c["name"].startswith("Drill Client")}
            credits = [c for c in practice.work.store.all("credit-notes")
                       if c["client_id"] in drill_ids and c["status"] == "active"]
            for credit in [c for c in credits if c["invoice_id"]][-3:]:
                user.void_credit_note(credit["id"])
            for refund in [r for r in practice.work.store.all("refunds")
                           if r["client_id"] in drill_ids and r["status"] == "active"][-3:]:
                user.void_refund(refund["id"])
            practice.qbo.set_faults(lost_response_rate=0.5)
            proc = _sync(root, log)
            wait_for_kill_moment(proc, practice.qbo, rng, max_requests=MAX_REQUESTS)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            practice.qbo.set_faults(lost_response_rate=0.0)
            codes += _finish(root, log)
    assert codes[-1] in (0, 1), (codes, (tmp_path / "children.log").read_text(errors="replace")[-3000:])
    assert kills >= KILLS, f"only {kills} of {attempts} syncs were still running when killed"
    assert killed_mid_run >= KILLS // 2, f"only {killed_mid_run} kills hit a run that talked to QuickBooks"

    open_database(home.db_path)
    try:
        store = practice.qbo.store
        names = Counter(" ".join(r["DisplayName"].split()).casefold()
                        for e in ("Customer", "Vendor") for r in store.all(e))
        assert max(names.values()) == 1, [n for n, c in names.items() if c > 1]
        for entity in ("Invoice", "Bill"):
            docs = Counter(r.get("DocNumber") for r in store.all(entity) if r.get("DocNumber"))
            assert not [d for d, c in docs.items() if c > 1], entity
        assert not Batch.select().where(Batch.state != "done").exists()
        wc = Workspace.open(home).work_client()
        work = {"invoice": list(wc.invoices()), "payment": list(wc.payments()), "bill": list(wc.contractor_invoices())}
        for kind, entity in (("invoice", "Invoice"), ("payment", "Payment"), ("bill", "Bill")):
            links = list(Link.select().where(Link.kind == kind))
            qbo_ids = {str(r["Id"]) for r in store.all(entity)}
            assert {lk.qbo_id for lk in links} <= qbo_ids
            assert len({lk.qbo_id for lk in links}) == len(links)
            # every Work record created by the sync is in QBO once: QBO holds exactly the linked ones
            # (the practice company's own seeded records have no Work counterpart, hence "created").
            created = [lk for lk in links if lk.origin == "created"]
            assert len(created) == len({lk.work_id for lk in created})
            for rec in work[kind]:
                has_link = Link.get_or_none(kind=kind, work_id=rec.id) is not None
                problem = Problem.get_or_none((Problem.kind == kind) & (Problem.work_id == rec.id)
                                              & (Problem.state == "open"))
                assert not (has_link and problem is not None and problem.code is None), (kind, rec.id)
        # Credit memos, refund receipts, credit applications and corrected payments: each once.
        drill_clients = {c.id for c in wc.clients() if c.name.startswith("Drill Client")}
        payment_links = list(Link.select().where(Link.kind.in_(("payment", "credit_application"))))
        assert len({lk.qbo_id for lk in payment_links}) == len(payment_links)
        for kind, entity, records in (("credit_note", "CreditMemo", list(wc.credit_notes())),
                                      ("refund", "RefundReceipt", list(wc.refunds()))):
            links = {lk.work_id: lk for lk in Link.select().where(Link.kind == kind)}
            qbo = {str(r["Id"]): r for r in store.all(entity)}
            assert len({lk.qbo_id for lk in links.values()}) == len(links)
            drill = [r for r in records if r.client_id in drill_clients]
            assert drill, kind
            deleted = 0
            for rec in drill:
                if rec.status == "void":  # never sent, or its QuickBooks record deleted (no void there)
                    assert rec.id not in links or links[rec.id].qbo_id not in qbo, (kind, rec.id)
                    deleted += rec.id in links
                    continue
                assert rec.id in links, (kind, rec.id)
                assert Decimal(str(qbo[links[rec.id].qbo_id]["TotalAmt"])).quantize(Decimal("0.01")) == rec.amount
            assert deleted, f"no {kind} voided in Work after it reached QuickBooks"
            mine = {lk.qbo_id for lk in links.values()}
            drill_customers = {Link.get(kind="client", work_id=c).qbo_id for c in drill_clients}
            assert {i for i, r in qbo.items() if r["CustomerRef"]["value"] in drill_customers} == \
                {links[r.id].qbo_id for r in drill if r.status != "void"} <= mine
        qbo_payments = {str(r["Id"]): r for r in store.all("Payment")}
        edited = voided = 0
        for pay in work["payment"]:
            if pay.client_id not in drill_clients:
                continue
            link = Link.get_or_none(kind="payment", work_id=pay.id)
            if pay.status == "void":
                voided += 1
                assert link is None or Decimal(str(qbo_payments[link.qbo_id]["TotalAmt"])) == 0
                continue
            assert link is not None, pay.id
            edited += pay.version > 1
            assert Decimal(str(qbo_payments[link.qbo_id]["TotalAmt"])).quantize(Decimal("0.01")) == pay.amount
        assert edited and voided
        qbo_invoices = {str(r["Id"]): r for r in store.all("Invoice")}
        for rec in work["invoice"]:
            if rec.client_id in drill_clients:  # every drill invoice's balance is Work's, to the cent
                q = qbo_invoices[Link.get(kind="invoice", work_id=rec.id).qbo_id]
                assert Decimal(str(q["Balance"])).quantize(Decimal("0.01")) == rec.balance, rec.number
        drill_invoices = [r for r in work["invoice"] if r.client_id in drill_clients]
        assert len(drill_invoices) == 5 * attempts
        qbo_docs = Counter(r.get("DocNumber") for r in store.all("Invoice"))
        for rec in drill_invoices:  # everything the drill added is in QuickBooks, once
            assert Link.get_or_none(kind="invoice", work_id=rec.id) is not None, rec.number
            assert qbo_docs[rec.number] == 1, rec.number
        print(f"kill drill: {kills} SIGKILLs in {attempts} syncs, {killed_mid_run} while talking to QuickBooks, "
              f"{practice.qbo.stats.get('lost_responses', 0)} responses lost, {practice.qbo.stats.get('replays', 0)} "
              "requestid replays")
        seeded_invoice_numbers = Counter(r.get("DocNumber") for r in store.all("Invoice"))
        work_numbers = {r.number for r in work["invoice"]}
        assert all(seeded_invoice_numbers[n] <= 1 for n in work_numbers)
    finally:
        close_database()
