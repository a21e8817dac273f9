"""The lines of a sales form (Invoice, CreditMemo, RefundReceipt): items, one discount, tax, totals.

QBO checks each item line's ``Amount`` against ``Qty`` × ``UnitPrice`` rounded to the cent (half away
from zero, so 1.5 × 0.33 = 0.495 → 0.50) and answers 6070 only when they really differ; applies at
most one transaction-level ``DiscountLineDetail`` (an amount, or ``PercentBased`` with
``DiscountPercent``; neither → 6090) to the subtotal before tax; computes the tax (:mod:`tax`); and
returns ``TotalAmt`` = subtotal − discount + tax with a trailing ``SubTotalLineDetail`` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qbosync_desktop.core import qbo_limits
from qbosync_desktop.sandbox.qbo import tax
from qbosync_desktop.sandbox.qbo.faults import ApiFault, amount_mismatch, business, required
from qbosync_desktop.sandbox.qbo.names import INCOME_TYPES
from qbosync_desktop.sandbox.qbo.refs import boolean, check_length, decimal, name_ref, resolve, to_cents
from qbosync_desktop.sandbox.qbo.storage import Company

ZERO = Decimal(0)
HUNDRED = Decimal(100)
#: Text limits of transactions (Intuit's entity reference, core/qbo_limits.py; 2050 when longer).
PRIVATE_NOTE_MAX = qbo_limits.PRIVATE_NOTE
CUSTOMER_MEMO_MAX = qbo_limits.CUSTOMER_MEMO
LINE_DESCRIPTION_MAX = qbo_limits.LINE_DESCRIPTION
PAYMENT_REF_MAX = qbo_limits.PAYMENT_REF_NUM


def check_text(obj: dict[str, Any]) -> None:
    """PrivateNote, CustomerMemo, PaymentRefNum and line Description lengths (2050)."""
    check_length(obj.get("PrivateNote"), "PrivateNote", PRIVATE_NOTE_MAX)
    memo = obj.get("CustomerMemo")
    check_length(memo.get("value") if isinstance(memo, dict) else memo, "CustomerMemo", CUSTOMER_MEMO_MAX)
    check_length(obj.get("PaymentRefNum"), "PaymentRefNum", PAYMENT_REF_MAX)
    for line in obj.get("Line") or []:
        if isinstance(line, dict):
            check_length(line.get("Description"), "Line.Description", LINE_DESCRIPTION_MAX)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.tax


def discount_missing() -> ApiFault:
    return ApiFault(6090, "Discount Line missing required info.", "Discount amount or percent should be provided.",
                    "Line.DiscountLineDetail")


def _item_line(company: Company, line: dict[str, Any], number: int) -> tax.SalesLine:
    detail = dict(line.get("SalesItemLineDetail") or {})
    item = resolve(company, "Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
    assert item is not None
    if line.get("Amount") in (None, ""):
        raise required("Line.Amount")
    amount = to_cents(decimal(line["Amount"], "Line.Amount"))
    qty, price = detail.get("Qty"), detail.get("UnitPrice")
    if qty is not None and price is not None:
        expected = to_cents(decimal(qty, "Line.SalesItemLineDetail.Qty") * decimal(price, "Line.SalesItemLineDetail.UnitPrice"))
        if expected != amount:
            raise amount_mismatch(float(amount), float(expected))
    detail["ItemRef"] = name_ref(item, "Name")
    new_line = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
    new_line.update({"Id": str(number), "LineNum": number, "Amount": float(amount),
                     "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail})
    return tax.SalesLine(new_line, amount, item)


def _discount(company: Company, line: dict[str, Any], subtotal: Decimal, number: int) -> tuple[dict[str, Any], Decimal]:
    detail = dict(line.get("DiscountLineDetail") or {})
    percent = detail.get("DiscountPercent")
    percent_based = boolean(detail.get("PercentBased"), default=False) or (
        line.get("Amount") in (None, "") and percent not in (None, ""))
    if percent_based:
        if percent in (None, ""):
            raise discount_missing()
        pct = decimal(percent, "Line.DiscountLineDetail.DiscountPercent")
        if not ZERO <= pct <= HUNDRED:
            raise business("DiscountPercent must be between 0 and 100", "Line.DiscountLineDetail.DiscountPercent")
        amount = to_cents(subtotal * pct / HUNDRED)
        detail.update({"PercentBased": True, "DiscountPercent": float(pct)})
    else:
        if line.get("Amount") in (None, ""):
            raise discount_missing()
        amount = to_cents(decimal(line["Amount"], "Line.Amount"))
        detail["PercentBased"] = False
        detail.pop("DiscountPercent", None)
    if amount < 0:
        raise business("The discount amount cannot be negative", "Line.Amount")
    if amount > subtotal:
        raise business("The discount amount can't be greater than the subtotal", "Line.Amount")
    acct = resolve(company, "Account", detail.get("DiscountAccountRef"), "Line.DiscountLineDetail.DiscountAccountRef",
                   needed=False)
    if acct is not None:
        if acct.get("AccountType") not in INCOME_TYPES:
            raise business("DiscountAccountRef must be an income account", "Line.DiscountLineDetail.DiscountAccountRef")
        detail["DiscountAccountRef"] = name_ref(acct, "Name")
    out = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
    out.update({"Id": str(number), "LineNum": number, "Amount": float(amount), "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": detail})
    return out, amount


def sales_lines(company: Company, obj: dict[str, Any], customer: dict[str, Any] | None) -> Totals:
    """Normalise ``obj["Line"]``, compute discount and tax (``obj["TxnTaxDetail"]``), return the totals."""
    lines = obj.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required("Line")
    check_text(obj)
    out: list[dict[str, Any]] = []
    items: list[tax.SalesLine] = []
    discount_line: dict[str, Any] | None = None
    for line in lines:
        if not isinstance(line, dict):
            raise required("Line")
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # QBO recomputes the subtotal line
        if kind == "DescriptionOnly":
            out.append({**line, "Amount": 0, "Id": str(len(out) + 1), "LineNum": len(out) + 1})
        elif kind == "DiscountLineDetail":
            if discount_line is not None:
                raise business("A transaction can have only one discount line", "Line.DiscountLineDetail")
            discount_line = line
        elif kind == "SalesItemLineDetail":
            sales = _item_line(company, line, len(out) + 1)
            items.append(sales)
            out.append(sales.line)
        else:
            raise business(f"Unsupported line DetailType {kind!r} (use SalesItemLineDetail, DiscountLineDetail "
                           "or DescriptionOnly)", "Line.DetailType")
    if not items:
        raise required("Line.SalesItemLineDetail")
    subtotal = sum((sl.amount for sl in items), ZERO)
    discount = ZERO
    if discount_line is not None:
        normalised, discount = _discount(company, discount_line, subtotal, len(out) + 1)
        out.append(normalised)
    after_discount = boolean(obj.get("ApplyTaxAfterDiscount"), default=True)
    obj["ApplyTaxAfterDiscount"] = after_discount
    for sl in items:
        share = discount * sl.amount / subtotal if after_discount and subtotal else ZERO
        sl.net = sl.amount - share
    tax_total = tax.compute(company, obj, customer, items)
    out.append({"Amount": float(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    obj["Line"] = out
    return Totals(subtotal, discount, tax_total)
