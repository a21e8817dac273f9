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
