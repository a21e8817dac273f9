"""Money rules for what an invoice sends to QuickBooks, and the proof after it was written (issue 14).

Pure Python: no store, no network. docs/sync-engine.md "Amounts, tax, discounts and terms" states
the rules in words; this module is them made precise.

- **A line keeps Work's amount.** ``Amount`` is Work's line amount (R(quantity × unit price), half
  away from zero). Quantity and unit price are sent as Work has them when QuickBooks can hold them
  (at most 7 decimals each) and round(Qty × UnitPrice) half up is that amount - which Work's own
  rule guarantees, so 1.5 × 0.33 = 0.50 goes as it is. Otherwise (more decimals than QuickBooks
  keeps) the line goes as Qty 1 × the amount, and Work's quantity and unit price are written into the
  line's description, so the billed amount is kept and nothing is lost.
- **One discount line.** QuickBooks has one ``DiscountLineDetail`` per transaction, before tax. Work's
  line discounts and its invoice discount are summed, as the amounts Work computed, into that one
  line (``PercentBased: false``), so the total is Work's to the cent; its description says how the
  discount was made.
- **Tax as charged:** split over several QuickBooks rates (a Canadian tax code with GST and QST) in
  proportion to their percents, cents half up, the last rate taking the remainder.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from qbosync_desktop.core.errors import QboValidationError
from qbosync_desktop.core.money import prorate as prorate  # re-exported: the amount rules' one split
from qbosync_desktop.core.money import round_cents as cents

#: QuickBooks keeps quantities and unit prices to 7 decimals (docs/qbo-sandbox.md "Line amounts").
QBO_DECIMALS = 7





def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fmt(value: Decimal) -> str:
    """A plain figure for messages: 1,234.50."""
    return f"{cents(value):,.2f}"


def line_form(quantity: Decimal, unit_price: Decimal, amount: Decimal) -> tuple[Decimal, Decimal, str | None]:
    """(Qty, UnitPrice, note) to send for a Work line billed at ``amount``; ``note`` (or None) is
    added to the description when Work's quantity and price cannot be sent as they are."""
    if (_decimals(quantity) <= QBO_DECIMALS and _decimals(unit_price) <= QBO_DECIMALS
            and cents(quantity * unit_price) == cents(amount)):
        return quantity, unit_price, None
    return Decimal(1), cents(amount), f"{quantity.normalize():f} × {unit_price.normalize():f}"



def discount_note(line_discounts: Sequence[tuple[str, str]], invoice_discount: str | None) -> str:
    """The discount line's description: "10% on Sump Pump Install; 25.00 off the invoice"."""
    parts = [f"{how} on {what}" for what, how in line_discounts]
    if invoice_discount:
        parts.append(f"{invoice_discount} off the invoice")
    return "Discount: " + "; ".join(parts)


def total_mismatch(label: str, qbo_total: Decimal, work_total: Decimal, *, likely: str, todo: str,
                   what: str = "invoice") -> QboValidationError:
    """The one problem of a record whose QuickBooks total differs from Work's, even by one cent."""
    diff = cents(qbo_total - work_total)
    return QboValidationError(
        f"The {what} '{label}' is in QuickBooks with a total of {fmt(qbo_total)}, but Work billed "
        f"{fmt(work_total)} (a difference of {fmt(abs(diff))}). {likely}",
        title="QuickBooks total differs from Work",
        hint=todo,
        details={"rule": "QuickBooks TotalAmt must equal Work's total", "qbo_total": str(cents(qbo_total)),
                 "work_total": str(cents(work_total))},
    )
