"""Rules for QBO transactions: Invoice, Payment and Bill (CreditMemo, RefundReceipt: :mod:`credits`).

QBO computes ``TotalAmt`` and ``Balance`` itself and adds a ``SubTotalLineDetail`` line to invoices;
a payment's lines link it to invoices of the same customer (620 otherwise) and lower their Balance —
which also changes the invoice's SyncToken, as in QBO. Whatever a payment does not apply stays
``UnappliedAmt`` (an overpayment is a credit, not an error). Voided transactions keep their Id with
zero amounts and ``PrivateNote: "Voided"``; deleted ones leave only a CDC tombstone.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from qbosync_desktop.core import qbo_limits
from qbosync_desktop.sandbox.qbo.clock import company_date
from qbosync_desktop.sandbox.qbo.faults import (
    business,
    cannot_link,
    duplicate_doc_number,
    invalid_reference,
    invalid_request,
    required,
)
from qbosync_desktop.sandbox.qbo.names import DEPOSIT_TYPES
from qbosync_desktop.sandbox.qbo.refs import (
    check_length,
    check_lengths,
    home_currency,
    money,
    name_ref,
    ref_value,
    resolve,
)
from qbosync_desktop.sandbox.qbo.sales import check_text, sales_lines
from qbosync_desktop.sandbox.qbo.storage import Company, linked_credit_ids, linked_invoice_ids

DOC_NUMBER_MAX = qbo_limits.DOC_NUMBER


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


def applied_to(company: Company, txn_id: str, *, txn_type: str = "Invoice",
               except_payment: str | None = None) -> dict[str, float]:
    """Payment id -> amount applied to invoice (or credit memo) ``txn_id``, through the reference index."""
    relation = "payments_by_invoice" if txn_type == "Invoice" else "payments_by_credit"
    out: dict[str, float] = {}
    for pay_id in sorted(company.referencing(relation, txn_id), key=int):
        pay = company.get("Payment", pay_id)
        if pay is None or pay_id == except_payment:
            continue
        for line in pay.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == txn_type and str(link.get("TxnId")) == txn_id:
                    out[pay_id] = round(out.get(pay_id, 0.0) + float(line.get("Amount") or 0), 2)
    return out


def _terms(company: Company, obj: dict[str, Any]) -> None:
    """``SalesTermRef``: a Term; without an explicit DueDate, DueDate = TxnDate + the term's DueDays."""
    term = resolve(company, "Term", obj.get("SalesTermRef"), "SalesTermRef", needed=False)
    if term is None:
        obj.pop("SalesTermRef", None)
        return
    obj["SalesTermRef"] = name_ref(term, "Name")
    if not obj.get("DueDate") and obj.get("TxnDate"):
        txn_date = dt.date.fromisoformat(str(obj["TxnDate"]))
        obj["DueDate"] = (txn_date + dt.timedelta(days=int(term.get("DueDays") or 0))).isoformat()


# --- Invoice ----------------------------------------------------------------------------------

def normalize_invoice(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                      opts: WriteOptions) -> dict[str, Any]:
    cust = _customer(company, obj)
    totals = sales_lines(company, obj, cust)
    _doc_number(company, "Invoice", obj, previous, opts, auto=True)
    if obj.get("TxnDate"):
        _check_date(obj["TxnDate"], "TxnDate")
    obj["TxnDate"] = str(obj.get("TxnDate") or company_date(company.clock.now()))
    _terms(company, obj)
    _dates(company, obj)
    total = float(totals.total)
    if total < 0:
        raise business("The invoice total cannot be negative (send a credit memo instead)", "TotalAmt")
    obj["TotalAmt"] = total
    applied = applied_to(company, str(previous["Id"])) if previous else {}
    obj["Balance"] = round(total - sum(applied.values()), 2)
    obj["LinkedTxn"] = [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)]
    obj.setdefault("CurrencyRef", home_currency(company))
    obj.setdefault("EmailStatus", "NotSet")
    obj.setdefault("PrintStatus", "NeedToPrint")
    return obj


def _check_date(value: Any, element: str) -> None:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        raise invalid_request(f"{element} is not a date (YYYY-MM-DD): {value}") from None


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


def refresh_credit(company: Company, credit_id: str) -> None:
    """Recompute a credit memo's remaining credit (Balance, RemainingCredit) and LinkedTxn."""
    memo = company.get("CreditMemo", credit_id)
    if memo is None:
        return
    applied = applied_to(company, credit_id, txn_type="CreditMemo")
    remaining = round(float(memo.get("TotalAmt") or 0) - sum(applied.values()), 2)
    linked = [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int) if applied[pid] > 0]
    if remaining == memo.get("Balance") and linked == memo.get("LinkedTxn"):
        return
    updated = copy.deepcopy(memo)
    updated["Balance"] = updated["RemainingCredit"] = remaining
    updated["LinkedTxn"] = linked
    company.bump("CreditMemo", updated)


def _links(line: dict[str, Any], txn_type: str, txn_id: str) -> bool:
    return any(str(lk.get("TxnId")) == txn_id and lk.get("TxnType") == txn_type for lk in line.get("LinkedTxn") or [])


def _line_sum(lines: list[dict[str, Any]], txn_type: str) -> float:
    return round(sum(float(ln.get("Amount") or 0) for ln in lines
                     if any(lk.get("TxnType") == txn_type for lk in ln.get("LinkedTxn") or [])), 2)


def _trim(lines: list[dict[str, Any]], txn_type: str, excess: float) -> list[dict[str, Any]]:
    """Lower the amounts of the lines linking ``txn_type`` by ``excess``, last line first."""
    out = copy.deepcopy(lines)
    for line in reversed(out):
        if excess <= 0.005:
            break
        if not any(lk.get("TxnType") == txn_type for lk in line.get("LinkedTxn") or []):
            continue
        cut = min(float(line.get("Amount") or 0), excess)
        line["Amount"] = round(float(line.get("Amount") or 0) - cut, 2)
        excess = round(excess - cut, 2)
    return [ln for ln in out if float(ln.get("Amount") or 0) > 0 or not ln.get("LinkedTxn")]


def detach(company: Company, txn_type: str, txn_id: str) -> None:
    """Before an invoice or credit memo is voided or deleted, the payments linking it let go (as in
    QBO): their lines for it are removed and the other side is trimmed so the payment still adds up
    (a credit no longer used by an invoice goes back to its credit memo; a payment that lost its
    credit keeps its cash, applied as far as it reaches). Other linked documents are refreshed."""
    relation = "payments_by_invoice" if txn_type == "Invoice" else "payments_by_credit"
    for pay_id in sorted(company.referencing(relation, txn_id), key=int):
        pay = company.get("Payment", pay_id)
        if pay is None:
            continue
        kept = [ln for ln in pay.get("Line") or [] if not _links(ln, txn_type, txn_id)]
        total = float(pay.get("TotalAmt") or 0)
        if txn_type == "Invoice":
            kept = _trim(kept, "CreditMemo", _line_sum(kept, "CreditMemo") - _line_sum(kept, "Invoice"))
        else:
            kept = _trim(kept, "Invoice", _line_sum(kept, "Invoice") - _line_sum(kept, "CreditMemo") - total)
        updated = copy.deepcopy(pay)
        updated["Line"] = kept
        updated["UnappliedAmt"] = round(total - (_line_sum(kept, "Invoice") - _line_sum(kept, "CreditMemo")), 2)
        company.bump("Payment", updated)
        for other in sorted(linked_invoice_ids(pay) - ({txn_id} if txn_type == "Invoice" else set())):
            refresh_invoice(company, other)
        for other in sorted(linked_credit_ids(pay) - ({txn_id} if txn_type == "CreditMemo" else set())):
            refresh_credit(company, other)


def unlink_payments(company: Company, invoice_id: str) -> None:
    """Before an invoice is voided or deleted its payments become unapplied credits (as in QBO)."""
    detach(company, "Invoice", invoice_id)


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
    obj["TxnTaxDetail"] = {"TotalTax": 0}
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


def deposit_account(company: Company, obj: dict[str, Any], *, needed: bool) -> None:
    """``DepositToAccountRef``: a Bank or Other Current Asset account (default Undeposited Funds)."""
    deposit = resolve(company, "Account", obj.get("DepositToAccountRef"), "DepositToAccountRef", needed=needed)
    deposit = deposit or undeposited_funds(company)
    if deposit is not None:
        if deposit.get("AccountType") not in DEPOSIT_TYPES:
            raise business(f"DepositToAccountRef must be a Bank or Other Current Asset account; "
                           f"'{deposit.get('Name')}' is {deposit.get('AccountType')}", "DepositToAccountRef")
        obj["DepositToAccountRef"] = name_ref(deposit, "Name")


def normalize_payment(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                      _opts: WriteOptions) -> dict[str, Any]:
    """Lines link invoices (money applied) or credit memos (credit used); TotalAmt is the money the
    customer paid: invoices − credits ≤ TotalAmt, and the rest is UnappliedAmt. A payment of 0 that
    links an invoice and a credit memo is how QBO applies a credit to an invoice."""
    cust = _customer(company, obj)
    check_text(obj)
    total = money(obj.get("TotalAmt"), "TotalAmt")
    if total < 0:
        raise business("TotalAmt cannot be negative", "TotalAmt")
    own_id = str(previous["Id"]) if previous else None
    family: set[str] | None = None
    sums = {"Invoice": 0.0, "CreditMemo": 0.0}
    lines = obj.get("Line") or []
    for line in lines:
        amount = money(line.get("Amount"), "Line.Amount")
        for link in line.get("LinkedTxn") or []:
            txn_type = link.get("TxnType")
            if txn_type not in sums:
                raise business(f"A payment can only be linked to invoices and credit memos, not {txn_type}",
                               "Line.LinkedTxn.TxnType")
            txn_id = str(link.get("TxnId") or "")
            txn = company.get(str(txn_type), txn_id)
            if txn is None:
                raise invalid_reference("Line.LinkedTxn.TxnId", txn_id)
            family = family if family is not None else _customer_family(company, str(cust["Id"]))
            if ref_value(txn.get("CustomerRef")) not in family:
                raise cannot_link(txn_id)
            open_amount = float(txn.get("TotalAmt") or 0) - sum(
                applied_to(company, txn_id, txn_type=str(txn_type), except_payment=own_id).values())
            if amount > open_amount + 0.005:
                what = "invoice" if txn_type == "Invoice" else "credit memo"
                raise business(f"The amount applied to {what} {txn_id} ({amount}) is more than its open balance "
                               f"({round(open_amount, 2)})", "Line.Amount")
            sums[str(txn_type)] += amount
        line["Amount"] = amount
    applied = round(sums["Invoice"] - sums["CreditMemo"], 2)
    if applied < -0.005:
        raise business("The credits applied are more than the invoices they are applied to", "Line.Amount")
    if applied > total + 0.005:
        raise business("The amounts applied to invoices are more than the payment's TotalAmt", "TotalAmt")
    obj["Line"] = lines
    obj["TotalAmt"] = total
    obj["UnappliedAmt"] = round(total - applied, 2)
    deposit_account(company, obj, needed=False)
    obj["TxnDate"] = str(obj.get("TxnDate") or company_date(company.clock.now()))
    obj.setdefault("CurrencyRef", home_currency(company))
    obj.setdefault("ProcessPayment", False)
    return obj


def payment_saved(company: Company, obj: dict[str, Any] | None, previous: dict[str, Any] | None) -> None:
    for inv_id in sorted(linked_invoice_ids(obj) | linked_invoice_ids(previous)):
        refresh_invoice(company, inv_id)
    for credit_id in sorted(linked_credit_ids(obj) | linked_credit_ids(previous)):
        refresh_credit(company, credit_id)


def void_payment(company: Company, obj: dict[str, Any]) -> dict[str, Any]:
    for line in obj.get("Line") or []:
        line["Amount"] = 0
    obj["TotalAmt"] = 0
    obj["UnappliedAmt"] = 0
    obj["PrivateNote"] = "Voided"
    return obj


def delete_payment(company: Company, obj: dict[str, Any]) -> None:
    """Runs after the payment is gone from the store: give its invoices and credits their balance back."""
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
    check_lengths("Bill", obj)
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
    obj.setdefault("CurrencyRef", home_currency(company))
    return obj
