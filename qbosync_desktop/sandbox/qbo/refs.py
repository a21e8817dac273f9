"""Shared checks for references (``CustomerRef``, ``ItemRef``, ``AccountRef``...) and plain fields.

QBO answers a reference to a record that does not exist with 2500 "Invalid Reference Id" and a
reference to an inactive record with 610 "Object Not Found" (its wording is about inactive records).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from qbosync_desktop.core.money import round_cents as to_cents
from qbosync_desktop.core.qbo_limits import ADDRESS_LINES_TOTAL, LENGTHS, values_at
from qbosync_desktop.sandbox.qbo.faults import (
    bad_length,
    invalid_character,
    invalid_reference,
    invalid_request,
    not_found,
    required,
)
from qbosync_desktop.sandbox.qbo.storage import Company

BAD_NAME_CHARS = (":", "\t", "\n", "\r")


def ref_value(ref: Any) -> str | None:
    """The id inside ``{"value": "12", "name": ...}`` (a bare id is tolerated)."""
    if isinstance(ref, dict):
        ref = ref.get("value")
    if ref is None or ref == "":
        return None
    return str(ref)


def resolve(company: Company, entity: str, ref: Any, element: str, *, needed: bool = True) -> dict[str, Any] | None:
    """Look up an active referenced record or raise the fault QBO would send."""
    obj_id = ref_value(ref)
    if obj_id is None:
        if needed:
            raise required(element)
        return None
    obj = company.get(entity, obj_id)
    if obj is None:
        raise invalid_reference(element, obj_id)
    if obj.get("Active") is False:
        raise not_found(element)
    return obj


def name_ref(obj: dict[str, Any], name_field: str = "DisplayName") -> dict[str, str]:
    return {"value": str(obj["Id"]), "name": str(obj.get(name_field) or obj.get("Name") or "")}


def check_name(value: Any, element: str, limit: int) -> str:
    """Required, no ``:`` tab or newline (2040), at most ``limit`` characters (2050)."""
    if value is None or str(value).strip() == "":
        raise required(element)
    text = str(value).strip()
    if any(ch in text for ch in BAD_NAME_CHARS):
        raise invalid_character(element)
    if len(text) > limit:
        raise bad_length(element, limit, len(text))
    return text


def check_length(value: Any, element: str, limit: int) -> None:
    if value is not None and len(str(value)) > limit:
        raise bad_length(element, limit, len(str(value)))


def check_lengths(entity: str, obj: dict[str, Any]) -> None:
    """Every text field of ``entity`` against Intuit's documented maximum (core/qbo_limits.py): a
    longer value is refused with 2050, as QuickBooks does; so are address lines longer than 2000
    characters together."""
    for path, limit in LENGTHS.get(entity, {}).items():
        for value in values_at(obj, path):
            check_length(value, path, limit)
    for key in ("BillAddr", "ShipAddr"):
        addr = obj.get(key)
        if isinstance(addr, dict):
            combined = sum(len(str(addr.get(f"Line{n}") or "")) for n in range(1, 6))
            if combined > ADDRESS_LINES_TOTAL:
                raise bad_length(f"{key}.Line1-Line5", ADDRESS_LINES_TOTAL, combined)




def decimal(value: Any, element: str) -> Decimal:
    """A JSON number as an exact decimal: ``0.33`` is 0.33, not the binary float next to it."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid_request(f"{element} must be a number, got {value!r}") from None
    if not number.is_finite() or isinstance(value, bool):
        raise invalid_request(f"{element} must be a number, got {value!r}")
    return number




def money(value: Any, element: str, *, needed: bool = True) -> float:
    if value is None or value == "":
        if needed:
            raise required(element)
        return 0.0
    return float(to_cents(decimal(value, element)))


def boolean(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


CURRENCY_NAMES = {"USD": "United States Dollar", "CAD": "Canadian Dollar"}


def home_currency(company: Company) -> dict[str, str]:
    """``CurrencyRef`` of the company's home currency (Preferences.CurrencyPrefs.HomeCurrency)."""
    prefs = company.get("Preferences", "1") or {}
    code = str(((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value") or "USD")
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}
