"""Work's arithmetic: line amounts, discounts, tax and totals, to the cent (docs/work-api.md, "Amounts").

One rounding operation, ``R(x)`` = round half away from zero to two places (``Decimal`` with
``ROUND_HALF_UP``; 0.495 → 0.50, -0.495 → -0.50), applied at exactly these points and nowhere else:

1. line ``amount`` = R(quantity × unit_price)                         (1.5 × 0.33 = 0.495 → 0.50)
2. line ``discount_amount`` = R(amount × percent / 100), or the amount discount as written
3. line ``net_amount`` = amount − discount_amount                      (no rounding: cents minus cents)
4. invoice ``subtotal`` = Σ net_amount
5. invoice ``discount_amount`` = R(subtotal × percent / 100), or the amount discount as written
6. tax ``taxable_amount`` = T − R(discount_amount × T / subtotal), where T = Σ net_amount of the
   taxable lines (the invoice discount is shared out before tax, in proportion; 0 when subtotal is 0)
7. tax ``amount`` = R(taxable_amount × percent / 100)                   (rounded once per invoice)
8. invoice ``total`` = subtotal − discount_amount + tax amount

Credit notes use steps 1, 4, 6 and 7 (no discounts): ``amount`` = subtotal + tax amount; a credit
note without lines is just its ``amount``.

The engine relies on this rule to send QuickBooks the figures Work billed; tests pin the examples.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbosync_desktop.core.money import round_cents

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class AmountError(ValueError):
    """A discount that cannot apply (more than the amount, or on nothing); the store answers 422."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field




def line_amount(quantity: Any, unit_price: Any) -> Decimal:
    return round_cents(Decimal(str(quantity)) * Decimal(str(unit_price)))


def discount_amount(discount: dict[str, Any] | None, base: Decimal, field: str) -> Decimal:
    """What a discount (``{"kind": "percent"|"amount", "value": "..."}`` or ``None``) takes off ``base``."""
    if not discount:
        return ZERO
    value = Decimal(str(discount["value"]))
    if value == 0:
        return ZERO
    if base <= 0:
        raise AmountError("A discount needs a positive amount to apply to.", field)
    if discount["kind"] == "percent":
        return round_cents(base * value / HUNDRED)
    if value > base:
        raise AmountError(f"The discount ({value:.2f}) is more than the amount it applies to ({base:.2f}).", field)
    return round_cents(value)


def tax_of(tax: dict[str, Any] | None, taxable: Decimal, subtotal: Decimal, discount: Decimal) -> Decimal:
    """Fill ``taxable_amount`` and ``amount`` into ``tax`` (a rate snapshot) and return the tax amount."""
    if not tax:
        return ZERO
    share = round_cents(discount * taxable / subtotal) if subtotal else ZERO
    base = taxable - share
    amount = round_cents(base * Decimal(str(tax["percent"])) / HUNDRED)
    tax["taxable_amount"] = _text(base)
    tax["amount"] = _text(amount)
    return amount


def compute_invoice(data: dict[str, Any]) -> dict[str, Any]:
    """Fill every computed amount of an invoice in place (and return it)."""
    subtotal = taxable = ZERO
    for n, line in enumerate(data["lines"]):
        amount = line_amount(line["quantity"], line["unit_price"])
        off = discount_amount(line.get("discount"), amount, f"lines.{n}.discount")
        net = amount - off
        line.update(amount=_text(amount), discount_amount=_text(off), net_amount=_text(net))
        subtotal += net
        if line.get("taxable"):
            taxable += net
    off = discount_amount(data.get("discount"), subtotal, "discount")
    tax = tax_of(data.get("tax"), taxable, subtotal, off)
    data.update(subtotal=_text(subtotal), discount_amount=_text(off), total=_text(subtotal - off + tax))
    return data


def compute_credit_note(data: dict[str, Any]) -> dict[str, Any]:
    lines = data.get("lines") or []
    if not lines:
        data["subtotal"] = data["amount"]
        return data
    subtotal = taxable = ZERO
    for line in lines:
        amount = line_amount(line["quantity"], line["unit_price"])
        line["amount"] = _text(amount)
        subtotal += amount
        if line.get("taxable"):
            taxable += amount
    tax = tax_of(data.get("tax"), taxable, subtotal, ZERO)
    data.update(subtotal=_text(subtotal), amount=_text(subtotal + tax))
    return data


def _text(value: Decimal) -> str:
    return str(round_cents(value)) if value else "0.00"  # never "-0.00"
