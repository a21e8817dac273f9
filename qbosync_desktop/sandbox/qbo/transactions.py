"""Rules for QBO transactions: Invoice, Payment and Bill.

QBO computes ``TotalAmt`` and ``Balance`` itself and adds a ``SubTotalLineDetail`` line to invoices;
a payment's lines link it to invoices of the same customer (620 otherwise) and lower their Balance —
which also changes the invoice's SyncToken, as in QBO. Whatever a payment does not apply stays
``UnappliedAmt`` (an overpayment is a credit, not an error). Voided transactions keep their Id with
zero amounts and ``PrivateNote: "Voided"``; deleted ones leave only a CDC tombstone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from qbosync_desktop.sandbox.qbo.clock import company_date
from qbosync_desktop.sandbox.qbo.faults import (
    amount_mismatch,
    business,
    cannot_link,
    duplicate_doc_number,
    invalid_reference,
    required,
)
from qbosync_desktop.sandbox.qbo.names import DEPOSIT_TYPES
from qbosync_desktop.sandbox.qbo.refs import check_length, money, name_ref, ref_value, resolve
from qbosync_desktop.sandbox.qbo.storage import Company, linked_invoice_ids

DOC_NUMBER_MAX = 21
USD = {"value": "USD", "name": "United States Dollar"}


@dataclass(frozen=True)
class WriteOptions:
    """URL options of a write (``include=allowduplicatedocnum``)."""

    allow_duplicate_doc_number: bool = False


def _doc_number(company: Company, entity: str, obj: dict[str, Any], previous: dict[str, Any] | None,
                opts: WriteOptions, *, auto: bool) -> None:
    doc = obj.get("DocNumber")
    if doc in (None, ""):
        if not auto:
            obj.pop("DocNumber", None)
            return
        numbers = [int(o["DocNumber"]) for o in company.all(entity) if str(o.get("DocNumber", "")).isdigit()]
        doc = str(max(numbers, default=1000) + 1)
    doc = str(doc)
    check_length(doc, "DocNumber", DOC_NUMBER_MAX)
    own = (entity, str(previous["Id"])) if previous else None
    clash = sorted(company.lookup(f"doc:{entity}", doc) - {own})
    unchanged = previous is not None and str(previous.get("DocNumber")) == doc
    if clash and not unchanged and not opts.allow_duplicate_doc_number:
        raise duplicate_doc_number(doc, entity, clash[0][1])
    obj["DocNumber"] = doc


def _dates(company: Company, obj: dict[str, Any]) -> None:
    today = company_date(company.clock.now())
    obj["TxnDate"] = str(obj.get("TxnDate") or today)
    obj["DueDate"] = str(obj.get("DueDate") or obj["TxnDate"])


def _customer(company: Company, obj: dict[str, Any]) -> dict[str, Any]:
    cust = resolve(company, "Customer", obj.get("CustomerRef"), "CustomerRef")
    assert cust is not None
    obj["CustomerRef"] = name_ref(cust)
    return cust


def applied_to(company: Company, invoice_id: str, *, except_payment: str | None = None) -> dict[str, float]:
    """Payment id -> amount applied to ``invoice_id`` (through the payments-by-invoice index)."""
    out: dict[str, float] = {}
    for pay_id in sorted(company.referencing("payments_by_invoice", invoice_id), key=int):
        pay = company.get("Payment", pay_id)
        if pay is None or pay_id == except_payment:
            continue
        for line in pay.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == invoice_id:
                    out[pay_id] = out.get(pay_id, 0.0) + float(line.get("Amount") or 0)
    return out


# --- Invoice ----------------------------------------------------------------------------------

def normalize_invoice(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                      opts: WriteOptions) -> dict[str, Any]:
    _customer(company, obj)
    lines = obj.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required("Line")
    out: list[dict[str, Any]] = []
    total = 0.0
    for line in lines:
        if not isinstance(line, dict):
            raise required("Line")
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # QBO recomputes the subtotal line
        if kind == "DescriptionOnly":
            out.append({**line, "Amount": 0, "Id": str(len(out) + 1), "LineNum": len(out) + 1})
            continue
        if kind != "SalesItemLineDetail":
            raise business(f"Unsupported line DetailType {kind!r} (use SalesItemLineDetail)", "Line.DetailType")
        detail = dict(line.get("SalesItemLineDetail") or {})
        item = resolve(company, "Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
        assert item is not None
        amount = money(line.get("Amount"), "Line.Amount")
        qty, price = detail.get("Qty"), detail.get("UnitPrice")
        if qty is not None and price is not None:
            expected = round(float(qty) * float(price), 2)
            if abs(expected - amount) > 0.005:
                raise amount_mismatch(amount, expected)
        detail["ItemRef"] = name_ref(item, "Name")
        new_line = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
        new_line.update({"Id": str(len(out) + 1), "LineNum": len(out) + 1, "Amount": amount,
                         "DetailType": kind, "SalesItemLineDetail": detail})
        out.append(new_line)
        total += amount
    if not any(line["DetailType"] == "SalesItemLineDetail" for line in out):
        raise required("Line.SalesItemLineDetail")
    total = round(total, 2)
    out.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    obj["Line"] = out
    _doc_number(company, "Invoice", obj, previous, opts, auto=True)
    _dates(company, obj)
    obj["TotalAmt"] = total
    applied = applied_to(company, str(previous["Id"])) if previous else {}
    obj["Balance"] = round(total - sum(applied.values()), 2)
    obj["LinkedTxn"] = [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)]
    obj.setdefault("CurrencyRef", USD)
    obj.setdefault("EmailStatus", "NotSet")
    obj.setdefault("PrintStatus", "NeedToPrint")
    return obj


def refresh_invoice(company: Company, invoice_id: str) -> None:
    """Recompute an invoice's Balance/LinkedTxn after a payment changed; bumps its SyncToken."""
    inv = company.get("Invoice", invoice_id)
    if inv is None:
        return
    applied = applied_to(company, invoice_id)
    balance = round(float(inv.get("TotalAmt") or 0) - sum(applied.values()), 2)
    linked = [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int) if applied[pid] > 0]
    if balance == inv.get("Balance") and linked == inv.get("LinkedTxn"):
        return
    updated = copy.deepcopy(inv)
    updated["Balance"] = balance
    updated["LinkedTxn"] = linked
    company.bump("Invoice", updated)


def unlink_payments(company: Company, invoice_id: str) -> None:
    """Before an invoice is voided or deleted its payments become unapplied credits (as in QBO)."""
    for pay_id in sorted(company.referencing("payments_by_invoice", invoice_id), key=int):
        pay = company.get("Payment", pay_id)
        if pay is None:
            continue
        lines = pay.get("Line") or []
        kept = [ln for ln in lines if not any(str(lk.get("TxnId")) == invoice_id and lk.get("TxnType") == "Invoice"
                                              for lk in ln.get("LinkedTxn") or [])]
        if len(kept) != len(lines):
            updated = copy.deepcopy(pay)
            updated["Line"] = kept
            updated["UnappliedAmt"] = round(float(pay.get("TotalAmt") or 0) - sum(float(ln.get("Amount") or 0) for ln in kept), 2)
            company.bump("Payment", updated)


def void_invoice(company: Company, obj: dict[str, Any]) -> dict[str, Any]:
    unlink_payments(company, str(obj["Id"]))
    for line in obj.get("Line") or []:
        line["Amount"] = 0
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict):
            detail["Qty"] = 0
    obj["TotalAmt"] = 0
    obj["Balance"] = 0
    obj["LinkedTxn"] = []
    obj["PrivateNote"] = "Voided"
    return obj


def delete_invoice(company: Company, obj: dict[str, Any]) -> None:
    unlink_payments(company, str(obj["Id"]))


# --- Payment ----------------------------------------------------------------------------------

def _customer_family(company: Company, customer_id: str) -> set[str]:
    """A customer and all its sub-customers: a parent may pay its jobs' invoices."""
    family, todo = {customer_id}, [customer_id]
    while todo:
        for child in company.referencing("customers_by_parent", todo.pop()):
            if child not in family:
                family.add(child)
                todo.append(child)
    return family


def undeposited_funds(company: Company) -> dict[str, Any] | None:
    return next((a for a in company.all("Account") if a.get("AccountSubType") == "UndepositedFunds"), None)


def normalize_payment(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                      _opts: WriteOptions) -> dict[str, Any]:
    cust = _customer(company, obj)
    total = money(obj.get("TotalAmt"), "TotalAmt")
    if total < 0:
        raise business("TotalAmt cannot be negative", "TotalAmt")
    own_id = str(previous["Id"]) if previous else None
    family: set[str] | None = None
    applied_total = 0.0
    lines = obj.get("Line") or []
    for line in lines:
        amount = money(line.get("Amount"), "Line.Amount")
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") != "Invoice":
                raise business(f"A payment can only be linked to invoices, not {link.get('TxnType')}", "Line.LinkedTxn.TxnType")
            inv_id = str(link.get("TxnId") or "")
            inv = company.get("Invoice", inv_id)
            if inv is None:
                raise invalid_reference("Line.LinkedTxn.TxnId", inv_id)
            family = family if family is not None else _customer_family(company, str(cust["Id"]))
            if ref_value(inv.get("CustomerRef")) not in family:
                raise cannot_link(inv_id)
            open_balance = float(inv.get("TotalAmt") or 0) - sum(applied_to(company, inv_id, except_payment=own_id).values())
            if amount > open_balance + 0.005:
                raise business(f"The amount applied to invoice {inv_id} ({amount}) is more than its open balance "
                               f"({round(open_balance, 2)})", "Line.Amount")
        line["Amount"] = amount
        applied_total += amount
    if applied_total > total + 0.005:
        raise business("The amounts applied to invoices are more than the payment's TotalAmt", "TotalAmt")
    obj["Line"] = lines
    obj["TotalAmt"] = total
    obj["UnappliedAmt"] = round(total - applied_total, 2)
    deposit = resolve(company, "Account", obj.get("DepositToAccountRef"), "DepositToAccountRef", needed=False)
    deposit = deposit or undeposited_funds(company)
    if deposit is not None:
        if deposit.get("AccountType") not in DEPOSIT_TYPES:
            raise business(f"DepositToAccountRef must be a Bank or Other Current Asset account; "
                           f"'{deposit.get('Name')}' is {deposit.get('AccountType')}", "DepositToAccountRef")
        obj["DepositToAccountRef"] = name_ref(deposit, "Name")
    obj["TxnDate"] = str(obj.get("TxnDate") or company_date(company.clock.now()))
    obj.setdefault("CurrencyRef", USD)
    obj.setdefault("ProcessPayment", False)
    return obj


def payment_saved(company: Company, obj: dict[str, Any] | None, previous: dict[str, Any] | None) -> None:
    for inv_id in sorted(linked_invoice_ids(obj) | linked_invoice_ids(previous)):
        refresh_invoice(company, inv_id)


def void_payment(company: Company, obj: dict[str, Any]) -> dict[str, Any]:
    for line in obj.get("Line") or []:
        line["Amount"] = 0
    obj["TotalAmt"] = 0
    obj["UnappliedAmt"] = 0
    obj["PrivateNote"] = "Voided"
    return obj


def delete_payment(company: Company, obj: dict[str, Any]) -> None:
    """Runs after the payment is gone from the store: give its invoices their balance back."""
    payment_saved(company, None, obj)


# --- Bill -------------------------------------------------------------------------------------

def accounts_payable(company: Company) -> dict[str, Any] | None:
    return next((a for a in company.all("Account") if a.get("AccountType") == "Accounts Payable"), None)


def normalize_bill(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                   opts: WriteOptions) -> dict[str, Any]:
    vendor = resolve(company, "Vendor", obj.get("VendorRef"), "VendorRef")
    assert vendor is not None
    obj["VendorRef"] = name_ref(vendor)
    lines = obj.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required("Line")
    out: list[dict[str, Any]] = []
    for line in lines:
        kind = line.get("DetailType") if isinstance(line, dict) else None
        if kind != "AccountBasedExpenseLineDetail":
            raise business(f"Unsupported bill line DetailType {kind!r} (use AccountBasedExpenseLineDetail)", "Line.DetailType")
        detail = dict(line.get("AccountBasedExpenseLineDetail") or {})
        acct = resolve(company, "Account", detail.get("AccountRef"), "Line.AccountBasedExpenseLineDetail.AccountRef")
        assert acct is not None
        if acct.get("AccountType") in ("Accounts Payable", "Accounts Receivable"):
            raise business(f"A bill line cannot post to the {acct.get('AccountType')} account", "Line.AccountRef")
        detail["AccountRef"] = name_ref(acct, "Name")
        detail.setdefault("BillableStatus", "NotBillable")
        new_line = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
        new_line.update({"Id": str(len(out) + 1), "LineNum": len(out) + 1,
                         "Amount": money(line.get("Amount"), "Line.Amount"), "AccountBasedExpenseLineDetail": detail})
        out.append(new_line)
    obj["Line"] = out
    ap = resolve(company, "Account", obj.get("APAccountRef"), "APAccountRef", needed=False) or accounts_payable(company)
    if ap is not None:
        if ap.get("AccountType") != "Accounts Payable":
            raise business(f"APAccountRef must be an Accounts Payable account; '{ap.get('Name')}' is "
                           f"{ap.get('AccountType')}", "APAccountRef")
        obj["APAccountRef"] = name_ref(ap, "Name")
    _doc_number(company, "Bill", obj, previous, opts, auto=False)
    _dates(company, obj)
    obj["TotalAmt"] = round(sum(line["Amount"] for line in out), 2)
    obj["Balance"] = obj["TotalAmt"]
    obj.setdefault("CurrencyRef", USD)
    return obj
