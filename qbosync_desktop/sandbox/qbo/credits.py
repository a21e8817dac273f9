"""Rules for CreditMemo and RefundReceipt — sales forms that give money back.

A credit memo has the lines, discount and tax of an invoice. Its ``Balance`` (and
``RemainingCredit``) is the credit not yet used: QBO applies a credit to an invoice through a
Payment whose lines link both the Invoice and the CreditMemo (see :func:`transactions.normalize_payment`).
A credit memo cannot be changed to less than the credit already applied; deleting one takes its
credit back from the payments (and so from the invoices) it was applied to.

A refund receipt records money paid back to a customer: sales lines (discount and tax as on an
invoice), ``DepositToAccountRef`` (required: the Bank or Other Current Asset account the money
leaves), ``TotalAmt`` computed and ``Balance`` 0.
"""

from __future__ import annotations

from typing import Any

from qbosync_desktop.sandbox.qbo.faults import business
from qbosync_desktop.sandbox.qbo.refs import home_currency
from qbosync_desktop.sandbox.qbo.sales import sales_lines
from qbosync_desktop.sandbox.qbo.storage import Company
from qbosync_desktop.sandbox.qbo.transactions import (
    WriteOptions,
    _customer,
    _dates,
    _doc_number,
    applied_to,
    deposit_account,
    detach,
)


def _positive_total(total: float, entity: str) -> float:
    if total < 0:
        raise business(f"The {entity} total cannot be negative", "TotalAmt")
    return total


def normalize_credit_memo(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                          opts: WriteOptions) -> dict[str, Any]:
    cust = _customer(company, obj)
    totals = sales_lines(company, obj, cust)
    _doc_number(company, "CreditMemo", obj, previous, opts, auto=True)
    _dates(company, obj)
    obj.pop("DueDate", None)
    total = _positive_total(float(totals.total), "credit memo")
    applied = applied_to(company, str(previous["Id"]), txn_type="CreditMemo") if previous else {}
    used = round(sum(applied.values()), 2)
    if total < used - 0.005:
        raise business(f"The credit memo total ({total}) is less than the credit already applied ({used}); "
                       "change or delete the payments that apply it first", "TotalAmt")
    obj["TotalAmt"] = total
    obj["Balance"] = obj["RemainingCredit"] = round(total - used, 2)
    obj["LinkedTxn"] = [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)]
    obj.setdefault("CurrencyRef", home_currency(company))
    obj.setdefault("EmailStatus", "NotSet")
    obj.setdefault("PrintStatus", "NeedToPrint")
    return obj


def delete_credit_memo(company: Company, obj: dict[str, Any]) -> None:
    detach(company, "CreditMemo", str(obj["Id"]))


def normalize_refund_receipt(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None,
                             opts: WriteOptions) -> dict[str, Any]:
    cust = None
    if obj.get("CustomerRef") not in (None, "", {}):
        cust = _customer(company, obj)
    totals = sales_lines(company, obj, cust)
    deposit_account(company, obj, needed=True)
    _doc_number(company, "RefundReceipt", obj, previous, opts, auto=True)
    _dates(company, obj)
    obj.pop("DueDate", None)
    obj["TotalAmt"] = _positive_total(float(totals.total), "refund")
    obj["Balance"] = 0
    obj.setdefault("CurrencyRef", home_currency(company))
    obj.setdefault("PrintStatus", "NotSet")
    return obj
