"""The one rounding rule of money: to the cent, half away from zero (0.495 → 0.50, -0.495 → -0.50).

Work rounds this way (docs/work-api.md, "Amounts"), QuickBooks rounds line amounts and tax this way
(docs/qbo-sandbox.md), and the engine must compute exactly what both compute, so every layer - the
Work connector, the engine's amount rules and both practice servers - calls this one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_cents(value: Decimal) -> Decimal:
    """``value`` to the cent, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cents(value: object) -> Decimal:
    """An amount as an answer gives it (a number, a numeric string, nothing) to the cent; 0.00 when it
    is missing or not a number. For comparing and showing amounts read back, never for computing."""
    try:
        return round_cents(Decimal(str(value if value not in (None, "") else 0)))
    except ArithmeticError:  # decimal.InvalidOperation: "abc", "NaN", "Infinity"
        return Decimal("0.00")


def prorate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` by ``weights`` into cents; the last share takes the rounding remainder
    (everything on the first share when every weight is 0). The engine splits Work's tax across a
    tax code's rates this way, and the practice QuickBooks splits an override the same way."""
    if not weights:
        return []
    whole = sum(weights, Decimal(0))
    if whole == 0:
        return [total] + [Decimal(0)] * (len(weights) - 1)
    shares = [round_cents(total * w / whole) for w in weights[:-1]]
    return [*shares, total - sum(shares, Decimal(0))]
