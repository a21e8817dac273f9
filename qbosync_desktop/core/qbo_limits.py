"""Intuit's documented limits for the QuickBooks Online fields this app writes, in one table.

Transcribed from Intuit's Accounting API v3 entity reference (the "Max length" of each attribute),
read on 2026-12-04:

* Customer - https://developer.intuit.com/app/developer/qbo/docs/api/accounting/most-commonly-used/customer
* Vendor - https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/vendor
* Item - https://developer.intuit.com/app/developer/qbo/docs/api/accounting/most-commonly-used/item
* Invoice - https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
* Bill - https://developer.intuit.com/app/developer/qbo/docs/api/accounting/most-commonly-used/bill
* Payment, CreditMemo, RefundReceipt - the same reference's pages for those entities

Both sides read this one table: the sync refuses (or, for free text, shortens) a value before it is
sent (:mod:`qbosync_desktop.sync.rules.validate`), and the practice QuickBooks server answers a longer
value with Intuit's 2050 "String length" ValidationFault (``sandbox/qbo/refs.check_lengths``). So the
app and the sandbox cannot drift apart; docs/sync-engine.md "Validate before sending" has the table
with the decision per field.

Field paths: ``"BillAddr.City"`` is a nested attribute; ``"Line.Description"`` is the attribute of
every line.
"""

from __future__ import annotations

from decimal import Decimal

#: Customer/Vendor ``DisplayName``: "maximum of 500 chars".
DISPLAY_NAME = 500
#: ``GivenName``, ``MiddleName``, ``FamilyName``: "maximum of 100 chars".
PERSON_NAME = 100
#: ``CompanyName``: "maximum of 100 chars".
COMPANY_NAME = 100
#: ``PrimaryEmailAddr.Address``: "maximum of 100 chars"; must contain "@" and "." (RFC 822).
EMAIL = 100
#: ``PrimaryPhone.FreeFormNumber`` (and Mobile, Fax, AlternatePhone): "Maximum of 30 chars".
PHONE = 30
#: ``PhysicalAddress.Line1`` … ``Line5``: "Individual maximum of 500 chars, up to combined max of 2000".
ADDRESS_LINE = 500
ADDRESS_LINES_TOTAL = 2000
#: ``City``, ``Country``, ``CountrySubDivisionCode``: "Maximum of 255 chars".
ADDRESS_PART = 255
#: ``PostalCode``: "Maximum of 30 chars".
POSTAL_CODE = 30
#: Item ``Name``: "maximum of 100 chars".
ITEM_NAME = 100
#: Item ``Description``: "maximum of 4000 chars".
ITEM_DESCRIPTION = 4000
#: Account ``Name`` (accounts are created only by the practice server's seed and tests).
ACCOUNT_NAME = 100
#: ``DocNumber`` of invoices, bills, credit memos, refund receipts: "maximum of 21 chars".
DOC_NUMBER = 21
#: ``PrivateNote``: "Max of 4000 chars".
PRIVATE_NOTE = 4000
#: ``CustomerMemo``: "Maximum 1000 chars".
CUSTOMER_MEMO = 1000
#: A line's ``Description``: "Max 4000 chars".
LINE_DESCRIPTION = 4000
#: Payment ``PaymentRefNum``: "maximum of 21 chars".
PAYMENT_REF_NUM = 21
#: A line ``Amount``: "Max 15 digits in 10.5 format" - ten digits before the decimal point, so every
#: amount is below ten billion. The sync holds every amount it sends (totals, unit prices) to it.
AMOUNT_LIMIT = Decimal("10000000000")

_PARTY = {
    "DisplayName": DISPLAY_NAME,
    "GivenName": PERSON_NAME,
    "MiddleName": PERSON_NAME,
    "FamilyName": PERSON_NAME,
    "CompanyName": COMPANY_NAME,
    "PrimaryEmailAddr.Address": EMAIL,
    "PrimaryPhone.FreeFormNumber": PHONE,
    "Mobile.FreeFormNumber": PHONE,
    "Fax.FreeFormNumber": PHONE,
    "AlternatePhone.FreeFormNumber": PHONE,
    **{f"{addr}.{part}": limit for addr in ("BillAddr", "ShipAddr") for part, limit in (
        ("Line1", ADDRESS_LINE), ("Line2", ADDRESS_LINE), ("Line3", ADDRESS_LINE), ("Line4", ADDRESS_LINE),
        ("Line5", ADDRESS_LINE), ("City", ADDRESS_PART), ("Country", ADDRESS_PART),
        ("CountrySubDivisionCode", ADDRESS_PART), ("PostalCode", POSTAL_CODE))},
}
_SALES_FORM = {
    "DocNumber": DOC_NUMBER,
    "PrivateNote": PRIVATE_NOTE,
    "CustomerMemo.value": CUSTOMER_MEMO,
    "Line.Description": LINE_DESCRIPTION,
}

#: entity → field path → Intuit's maximum length in characters.
LENGTHS: dict[str, dict[str, int]] = {
    "Customer": dict(_PARTY),
    "Vendor": dict(_PARTY),
    "Item": {"Name": ITEM_NAME, "Description": ITEM_DESCRIPTION},
    "Account": {"Name": ACCOUNT_NAME},
    "Invoice": dict(_SALES_FORM),
    "CreditMemo": dict(_SALES_FORM),
    "RefundReceipt": dict(_SALES_FORM),
    "Bill": {"DocNumber": DOC_NUMBER, "PrivateNote": PRIVATE_NOTE, "Line.Description": LINE_DESCRIPTION},
    "Payment": {"PaymentRefNum": PAYMENT_REF_NUM, "PrivateNote": PRIVATE_NOTE},
}


def values_at(obj: object, path: str) -> list[object]:
    """Every value at ``path`` in a QuickBooks body (``"Line.Description"`` gives one per line that has
    it; a missing attribute gives nothing)."""
    if "." not in path and isinstance(obj, dict):  # the common case, without the walk (per record, per rule)
        value = obj.get(path)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]
    found: list[object] = [obj]
    for key in path.split("."):
        nxt: list[object] = []
        for value in found:
            if isinstance(value, list):
                nxt.extend(v.get(key) for v in value if isinstance(v, dict) and v.get(key) is not None)
            elif isinstance(value, dict) and value.get(key) is not None:
                nxt.append(value[key])
        found = nxt
    out: list[object] = []
    for value in found:
        out.extend(value if isinstance(value, list) else [value])
    return out
