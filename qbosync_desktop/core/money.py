"""The one rounding rule of money: to the cent, half away from zero (0.495 → 0.50, -0.495 → -0.50).

Work rounds this way (docs/work-api.md, "Amounts"), QuickBooks rounds line amounts and tax this way
(docs/qbo-sandbox.md), and the engine must compute exactly what both compute, so every layer - the
Work connector, the engine's amount rules and both practice servers - calls this one function.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_cents(value: Decimal) -> Decimal:
    """``value`` to the cent, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
