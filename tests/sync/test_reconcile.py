"""Issue 15 part 1: ``qbosync reconcile`` finds what a bookkeeper changed in QuickBooks, and its fix works.

A bookkeeper's edits go to the practice QuickBooks over its REST API (as any app would make them);
reconcile runs through the ``qbosync`` command; every fix is read back from QuickBooks over REST.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fixtures.qbo_sandbox import QboHttp, qbo_session

from qbosync_desktop.cli import main as cli
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem


def _cli(capsys: Any, *argv: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in argv else out


def _http(synced: Any) -> QboHttp:
    return qbo_session(synced.practice.qbo)


def _get(http: QboHttp, entity: str, qbo_id: str) -> dict[str, Any] | None:
    r = http.get(f"{http.company_url}/{entity.lower()}/{qbo_id}")
    if r.status_code != 200:
        return None
    return r.json()[entity]


def _post(http: QboHttp, entity: str, body: dict[str, Any], operation: str | None = None) -> dict[str, Any]:
    params = {"operation": operation} if operation else None
    r = http.post(f"{http.company_url}/{entity.lower()}", json=body, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _money(v: Any) -> Decimal:
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _reconcile(capsys: Any) -> tuple[int, dict[str, Any]]:
    code, data = _cli(capsys, "reconcile", "--json")
    assert data["schema"] == 1 and data["requests"] >= 1
    return code, data


def _rows(data: dict[str, Any], kind: str, work_id: str) -> list[dict[str, Any]]:
    return [d for d in data["differences"] if d["kind"] == kind and d["work_id"] == work_id]


def _unpaid_invoice(synced: Any) -> tuple[Any, Link]:
    paid = {p.invoice_id for p in synced.ws.work_client().payments()}
    for inv in synced.ws.work_client().invoices():
        link = Link.get_or_none(kind="invoice", work_id=inv.id)
        if link is not None and inv.status == "sent" and inv.id not in paid:
            return inv, link
    raise AssertionError("no unpaid linked invoice")


def test_in_step_after_the_first_sync(synced, capsys) -> None:
    code, data = _reconcile(capsys)
    assert data["differences"] == [] and data["in_step"] is True, data["differences"][:3]
    assert code == cli.EXIT_OK
    assert data["checked"]["invoice"] == Link.select().where(Link.kind == "invoice").count() > 0
    # batched: one Id IN (...) query per QuickBooks entity here (Customer, Item, Invoice, Payment, Vendor,
    # Bill, CreditMemo, RefundReceipt), never one request per record
    assert data["checked"]["credit_note"] >= 1 and data["checked"]["refund"] >= 1, data["checked"]
    assert sum(data["checked"].values()) > 50 and data["requests"] <= 8, (data["requests"], data["checked"])
    assert data["totals"]["invoices_per_month"] and not any(m["differs"] for m in data["totals"]["invoices_per_month"])
    # open balance per customer: the same on both sides while the books are in step
    balances = data["totals"]["open_balance_per_customer"]
    assert balances and [b for b in balances if b["differs"]] == [], balances
    code, text = _cli(capsys, "reconcile")
    assert "in step" in text and code == 0


def test_invoice_deleted_in_quickbooks_is_created_again(synced, capsys) -> None:
    inv, link = _unpaid_invoice(synced)
    http = _http(synced)
    q = _get(http, "Invoice", link.qbo_id)
    assert q is not None
    _post(http, "Invoice", {"Id": q["Id"], "SyncToken": q["SyncToken"]}, operation="delete")

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    (row,) = _rows(data, "invoice", inv.id)
    assert row["check"] == "missing" and "deleted in QuickBooks" in row["message"] and row["what_to_do"]
    assert "recreate" in row["actions"]

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["state"] == "done", out
    new = Link.get(kind="invoice", work_id=inv.id)
    assert new.qbo_id != link.qbo_id
    back = _get(http, "Invoice", new.qbo_id)
    assert back is not None and back["DocNumber"] == inv.number and _money(back["TotalAmt"]) == _money(inv.total)
    assert AuditEntry.select().where((AuditEntry.work_id == inv.id) & (AuditEntry.action == "create")
                                     & (AuditEntry.run_id == out["sync"]["run_id"])).count() == 1
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []
    # once only: the next sync writes nothing for it
    assert synced.engine.run().counts.get("invoices") in (None, {})


def test_invoice_amount_changed_in_quickbooks_gets_works_version_back(synced, capsys) -> None:
    inv, link = _unpaid_invoice(synced)
    http = _http(synced)
    q = _get(http, "Invoice", link.qbo_id)
    assert q is not None
    line = next(ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail")
    new_amount = _money(line["Amount"]) + Decimal("10.00")
    line["Amount"] = float(new_amount)
    line["SalesItemLineDetail"]["Qty"] = 1
    line["SalesItemLineDetail"]["UnitPrice"] = float(new_amount)
    lines = [ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    _post(http, "Invoice", {**{k: v for k, v in q.items() if k not in ("TotalAmt", "Balance")}, "Line": lines})
    changed = _get(http, "Invoice", link.qbo_id)
    assert changed is not None and _money(changed["TotalAmt"]) == _money(inv.total) + Decimal("10.00")

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    (row,) = [r for r in _rows(data, "invoice", inv.id) if r["check"] == "total"]
    assert row["work_value"] == str(_money(inv.total)) and row["qbo_value"] == str(_money(changed["TotalAmt"]))
    assert set(row["actions"]) >= {"recreate", "accept", "ignore"}
    code, text = _cli(capsys, "reconcile")
    assert code == cli.EXIT_PROBLEMS and f"[{row['id']}]" in text and "What to do:" in text

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("invoices") == {"updated": 1}, out
    back = _get(http, "Invoice", link.qbo_id)
    assert back is not None and _money(back["TotalAmt"]) == _money(inv.total)
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_payment_deleted_in_quickbooks_is_recorded_again(synced, capsys) -> None:
    pay = next(p for p in synced.ws.work_client().payments() if Link.get_or_none(kind="payment", work_id=p.id))
    link = Link.get(kind="payment", work_id=pay.id)
    inv_link = Link.get(kind="invoice", work_id=pay.invoice_id)
    http = _http(synced)
    q = _get(http, "Payment", link.qbo_id)
    assert q is not None
    _post(http, "Payment", {"Id": q["Id"], "SyncToken": q["SyncToken"]}, operation="delete")

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    (row,) = _rows(data, "payment", pay.id)
    assert row["check"] == "missing" and "deleted in QuickBooks" in row["message"]
    assert not _rows(data, "invoice", pay.invoice_id)  # the payment row explains the invoice's balance
    (customer,) = [b for b in data["totals"]["open_balance_per_customer"] if b["work_id"] == pay.client_id]
    assert customer["differs"] and _money(customer["qbo_open"]) - _money(customer["work_open"]) == _money(pay.amount)

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("payments") == {"created": 1}, out
    new = Link.get(kind="payment", work_id=pay.id)
    back = _get(http, "Payment", new.qbo_id)
    assert back is not None and _money(back["TotalAmt"]) == _money(pay.amount)
    applied = [lt["TxnId"] for ln in back["Line"] for lt in ln.get("LinkedTxn", []) if lt["TxnType"] == "Invoice"]
    assert applied == [inv_link.qbo_id]
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_customer_made_inactive_in_quickbooks(synced, capsys) -> None:
    client = next(c for c in synced.ws.work_client().clients()
                  if c.active and Link.get_or_none(kind="client", work_id=c.id))
    link = Link.get(kind="client", work_id=client.id)
    http = _http(synced)
    q = _get(http, "Customer", link.qbo_id)
    assert q is not None and q["Active"] is True
    _post(http, "Customer", {"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True, "Active": False})

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    (row,) = _rows(data, "client", client.id)
    assert row["check"] == "inactive" and "inactive in QuickBooks" in row["message"]

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["state"] == "done", out
    back = _get(http, "Customer", link.qbo_id)
    work_now = synced.ws.work_client().get_client(client.id)
    assert back is not None
    # made active again in QuickBooks; Work's client stays active (read back from both)
    assert back["Active"] is True and work_now.active is True, (back["Active"], work_now.active, out)
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_bill_edited_in_quickbooks_keep_quickbooks_value(synced, capsys, tmp_path) -> None:
    link = Link.select().where(Link.kind == "bill").first()
    assert link is not None
    http = _http(synced)
    q = _get(http, "Bill", link.qbo_id)
    assert q is not None
    line = q["Line"][0]
    line["Amount"] = float(_money(line["Amount"]) + Decimal("5.00"))
    _post(http, "Bill", {k: v for k, v in q.items() if k not in ("TotalAmt", "Balance")})
    edited = _get(http, "Bill", link.qbo_id)
    assert edited is not None

    csv_file = tmp_path / "diff.csv"
    code, data = _cli(capsys, "reconcile", "--json", "--csv", str(csv_file))
    assert code == cli.EXIT_PROBLEMS
    (row,) = [r for r in _rows(data, "bill", link.work_id) if r["check"] == "total"]
    assert row["qbo_value"] == str(_money(edited["TotalAmt"]))
    assert row["id"] in csv_file.read_text(encoding="utf-8-sig")

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "accept")
    assert code == 0 and "Kept QuickBooks' value" in out
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []
    synced.engine.run()
    back = _get(http, "Bill", link.qbo_id)
    assert back is not None and _money(back["TotalAmt"]) == _money(edited["TotalAmt"])  # not overwritten
    assert AuditEntry.select().where((AuditEntry.action == "reconcile_accept")
                                     & (AuditEntry.work_id == link.work_id)).count() == 1


def test_ignore_needs_a_reason_and_is_audited(synced, capsys) -> None:
    inv, link = _unpaid_invoice(synced)
    http = _http(synced)
    q = _get(http, "Invoice", link.qbo_id)
    assert q is not None
    _post(http, "Invoice", {"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True, "TxnDate": "2020-01-02"})
    code, data = _reconcile(capsys)
    (row,) = [r for r in _rows(data, "invoice", inv.id) if r["check"] == "date"]
    code, _out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "ignore")
    assert code != 0  # no reason given
    code, _out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "ignore", "--reason", "back-dated on purpose")
    assert code == 0
    code, data = _reconcile(capsys)
    assert code == 0 and data["ignored"] == 1
    entry = AuditEntry.get((AuditEntry.action == "reconcile_ignore") & (AuditEntry.work_id == inv.id))
    assert entry.after["reason"] == "back-dated on purpose"


def test_scheduled_check_is_weekly_and_keeps_one_problem_open(synced, capsys) -> None:
    import datetime as dt

    from qbosync_desktop.sync import reconcile

    ws = synced.ws
    assert reconcile.every_days() == 7 and reconcile.is_due()
    first = reconcile.check_if_due(ws)
    assert first is not None and first.in_step
    assert reconcile.check_if_due(ws) is None  # not due again until a week has passed

    inv, link = _unpaid_invoice(synced)
    http = _http(synced)
    q = _get(http, "Invoice", link.qbo_id)
    assert q is not None
    _post(http, "Invoice", {"Id": q["Id"], "SyncToken": q["SyncToken"]}, operation="delete")
    later = dt.datetime.utcnow() + dt.timedelta(days=8)
    report = reconcile.check_if_due(ws, now=later)
    assert report is not None and [d.work_id for d in report.differences] == [inv.id]
    (p,) = Problem.select().where((Problem.kind == "reconcile") & (Problem.state == "open"))
    assert "1 difference" in p.message and p.hint

    assert _cli(capsys, "reconcile", "--every-days", "400")[0] == cli.EXIT_USAGE  # 0 (off) to 365 days
    assert reconcile.every_days() == 7
    assert _cli(capsys, "reconcile", "--every-days", "0")[0] == 0
    assert not reconcile.is_due(later + dt.timedelta(days=30))
    code, _out = _cli(capsys, "reconcile", "--fix", report.differences[0].id, "--action", "recreate")
    assert code == 0
    code, _data = _reconcile(capsys)  # a manual check records its result too: in step closes the problem
    assert code == 0
    assert not Problem.select().where((Problem.kind == "reconcile") & (Problem.state == "open")).exists()


def test_invoice_deleted_and_entered_again_by_hand_is_relinked(synced, capsys) -> None:
    inv, link = _unpaid_invoice(synced)
    http = _http(synced)
    q = _get(http, "Invoice", link.qbo_id)
    assert q is not None
    _post(http, "Invoice", {"Id": q["Id"], "SyncToken": q["SyncToken"]}, operation="delete")
    again = {k: q[k] for k in ("CustomerRef", "DocNumber", "TxnDate", "Line") if k in q}
    again["Line"] = [ln for ln in again["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    new_id = _post(http, "Invoice", again)["Invoice"]["Id"]

    code, data = _reconcile(capsys)
    (row,) = _rows(data, "invoice", inv.id)
    assert row["check"] == "missing" and row["candidate_qbo_id"] == str(new_id) and "relink" in row["actions"]
    code, _out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "relink")
    relinked = Link.get(kind="invoice", work_id=inv.id)
    assert code == 0 and relinked.qbo_id == str(new_id) and relinked.qbo_sync_token is not None
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []
    synced.engine.run()
    back = _get(http, "Invoice", str(new_id))  # the hand-entered invoice is the one kept, not a duplicate
    assert back is not None and _money(back["TotalAmt"]) == _money(inv.total)
    numbers = [r for r in http.post(f"{http.company_url}/query", data=f"select * from Invoice where DocNumber = '{inv.number}'",
                                    headers={"Content-Type": "application/text"}).json()["QueryResponse"].get("Invoice", [])]
    assert [r["Id"] for r in numbers] == [str(new_id)]


def _query(http: QboHttp, sql: str, entity: str) -> list[dict[str, Any]]:
    r = http.post(f"{http.company_url}/query", data=sql, headers={"Content-Type": "application/text"})
    assert r.status_code == 200, r.text
    return r.json()["QueryResponse"].get(entity, [])


def test_credit_memo_deleted_in_quickbooks_is_created_and_applied_again(synced, capsys) -> None:
    cn = next(c for c in synced.ws.work_client().credit_notes()
              if c.status == "active" and c.invoice_id and Link.get_or_none(kind="credit_application", work_id=c.id))
    link = Link.get(kind="credit_note", work_id=cn.id)
    inv_link = Link.get(kind="invoice", work_id=cn.invoice_id)
    http = _http(synced)
    inv_before = _get(http, "Invoice", inv_link.qbo_id)
    q = _get(http, "CreditMemo", link.qbo_id)
    assert q is not None and inv_before is not None
    _post(http, "CreditMemo", {"Id": q["Id"], "SyncToken": q["SyncToken"]}, operation="delete")
    assert _get(http, "CreditMemo", link.qbo_id) is None

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    (row,) = _rows(data, "credit_note", cn.id)
    assert row["check"] == "missing" and "deleted in QuickBooks" in row["message"] and row["what_to_do"]
    assert "recreate" in row["actions"] and row["label"] == f"Credit note {cn.number}"
    # the credit note's row explains its application and the invoice's balance: no extra rows for them
    assert not _rows(data, "credit_application", cn.id) and not _rows(data, "invoice", cn.invoice_id), data["differences"]

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("credit_notes") == {"created": 1}, out
    new = Link.get(kind="credit_note", work_id=cn.id)
    assert new.qbo_id != link.qbo_id
    back = _get(http, "CreditMemo", new.qbo_id)
    assert back is not None and back["DocNumber"] == cn.number and _money(back["TotalAmt"]) == _money(cn.amount)
    # applied to its invoice again: the application payment links the new credit memo and the invoice
    app = _get(http, "Payment", Link.get(kind="credit_application", work_id=cn.id).qbo_id)
    assert app is not None
    linked = {(lt["TxnType"], lt["TxnId"]): _money(ln["Amount"]) for ln in app["Line"] for lt in ln.get("LinkedTxn", [])}
    assert linked == {("Invoice", inv_link.qbo_id): _money(cn.amount), ("CreditMemo", new.qbo_id): _money(cn.amount)}
    inv_after = _get(http, "Invoice", inv_link.qbo_id)
    assert inv_after is not None and _money(inv_after["Balance"]) == _money(inv_before["Balance"])
    assert not Problem.select().where((Problem.state == "open")
                                      & Problem.kind.in_(["credit_note", "credit_application"])).exists()
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_refund_receipt_amount_changed_in_quickbooks_gets_works_amount_back(synced, capsys) -> None:
    ref = next(r for r in synced.ws.work_client().refunds()
               if r.status == "active" and Link.get_or_none(kind="refund", work_id=r.id))
    link = Link.get(kind="refund", work_id=ref.id)
    http = _http(synced)
    q = _get(http, "RefundReceipt", link.qbo_id)
    assert q is not None
    lines = [ln for ln in q["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    wrong = _money(ref.amount) + Decimal("7.50")
    lines[0]["Amount"] = float(wrong)
    lines[0]["SalesItemLineDetail"].pop("UnitPrice", None)
    lines[0]["SalesItemLineDetail"].pop("Qty", None)
    _post(http, "RefundReceipt", {**{k: v for k, v in q.items() if k not in ("TotalAmt", "Balance")}, "Line": lines})
    changed = _get(http, "RefundReceipt", link.qbo_id)
    assert changed is not None and _money(changed["TotalAmt"]) == wrong

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    (row,) = _rows(data, "refund", ref.id)
    assert row["check"] == "total" and row["work_value"] == str(_money(ref.amount)) and row["qbo_value"] == str(wrong)
    assert set(row["actions"]) >= {"recreate", "accept", "ignore"} and row["what_to_do"]

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("refunds") == {"updated": 1}, out
    back = _get(http, "RefundReceipt", link.qbo_id)
    assert back is not None and _money(back["TotalAmt"]) == _money(ref.amount)
    assert len(_query(http, "select * from RefundReceipt", "RefundReceipt")) == Link.select().where(Link.kind == "refund").count()
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


# -- credit notes: how the credit is applied, and each check of the credit memo one by one -----------------
def _applied_credit(synced: Any) -> tuple[Any, Link, Link, Link]:
    """A credit note Work applied to an invoice, with its credit memo and the zero payment applying it."""
    cn = next(c for c in synced.ws.work_client().credit_notes()
              if c.status == "active" and c.invoice_id and Link.get_or_none(kind="credit_application", work_id=c.id))
    return (cn, Link.get(kind="credit_note", work_id=cn.id), Link.get(kind="credit_application", work_id=cn.id),
            Link.get(kind="invoice", work_id=cn.invoice_id))


def _credit_links(app: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    return {(lt["TxnType"], lt["TxnId"]): _money(ln["Amount"]) for ln in app["Line"] for lt in ln.get("LinkedTxn", [])}


def _applied_again(synced: Any, capsys: Any, row: dict[str, Any], counts: dict[str, int],
                   inv_before: dict[str, Any]) -> Link:
    """"Send Work's version again" on a credit application row: the sync writes it (``counts``), the
    zero payment applies the whole credit from its credit memo to its invoice again, the invoice's
    balance is what it was, and the books are in step. Returns the application's link."""
    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("credit_applications") == counts, out
    cn, cn_link, app_link, inv_link = _applied_credit(synced)
    assert cn.id == row["work_id"]
    http = _http(synced)
    back = _get(http, "Payment", app_link.qbo_id)
    assert back is not None and _credit_links(back) == {("Invoice", inv_link.qbo_id): _money(cn.amount),
                                                        ("CreditMemo", cn_link.qbo_id): _money(cn.amount)}
    inv_after = _get(http, "Invoice", inv_link.qbo_id)
    assert inv_after is not None and _money(inv_after["Balance"]) == _money(inv_before["Balance"])
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []
    return app_link


def _credit_before(synced: Any) -> tuple[tuple[Any, Link, Link, Link], QboHttp, dict[str, Any], dict[str, Any]]:
    """The applied credit, and its invoice and zero payment as QuickBooks holds them before the edit."""
    links = _applied_credit(synced)
    http = _http(synced)
    inv_before, app = _get(http, "Invoice", links[3].qbo_id), _get(http, "Payment", links[2].qbo_id)
    assert inv_before is not None and app is not None
    return links, http, inv_before, app


def _only_row(data: dict[str, Any]) -> dict[str, Any]:
    """Exactly one difference in the whole report, in plain words with what to do."""
    assert len(data["differences"]) == 1, [(d["id"], d["message"]) for d in data["differences"]]
    row = data["differences"][0]
    assert row["message"] and row["what_to_do"] and row["actions"], row
    return row


def test_credit_application_changed_in_quickbooks_is_applied_again(synced, capsys) -> None:
    (cn, cn_link, app_link, inv_link), http, inv_before, app = _credit_before(synced)
    # the bookkeeper applies only part of the credit to the invoice
    part = (_money(cn.amount) / 2).quantize(Decimal("0.01"))
    for ln in app["Line"]:
        ln["Amount"] = float(part)
    _post(http, "Payment", app)
    inv_changed = _get(http, "Invoice", inv_link.qbo_id)
    assert inv_changed is not None and _money(inv_changed["Balance"]) == _money(inv_before["Balance"]) + _money(cn.amount) - part

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    row = _only_row(data)  # the invoice's balance is explained by this row, not listed again
    assert (row["kind"], row["work_id"], row["check"]) == ("credit_application", cn.id, "credit_applied")
    assert f"{part} of it to its invoice" in row["message"] and "recreate" in row["actions"]

    assert _applied_again(synced, capsys, row, {"updated": 1}, inv_before).qbo_id == app_link.qbo_id


def test_credit_application_removed_in_quickbooks_is_applied_again(synced, capsys) -> None:
    (cn, cn_link, app_link, inv_link), http, inv_before, app = _credit_before(synced)
    _post(http, "Payment", {"Id": app["Id"], "SyncToken": app["SyncToken"]}, operation="delete")
    memo = _get(http, "CreditMemo", cn_link.qbo_id)
    assert memo is not None and _money(memo["Balance"]) == _money(cn.amount)  # the credit is unused now

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    row = _only_row(data)
    assert (row["kind"], row["work_id"], row["check"]) == ("credit_application", cn.id, "missing")
    assert "deleted in QuickBooks" in row["message"] and row["label"] == f"Credit note {cn.number} applied to its invoice"

    assert _applied_again(synced, capsys, row, {"created": 1}, inv_before).qbo_id != app_link.qbo_id


def test_credit_memo_tax_changed_in_quickbooks_is_one_row_and_gets_works_tax_back(synced, capsys) -> None:
    cn = next(c for c in synced.ws.work_client().credit_notes()
              if c.status == "active" and c.tax is not None and c.tax.amount and Link.get_or_none(kind="credit_note", work_id=c.id))
    link = Link.get(kind="credit_note", work_id=cn.id)
    http = _http(synced)
    q = _get(http, "CreditMemo", link.qbo_id)
    assert q is not None
    more = _money(cn.tax.amount) + Decimal("1.25")
    body = {k: v for k, v in q.items() if k not in ("TotalAmt", "Balance", "RemainingCredit", "LinkedTxn")}
    body["TxnTaxDetail"] = {"TxnTaxCodeRef": q["TxnTaxDetail"]["TxnTaxCodeRef"], "TotalTax": float(more)}
    _post(http, "CreditMemo", body)
    changed = _get(http, "CreditMemo", link.qbo_id)
    assert changed is not None and _money(changed["TxnTaxDetail"]["TotalTax"]) == more
    assert _money(changed["TotalAmt"]) == _money(cn.amount) + Decimal("1.25")

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    # one edit, one row: the total differs by exactly the tax, so the tax row says both
    row = _only_row(data)
    assert (row["kind"], row["work_id"], row["check"]) == ("credit_note", cn.id, "tax")
    assert row["work_value"] == str(_money(cn.tax.amount)) and row["qbo_value"] == str(more)
    assert str(_money(changed["TotalAmt"])) in row["message"]

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("credit_notes") == {"updated": 1}, out
    back = _get(http, "CreditMemo", link.qbo_id)
    assert back is not None and _money(back["TxnTaxDetail"]["TotalTax"]) == _money(cn.tax.amount)
    assert _money(back["TotalAmt"]) == _money(cn.amount)
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def _unapplied_credit(synced: Any) -> tuple[Any, Link]:
    cn = next(c for c in synced.ws.work_client().credit_notes()
              if c.status == "active" and not c.invoice_id and Link.get_or_none(kind="credit_note", work_id=c.id))
    return cn, Link.get(kind="credit_note", work_id=cn.id)


def _credit_memo_edited(synced: Any, capsys: Any, check: str, **fields: Any) -> tuple[Any, Link, QboHttp, dict[str, Any]]:
    """A bookkeeper's sparse edit of a synced credit memo (not applied to an invoice): reconcile lists
    exactly one row for it, of ``check``."""
    cn, link = _unapplied_credit(synced)
    http = _http(synced)
    q = _get(http, "CreditMemo", link.qbo_id)
    assert q is not None
    _post(http, "CreditMemo", {"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True, **fields})
    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    row = _only_row(data)
    assert (row["kind"], row["work_id"], row["check"]) == ("credit_note", cn.id, check)
    return cn, link, http, row


def _fixed(capsys: Any, row: dict[str, Any], action: str, counts: dict[str, int] | None = None, *more: str) -> None:
    """Apply ``action`` to the row (a "recreate" syncs: ``counts`` are the credit notes phase's), then the
    books are in step."""
    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", action, "--json", *more)
    assert code == 0, out
    if counts is not None:
        assert out["sync"]["counts"].get("credit_notes") == counts, out
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_credit_memo_customer_changed_in_quickbooks_gets_works_customer_back(synced, capsys) -> None:
    cn, _link = _unapplied_credit(synced)
    client_link = Link.get(kind="client", work_id=cn.client_id)
    other = Link.select().where((Link.kind == "client") & (Link.qbo_id != client_link.qbo_id)).order_by(Link.id).first()
    assert other is not None
    cn, link, http, row = _credit_memo_edited(synced, capsys, "customer", CustomerRef={"value": other.qbo_id})
    assert "another customer" in row["message"]
    assert (row["work_value"], row["qbo_value"]) == (client_link.qbo_id, other.qbo_id)
    _fixed(capsys, row, "recreate", {"updated": 1})
    back = _get(http, "CreditMemo", link.qbo_id)
    assert back is not None and back["CustomerRef"]["value"] == client_link.qbo_id


def test_credit_memo_date_changed_in_quickbooks_keep_quickbooks_date(synced, capsys) -> None:
    cn, link, http, row = _credit_memo_edited(synced, capsys, "date", TxnDate="2026-01-02")
    assert (row["work_value"], row["qbo_value"]) == (str(cn.date)[:10], "2026-01-02") and "accept" in row["actions"]
    _fixed(capsys, row, "accept")
    synced.engine.run()
    back = _get(http, "CreditMemo", link.qbo_id)
    assert back is not None and back["TxnDate"] == "2026-01-02"  # kept: the sync does not overwrite it


def test_credit_memo_number_changed_in_quickbooks_gets_works_number_back(synced, capsys) -> None:
    cn, link, http, row = _credit_memo_edited(synced, capsys, "number", DocNumber="CM-BY-HAND")
    assert (row["work_value"], row["qbo_value"]) == (cn.number, "CM-BY-HAND") and "CM-BY-HAND" in row["message"]
    _fixed(capsys, row, "recreate", {"updated": 1})
    back = _get(http, "CreditMemo", link.qbo_id)
    assert back is not None and back["DocNumber"] == cn.number


# -- "is it active" for every name list; how payments are applied --------------------------------------------
def test_item_vendor_and_sub_customer_made_inactive_in_quickbooks_are_made_active_again(synced, capsys) -> None:
    http = _http(synced)
    entity = {"item": "Item", "vendor": "Vendor", "site": "Customer"}
    picked: dict[str, Link] = {}
    for kind in ("item", "vendor", "site"):
        link = next(lk for lk in Link.select().where(Link.kind == kind).order_by(Link.id)
                    if (_get(http, entity[kind], lk.qbo_id) or {}).get("Active", True))
        q = _get(http, entity[kind], link.qbo_id)
        assert q is not None
        _post(http, entity[kind], {"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True, "Active": False})
        picked[kind] = link

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    rows = {d["kind"]: d for d in data["differences"]}
    assert len(data["differences"]) == 3 and set(rows) == set(picked), [d["id"] for d in data["differences"]]
    for kind, row in rows.items():
        assert (row["work_id"], row["check"]) == (picked[kind].work_id, "inactive")
        assert "inactive in QuickBooks" in row["message"] and row["what_to_do"] and "recreate" in row["actions"]

    for kind in ("item", "vendor"):
        code, _out = _cli(capsys, "reconcile", "--fix", rows[kind]["id"], "--action", "recreate", "--no-sync")
        assert code == 0
    code, out = _cli(capsys, "reconcile", "--fix", rows["site"]["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["state"] == "done", out
    for kind, link in picked.items():
        back = _get(http, entity[kind], link.qbo_id)
        assert back is not None and back["Active"] is True, (kind, out["sync"]["counts"])
    # nothing is left waiting for a write no phase makes
    assert not Problem.select().where((Problem.state == "open") & (Problem.title == "Differs from QuickBooks")).exists()
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_payment_moved_to_another_invoice_in_quickbooks_is_one_row_and_moved_back(synced, capsys) -> None:
    """A bookkeeper applies a synced payment to another open invoice of the same customer."""
    http = _http(synced)
    work = synced.ws.work_client()
    paid = {p.invoice_id for p in work.payments()}
    invoices = {i.id: i for i in work.invoices()}
    found = None
    for pay in work.payments():
        link = Link.get_or_none(kind="payment", work_id=pay.id)
        if link is None:
            continue
        for other in invoices.values():
            other_link = Link.get_or_none(kind="invoice", work_id=other.id)
            if (other_link is not None and other.client_id == pay.client_id and other.id != pay.invoice_id
                    and other.id not in paid and other.status == "sent" and _money(other.total) >= _money(pay.amount)):
                found = (pay, link, Link.get(kind="invoice", work_id=pay.invoice_id), other, other_link)
                break
        if found:
            break
    assert found is not None, "the practice data has a client with a paid and an open invoice"
    pay, link, inv_link, other, other_link = found
    balances = {i: _money((_get(http, "Invoice", i) or {})["Balance"]) for i in (inv_link.qbo_id, other_link.qbo_id)}
    q = _get(http, "Payment", link.qbo_id)
    assert q is not None
    for ln in q["Line"]:
        for lt in ln.get("LinkedTxn", []):
            if lt["TxnType"] == "Invoice" and lt["TxnId"] == inv_link.qbo_id:
                lt["TxnId"] = other_link.qbo_id
    _post(http, "Payment", q)

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    row = _only_row(data)  # neither invoice's balance is listed again: this row explains both
    assert (row["kind"], row["work_id"], row["check"]) == ("payment", pay.id, "payment_applied")
    assert other_link.qbo_id in row["message"] and "recreate" in row["actions"]

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("payments") == {"updated": 1}, out
    back = _get(http, "Payment", link.qbo_id)
    assert back is not None
    applied = [(lt["TxnId"], _money(ln["Amount"])) for ln in back["Line"] for lt in ln.get("LinkedTxn", [])
               if lt["TxnType"] == "Invoice"]
    assert applied == [(inv_link.qbo_id, _money(pay.amount))]
    assert {i: _money((_get(http, "Invoice", i) or {})["Balance"]) for i in balances} == balances
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_ignore_reason_is_in_the_audit_export(synced, capsys, tmp_path) -> None:
    import csv

    cn, link, _http_, row = _credit_memo_edited(synced, capsys, "date", TxnDate="2026-02-03")
    reason = "Dated by the customer's request, ticket 4411"
    _fixed(capsys, row, "ignore", None, "--reason", reason)
    out = tmp_path / "audit.csv"
    assert _cli(capsys, "audit", "export", "--csv", str(out))[0] == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        entries = [r for r in csv.DictReader(fh) if r["action"] == "reconcile_ignore"]
    assert len(entries) == 1 and entries[0]["work_id"] == cn.id and entries[0]["qbo_id"] == link.qbo_id
    assert json.loads(entries[0]["after"])["reason"] == reason and json.loads(entries[0]["before"])["check"] == "date"
    assert _reconcile(capsys)[1]["ignored"] == 1


def _documented_json(section: str) -> str:
    """The ``--json`` paragraph of one command's section in docs/cli.md."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    body = text.split(f"### `{section}", 1)[1].split("\n### ", 1)[0]
    return body.split("`--json` (stable;", 1)[1].split("\n\n", 1)[0]


def _keys(value: Any) -> set[str]:
    """Every key of a JSON value, at any depth, except inside free-form maps (``checked``: kind → n)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            if k != "checked":
                out |= _keys(v)
    elif isinstance(value, list):
        for v in value:
            out |= _keys(v)
    return out


def test_reconcile_json_has_exactly_the_documented_fields(synced, capsys) -> None:
    import re

    _credit_memo_edited(synced, capsys, "number", DocNumber="CM-DOC-KEYS")
    _code, data = _reconcile(capsys)
    assert data["differences"] and data["totals"]["invoices_per_month"] and data["totals"]["open_balance_per_customer"]
    doc = _documented_json("reconcile [--json]")
    documented = set(re.findall(r'"([a-z_]+)"', doc))
    assert _keys(data) == documented, (sorted(_keys(data) - documented), sorted(documented - _keys(data)))
    kinds = re.search(r"`kind` is a link kind \(([^)]*)\)", doc)
    checks = re.search(r"`check` is one of ([^;]*);", doc)
    assert kinds is not None and checks is not None
    from qbosync_desktop.sync import reconcile

    assert set(re.findall(r"[a-z_]+", kinds.group(1))) == set(reconcile.ENTITIES) == set(data["checked"])
    assert {d["check"] for d in data["differences"]} <= set(re.findall(r"[a-z_]+", checks.group(1)))


def test_a_vendor_found_in_quickbooks_and_made_inactive_there_is_not_edited(synced, capsys) -> None:
    """Vendors are add-only (the seed promises existing vendors are never edited): a vendor the sync
    found in QuickBooks and linked, made inactive there, is offered "keep" or "ignore", not a re-send
    that no sync would make (the vendors flow leaves a linked vendor alone)."""
    vendor = synced.practice.qbo.user.create("Vendor", {"DisplayName": "Tiling By Rita",
                                                        "PrimaryEmailAddr": {"Address": "rita@tiling.example"}})
    c = synced.practice.work.user.add_contractor("R. Ortega", email="rita@tiling.example", contracts=[
        {"title": "Tiling", "start_date": "2026-01-01", "status": "active"}])
    assert synced.engine.run().ok
    link = Link.get(kind="vendor", work_id=c["id"])
    assert (link.qbo_id, link.origin) == (str(vendor["Id"]), "linked_by_name")
    http = _http(synced)
    q = _get(http, "Vendor", link.qbo_id)
    assert q is not None
    _post(http, "Vendor", {"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True, "Active": False})

    code, data = _reconcile(capsys)
    row = _only_row(data)
    assert (row["kind"], row["work_id"], row["check"]) == ("vendor", c["id"], "inactive")
    assert row["actions"] == ["accept", "ignore"] and "in QuickBooks" in row["what_to_do"], row
    assert _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate")[0] == 4  # not offered
    code, _out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "accept")
    assert code == 0 and _reconcile(capsys)[1]["differences"] == []
    synced.engine.run()
    back = _get(http, "Vendor", link.qbo_id)
    assert back is not None and back["Active"] is False and back["SyncToken"] == str(int(q["SyncToken"]) + 1)


def test_invoice_tax_customer_and_number_changed_in_quickbooks_are_one_row_each(synced, capsys) -> None:
    """Three invoices, three edits: one row each, of its own check; "Send Work's version again" on all
    three (one sync) puts Work's tax, customer and number back (read back over REST)."""
    http = _http(synced)
    paid = {p.invoice_id for p in synced.ws.work_client().payments()}
    picks = [inv for inv in synced.ws.work_client().invoices()
             if inv.status == "sent" and inv.id not in paid and Link.get_or_none(kind="invoice", work_id=inv.id)]
    taxed = next(i for i in picks if i.tax is not None and i.tax.amount)
    customer, number = [i for i in picks if i.id != taxed.id][:2]
    links = {i.id: Link.get(kind="invoice", work_id=i.id) for i in (taxed, customer, number)}
    q = _get(http, "Invoice", links[taxed.id].qbo_id)
    assert q is not None
    more = _money(taxed.tax.amount) + Decimal("2.00")
    body = {k: v for k, v in q.items() if k not in ("TotalAmt", "Balance", "LinkedTxn")}
    body["TxnTaxDetail"] = {"TxnTaxCodeRef": q["TxnTaxDetail"]["TxnTaxCodeRef"], "TotalTax": float(more)}
    _post(http, "Invoice", body)
    own = Link.get(kind="client", work_id=customer.client_id)
    other = Link.select().where((Link.kind == "client") & (Link.qbo_id != own.qbo_id)).order_by(Link.id).first()
    assert other is not None
    for inv, change in ((customer, {"CustomerRef": {"value": other.qbo_id}}), (number, {"DocNumber": "BY-HAND-7"})):
        q = _get(http, "Invoice", links[inv.id].qbo_id)
        assert q is not None
        _post(http, "Invoice", {"Id": q["Id"], "SyncToken": q["SyncToken"], "sparse": True, **change})

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    rows = {(d["kind"], d["work_id"]): d for d in data["differences"]}
    assert len(data["differences"]) == 3 and {k: r["check"] for k, r in rows.items()} == {
        ("invoice", taxed.id): "tax", ("invoice", customer.id): "customer", ("invoice", number.id): "number"}, \
        [(d["id"], d["message"]) for d in data["differences"]]
    assert all(r["what_to_do"] and "recreate" in r["actions"] for r in rows.values())
    assert rows[("invoice", taxed.id)]["qbo_value"] == str(more)
    ids = [r["id"] for r in rows.values()]
    for row_id in ids[:-1]:
        assert _cli(capsys, "reconcile", "--fix", row_id, "--action", "recreate", "--no-sync")[0] == 0
    code, out = _cli(capsys, "reconcile", "--fix", ids[-1], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("invoices") == {"updated": 3}, out
    back = {i.id: _get(http, "Invoice", links[i.id].qbo_id) or {} for i in (taxed, customer, number)}
    assert _money(back[taxed.id]["TxnTaxDetail"]["TotalTax"]) == _money(taxed.tax.amount)
    assert _money(back[taxed.id]["TotalAmt"]) == _money(taxed.total)
    assert back[customer.id]["CustomerRef"]["value"] == own.qbo_id
    assert back[number.id]["DocNumber"] == number.number
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_invoice_voided_in_quickbooks_is_one_row_and_sent_again(synced, capsys) -> None:
    """QuickBooks' void zeroes an invoice's lines, tax and total: one edit, one row (not a total row and a
    tax row); "Send Work's version again" restores Work's lines and tax (read back over REST)."""
    work = synced.ws.work_client()
    paid = {p.invoice_id for p in work.payments()} | {c.invoice_id for c in work.credit_notes()}
    inv = next(i for i in work.invoices()
               if i.status == "sent" and i.id not in paid and i.tax is not None and i.tax.amount
               and Link.get_or_none(kind="invoice", work_id=i.id))
    link = Link.get(kind="invoice", work_id=inv.id)
    http = _http(synced)
    voided = _post(http, "Invoice", {"Id": link.qbo_id, "SyncToken": (_get(http, "Invoice", link.qbo_id) or {})["SyncToken"]},
                   operation="void")["Invoice"]
    assert _money(voided["TotalAmt"]) == 0 and _money(voided["TxnTaxDetail"]["TotalTax"]) == 0

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    row = _only_row(data)
    assert (row["kind"], row["work_id"], row["check"]) == ("invoice", inv.id, "total")
    assert "voided in QuickBooks" in row["message"] and row["qbo_value"] == "0.00"

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("invoices") == {"updated": 1}, out
    back = _get(http, "Invoice", link.qbo_id)
    assert back is not None and _money(back["TotalAmt"]) == _money(inv.total)
    assert _money(back["TxnTaxDetail"]["TotalTax"]) == _money(inv.tax.amount)
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_payment_amount_changed_in_quickbooks_is_one_row_and_gets_works_amount_back(synced, capsys) -> None:
    """A bookkeeper lowers a synced payment (and so what it applies to its invoice): one row, the amount;
    "Send Work's version again" puts Work's amount back on the same invoice."""
    pay = next(p for p in synced.ws.work_client().payments() if Link.get_or_none(kind="payment", work_id=p.id))
    link, inv_link = Link.get(kind="payment", work_id=pay.id), Link.get(kind="invoice", work_id=pay.invoice_id)
    http = _http(synced)
    balance = _money((_get(http, "Invoice", inv_link.qbo_id) or {})["Balance"])
    q = _get(http, "Payment", link.qbo_id)
    assert q is not None
    half = (_money(pay.amount) / 2).quantize(Decimal("0.01"))
    q["TotalAmt"] = float(half)
    for ln in q["Line"]:
        ln["Amount"] = float(half)
    _post(http, "Payment", q)

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    row = _only_row(data)  # the amount explains what it applies, and the invoice's balance
    assert (row["kind"], row["work_id"], row["check"]) == ("payment", pay.id, "total")
    assert (row["work_value"], row["qbo_value"]) == (str(_money(pay.amount)), str(half))

    code, out = _cli(capsys, "reconcile", "--fix", row["id"], "--action", "recreate", "--json")
    assert code == 0 and out["sync"]["counts"].get("payments") == {"updated": 1}, out
    back = _get(http, "Payment", link.qbo_id)
    assert back is not None and _money(back["TotalAmt"]) == _money(pay.amount)
    assert [(lt["TxnId"], _money(ln["Amount"])) for ln in back["Line"] for lt in ln.get("LinkedTxn", [])] == [
        (inv_link.qbo_id, _money(pay.amount))]
    assert _money((_get(http, "Invoice", inv_link.qbo_id) or {})["Balance"]) == balance
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []


def test_paid_and_credited_invoices_deleted_in_quickbooks_come_back_with_their_payment_and_credit(synced, capsys) -> None:
    """Deleting an invoice in QuickBooks lets go of the payments and credits applied to it: one row per
    invoice (its payments' rows would only repeat it), and "Send Work's version again" creates the
    invoice again and applies its payment and its credit to it again (read back over REST)."""
    work = synced.ws.work_client()
    cn, cn_link, app_link, credited_link = _applied_credit(synced)
    pay = next(p for p in work.payments() if Link.get_or_none(kind="payment", work_id=p.id) and p.invoice_id != cn.invoice_id)
    paid_link = Link.get(kind="invoice", work_id=pay.invoice_id)
    invoices = {i.id: i for i in work.invoices()}
    http = _http(synced)
    for lk in (paid_link, credited_link):
        q = _get(http, "Invoice", lk.qbo_id)
        assert q is not None
        _post(http, "Invoice", {"Id": q["Id"], "SyncToken": q["SyncToken"]}, operation="delete")

    code, data = _reconcile(capsys)
    assert code == cli.EXIT_PROBLEMS
    rows = {d["work_id"]: d for d in data["differences"]}
    assert len(data["differences"]) == 2 and set(rows) == {pay.invoice_id, cn.invoice_id}, \
        [(d["id"], d["message"]) for d in data["differences"]]
    assert all(r["check"] == "missing" and "applies its payments to it again" in r["what_to_do"] for r in rows.values())
    assert _cli(capsys, "reconcile", "--fix", rows[pay.invoice_id]["id"], "--action", "recreate", "--no-sync")[0] == 0
    code, out = _cli(capsys, "reconcile", "--fix", rows[cn.invoice_id]["id"], "--action", "recreate", "--json")
    counts = out["sync"]["counts"]
    assert code == 0 and counts.get("invoices") == {"created": 2} and counts.get("payments") == {"updated": 1}, out
    assert counts.get("credit_applications") == {"updated": 1}, out

    new_paid = Link.get(kind="invoice", work_id=pay.invoice_id).qbo_id
    payment = _get(http, "Payment", Link.get(kind="payment", work_id=pay.id).qbo_id)
    assert payment is not None and [(lt["TxnId"], _money(ln["Amount"])) for ln in payment["Line"]
                                    for lt in ln.get("LinkedTxn", [])] == [(new_paid, _money(pay.amount))]
    new_credited = Link.get(kind="invoice", work_id=cn.invoice_id).qbo_id
    app = _get(http, "Payment", app_link.qbo_id)
    assert app is not None and _credit_links(app) == {("Invoice", new_credited): _money(cn.amount),
                                                      ("CreditMemo", cn_link.qbo_id): _money(cn.amount)}
    for wid, qid in ((pay.invoice_id, new_paid), (cn.invoice_id, new_credited)):
        back = _get(http, "Invoice", qid)
        assert back is not None and _money(back["Balance"]) == _money(invoices[wid].balance), (wid, back["Balance"])
    code, data = _reconcile(capsys)
    assert code == 0 and data["differences"] == []
