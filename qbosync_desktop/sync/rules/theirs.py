"""What a bookkeeper fills in on a synced transaction, kept when Work changes it (issue 15: "nothing
a bookkeeper changed in QuickBooks is overwritten").

Invoices, payments, bills, credit memos and refund receipts are written with QuickBooks' *full*
update: the lines, amounts, tax and dates are Work's, and a field Work no longer sends must go away
(a discount removed, a reference shortened). But a full update also sets every writable field it
leaves out to nothing (Intuit: "Writable fields omitted from the request body are set to NULL"): a
memo the bookkeeper wrote on a payment, the class or location on an invoice, its e-mail settings,
all went on the first Work edit of that record.

So before a full update leaves, the fields below that this app does not own are carried over from
the record as QuickBooks has it now. A field is the app's own when it is in the body being sent or
was in the body sent last time (Work set it then, so Work may clear it now); every other field of the
list keeps QuickBooks' value. The update is still a full one for what Work owns. The current records
are read once per chunk of updates (one query per 1,000 ids: transaction edits are few), and again
by the stale-token retry, which reads the record anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Writable fields a person may set in QuickBooks on each transaction this app writes with a full
#: update (Intuit's API reference of each entity), that the app does not always send.
FIELDS: dict[str, tuple[str, ...]] = {
    "Invoice": ("PrivateNote", "CustomerMemo", "ClassRef", "DepartmentRef", "CustomField", "SalesTermRef",
                "BillAddr", "ShipAddr", "ShipFromAddr", "ShipDate", "TrackingNum", "ShipMethodRef",
                "BillEmail", "BillEmailCc", "BillEmailBcc", "EmailStatus", "PrintStatus",
                "AllowOnlineCreditCardPayment", "AllowOnlineACHPayment"),
    "Payment": ("PrivateNote", "PaymentMethodRef", "PaymentRefNum", "DepartmentRef"),
    "Bill": ("PrivateNote", "DepartmentRef", "SalesTermRef"),
    "CreditMemo": ("PrivateNote", "CustomerMemo", "ClassRef", "DepartmentRef", "CustomField", "BillAddr",
                   "ShipAddr", "BillEmail", "EmailStatus", "PrintStatus"),
    "RefundReceipt": ("PrivateNote", "CustomerMemo", "ClassRef", "DepartmentRef", "CustomField", "BillAddr",
                      "ShipAddr", "BillEmail", "PaymentMethodRef", "PaymentRefNum", "PrintStatus"),
}


def applies(entity: str) -> bool:
    return entity in FIELDS


def carry_over(entity: str, payload: dict[str, Any], current: Mapping[str, Any],
               before: Mapping[str, Any] | None, carried: Iterable[str] = ()) -> list[str]:
    """Add to ``payload`` (a full update about to be persisted) the fields of :data:`FIELDS` that
    ``current`` (QuickBooks now) holds and this app does not own; returns their names. ``before`` is
    the body sent last time (its fields are the app's); ``carried`` names fields an earlier carry-over
    put in ``payload`` (they are taken again from ``current``, which is newer)."""
    for name in carried:
        payload.pop(name, None)
    owned = set(payload) | set(before or {})
    out = []
    for name in FIELDS.get(entity, ()):
        if name in owned:
            continue
        value = current.get(name)
        if value in (None, "", [], {}):
            continue
        payload[name] = value
        out.append(name)
    return out
