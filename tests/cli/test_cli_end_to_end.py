"""Issue 6 "done when", end to end through `qbosync` on the demo data, over HTTP against both practice
servers: connect, work-connect, settings set, enable, sync. QuickBooks is then checked record by
record in the practice server's own store; every Work record that should sync is either synced or
exactly one clear problem; a second sync writes nothing and makes at most 2 QuickBooks requests."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from fixtures.workspace import cli_connect

from qbosync_desktop.cli import main as cli

WRITE_ACTIONS = ("create", "update", "link", "void", "import")


def _cli_json(capsys, *argv):
    code = cli.main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _ref(obj, key):
    return ((obj or {}).get(key) or {}).get("value")


def _dec(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _snapshot(store):
    entities = ("Customer", "Vendor", "Item", "Invoice", "Payment", "Bill")
    return {e: sorted((o["Id"], o.get("SyncToken")) for o in store.all(e)) for e in entities}


@pytest.fixture
def synced(practice, capsys, home, db):
    """The whole CLI sequence once; returns what the checks need."""
    qcfg, wcfg = practice.qbo_config, practice.work_config
    code, _, err = cli_connect(capsys, ["connect", "--no-browser", f"--discovery-url={qcfg.discovery_url}",
                                        f"--client-id={qcfg.client_id}", f"--client-secret={qcfg.client_secret}",
                                        f"--redirect-uri={qcfg.redirect_uri}"])
    assert code == 0, err
    assert cli.main(["work-connect", "--url", wcfg.base_url, "--api-key", wcfg.api_key]) == 0
    capsys.readouterr()
    code, accounts, _ = _cli_json(capsys, "accounts")
    assert code == 0

    def acct(group, name):
        return next(a["id"] for a in accounts[group] if a["name"] == name)

    chosen = {
        "income_account": acct("income", "Services"),
        "expense_account": acct("expense", "Cost of Goods Sold"),
        "deposit_account": acct("deposit", "Business Checking"),
        "ap_account": acct("ap", "Accounts Payable (A/P)"),
    }
    concepts = {"Labor": "Subcontractors", "Materials": "Job Materials", "Travel": "Travel Expense",
                "Equipment rental": "Equipment Rental"}
    start = dt.date.today() - dt.timedelta(days=60)
    code = cli.main(["settings", "set", "invoices=on", "income_account=Services",
                     "expense_account=cost of goods sold", "payments=on", "deposit_account=Business Checking",
                     "bills=on", "ap_account=Accounts Payable (A/P)", f"start_date={start}",
                     *[f"concept.{c}={a}" for c, a in concepts.items()]])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    code, enabled, err = _cli_json(capsys, "enable")
    assert code in (0, 1), (enabled, err)
    assert enabled["run"]["state"] == "done" and enabled["exit_code"] == code
    return {"chosen": chosen, "concept_accounts": {c: acct("expense", a) for c, a in concepts.items()},
            "start": start, "enabled": enabled, "enable_code": code}


def test_end_to_end_initial_sync_then_a_no_op_sync(synced, practice, capsys):
    from qbosync_desktop.connectors.work.client import WorkClient
    from qbosync_desktop.store.models.audit import AuditEntry
    from qbosync_desktop.store.models.links import Link
    from qbosync_desktop.store.models.problems import Problem

    qbo = practice.qbo.store
    work = WorkClient(practice.work_config.base_url, practice.work_config.api_key)
    chosen, start = synced["chosen"], synced["start"]
    links = {kind: {lk.work_id: lk for lk in Link.select().where(Link.kind == kind)}
             for kind in ("client", "item", "invoice", "payment", "vendor", "bill")}
    open_problems = list(Problem.select().where(Problem.state == "open"))
    problems = {(p.kind, p.work_id): p for p in open_problems}

    # Every open problem is clear: plain message, a next step, no stack trace.
    for p in open_problems:
        assert p.message and p.hint and p.title, p
        assert "Traceback" not in p.message and "Exception" not in p.message
    assert (synced["enable_code"] == 1) == bool(open_problems)

    # Issue 7: an ambiguous near-match waits for the user's match review (neither synced nor failed).
    from qbosync_desktop.store.models.onboarding import MatchProposal

    in_review = {(m.kind, m.work_id) for m in MatchProposal.select().where(MatchProposal.state == "proposed")}

    def synced_or_one_problem(kind, work_id):
        linked, failed, waiting = work_id in links[kind], (kind, work_id) in problems, (kind, work_id) in in_review
        assert linked + failed + waiting == 1, f"{kind} {work_id}: linked={linked} problem={failed} review={waiting}"
        return linked

    # Customers: every Work client, with name, address and active flag.
    clients = {c.id: c for c in work.clients()}
    for c in clients.values():
        if not synced_or_one_problem("client", c.id):
            continue
        link = links["client"][c.id]
        cust = qbo.get("Customer", link.qbo_id)
        assert cust is not None
        assert c.name.split()[0].casefold() in cust["DisplayName"].casefold()
        if link.origin != "created":
            continue  # an existing QuickBooks customer, linked: its own data is QuickBooks'
        assert cust.get("Active", True) == c.active
        addr = c.billing_address
        if addr is not None and addr.city:
            bill = cust.get("BillAddr") or {}
            assert bill.get("City") == addr.city and bill.get("Line1") == addr.line1
            assert bill.get("PostalCode") == addr.postal_code
    assert ("client", next(c.id for c in clients.values() if c.name == "Smith: Residential")) in problems

    # Items: matched by name; the ones created here sit on the chosen accounts.
    items = {i.id: i for i in work.items()}
    for work_id, lk in links["item"].items():
        item = qbo.get("Item", lk.qbo_id)
        assert item["Name"] == items[work_id].name
        if lk.origin == "created":
            assert _ref(item, "IncomeAccountRef") == chosen["income_account"]
            assert _ref(item, "ExpenseAccountRef") in (None, chosen["expense_account"])

    # Invoices: from the start date, never drafts; number, customer, lines and total.
    invoices = {i.id: i for i in work.invoices()}
    for inv in invoices.values():
        if inv.status == "draft" or inv.issue_date < start:
            assert inv.id not in links["invoice"], f"{inv.number} must not sync"
            continue
        if inv.status == "void" and inv.id not in links["invoice"]:
            continue  # voided before it was ever sent: nothing to void in QuickBooks
        if not synced_or_one_problem("invoice", inv.id):
            continue
        q = qbo.get("Invoice", links["invoice"][inv.id].qbo_id)
        assert q["DocNumber"] == inv.number
        assert _ref(q, "CustomerRef") == links["client"][inv.client_id].qbo_id
        if inv.status == "void":
            assert _dec(q.get("TotalAmt", 0)) == 0
            continue
        lines = [ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
        assert len(lines) == len(inv.lines)
        assert sorted(_dec(ln["Amount"]) for ln in lines) == sorted(_dec(ln.amount) for ln in inv.lines)
        for ln in lines:
            assert _ref(ln["SalesItemLineDetail"], "ItemRef") in {lk.qbo_id for lk in links["item"].values()}
        assert _dec(q["TotalAmt"]) == _dec(inv.total)
    long_number = next(i for i in invoices.values() if len(i.number) > 21)
    if long_number.status != "draft" and long_number.issue_date >= start:
        assert ("invoice", long_number.id) in problems
        assert long_number.id not in links["invoice"]

    # Payments: linked to their invoice and deposited to the chosen account.
    for pay in work.payments():
        inv = invoices[pay.invoice_id]
        if inv.id not in links["invoice"] and ("invoice", inv.id) not in problems:
            assert pay.id not in links["payment"]
            continue
        if pay.status == "void":  # voided in Work before it was ever synced: a counted skip, never sent
            assert pay.id not in links["payment"] and ("payment", pay.id) not in problems
            continue
        if not synced_or_one_problem("payment", pay.id):
            continue
        q = qbo.get("Payment", links["payment"][pay.id].qbo_id)
        assert _dec(q["TotalAmt"]) == _dec(pay.amount)
        assert _ref(q, "DepositToAccountRef") == chosen["deposit_account"]
        linked = [t["TxnId"] for ln in q["Line"] for t in ln.get("LinkedTxn", []) if t.get("TxnType") == "Invoice"]
        assert linked == [links["invoice"][inv.id].qbo_id]

    # Vendors: every contractor with a contract; bills on the mapped accounts and the chosen A/P.
    contractors = {c.id: c for c in work.contractors()}
    for c in contractors.values():
        if c.has_contract:
            synced_or_one_problem("vendor", c.id)
    for cinv in work.contractor_invoices():
        if cinv.id not in links["bill"]:
            continue
        bill = qbo.get("Bill", links["bill"][cinv.id].qbo_id)
        assert _ref(bill, "VendorRef") == links["vendor"][cinv.contractor_id].qbo_id
        assert _ref(bill, "APAccountRef") in (None, chosen["ap_account"])
        assert _dec(bill["TotalAmt"]) == _dec(cinv.total)
        accounts = sorted(_ref(ln["AccountBasedExpenseLineDetail"], "AccountRef") for ln in bill["Line"])
        assert accounts == sorted(synced["concept_accounts"][ln.concept] for ln in cinv.lines)
    assert links["bill"], "approved contractor invoices become bills"

    # A second sync with no changes: writes nothing, at most 2 QuickBooks requests.
    before, audit_before = _snapshot(qbo), AuditEntry.select().where(AuditEntry.action.in_(WRITE_ACTIONS)).count()
    requests_before = practice.qbo.stats["requests"]
    code, again, err = _cli_json(capsys, "sync")
    assert code == synced["enable_code"], err
    assert again["run"]["state"] == "done"
    assert again["run"]["qbo_requests"] <= 2
    assert practice.qbo.stats["requests"] - requests_before <= 2
    assert _snapshot(qbo) == before
    assert AuditEntry.select().where(AuditEntry.action.in_(WRITE_ACTIONS)).count() == audit_before

    # The audit log exports what happened: one row per entry, creates with their after values.
    target = Path(practice.work_config.db_path).with_suffix(".audit.csv")
    code = cli.main(["audit", "export", "--csv", str(target)])
    assert code == 0 and f"Wrote {AuditEntry.select().count()} audit entries" in capsys.readouterr().out
    with open(target, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == AuditEntry.select().count()
    created = [r for r in rows if r["action"] == "create" and r["kind"] == "invoice"]
    assert len(created) == len(links["invoice"]) and all(json.loads(r["after"]) for r in created)
    assert {r["qbo_id"] for r in created} == {lk.qbo_id for lk in links["invoice"].values()}
