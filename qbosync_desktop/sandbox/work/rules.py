"""The Work API's validation rules: which fields each record has, their types and limits.

The demo server applies these to every write, through HTTP and through the "Work user" handle alike,
so the connector and the sync engine meet the same refusals a real Work deployment gives:

* ``400 validation_failed`` — a field has the wrong type, is too long, is unknown or read-only, or a
  required field is missing. ``details.fields`` maps each bad field to the reason.
* ``422 unprocessable`` — the body is well-formed but breaks a business rule: a reference to a record
  that does not exist, a site moved to another client, a change to a voided invoice.

Legacy data may break today's rules (the demo seed has an invalid e-mail address): the rules apply to
the fields a write *sends*, never to fields it leaves alone, which is how real systems behave.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from qbosync_desktop.sandbox.work.amounts import AmountError, compute_credit_note, compute_invoice

Lookup = Callable[[str, str], "dict[str, Any] | None"]

READ_ONLY = ("id", "version", "created_at", "updated_at")
ADDRESS_FIELDS = {"line1": 255, "line2": 255, "city": 100, "state": 50, "postal_code": 30, "country": 100}
INVOICE_STATUSES = ("draft", "sent", "paid", "void")
ITEM_KINDS = ("service", "product")
PAYMENT_METHODS = ("cash", "check", "card", "bank_transfer", "other")
CONTRACT_STATUSES = ("active", "ended", "cancelled")
CONTRACTOR_INVOICE_STATUSES = ("draft", "submitted", "approved", "paid", "rejected")
RECORD_STATUSES = ("active", "void")  # payments, credit notes, refunds
DISCOUNT_KINDS = ("percent", "amount")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CENT = Decimal("0.01")


class ApiError(Exception):
    """An error answer: ``{"error": code, "message": text, "details": {...}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class _Bad(ValueError):
    pass


# -- field converters: return the normalised value or raise _Bad(reason) -----------------------------

def text(max_len: int, *, required: bool = False) -> Callable[[Any], Any]:
    def conv(value: Any) -> Any:
        if value is None:
            if required:
                raise _Bad("is required")
            return None
        if not isinstance(value, str):
            raise _Bad("must be a string")
        if required and not value.strip():
            raise _Bad("must not be blank")
        if len(value) > max_len:
            raise _Bad(f"must be at most {max_len} characters")
        return value
    return conv


def email(value: Any) -> Any:
    value = text(255)(value)
    if value not in (None, "") and not EMAIL_RE.match(value):
        raise _Bad("is not a valid e-mail address")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("must be true or false")
    return value


def enum(choices: tuple[str, ...], *, optional: bool = False) -> Callable[[Any], Any]:
    def conv(value: Any) -> Any:
        if value is None and optional:
            return None
        if value not in choices:
            raise _Bad("must be one of " + ", ".join(choices))
        return value
    return conv


def decimal_text(places: int, *, minimum: Decimal | None = None) -> Callable[[Any], str]:
    """Money and quantities travel as decimal strings ("125.00") so no float rounding creeps in."""
    quantum = Decimal(1).scaleb(-places)

    def conv(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise _Bad("must be a decimal number written as a string, e.g. \"12.50\"")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise _Bad("must be a decimal number, e.g. \"12.50\"") from None
        if not number.is_finite():
            raise _Bad("must be a finite number")
        if number != number.quantize(quantum, rounding=ROUND_HALF_UP):
            raise _Bad(f"must have at most {places} decimal places")
        if minimum is not None and number < minimum:
            raise _Bad(f"must be at least {minimum}")
        if abs(number) >= Decimal("1e12"):
            raise _Bad("is too large")
        return format_decimal(number, places)
    return conv


def format_decimal(number: Decimal, places: int) -> str:
    if places == 2:
        return str(number.quantize(CENT, rounding=ROUND_HALF_UP))
    out = format(number.quantize(Decimal(1).scaleb(-places)), "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


money = decimal_text(2)
quantity = decimal_text(4, minimum=Decimal(0))
_percent_places = decimal_text(3, minimum=Decimal(0))


def percent(value: Any) -> str:
    """A rate or a discount in percent, 0..100 with up to three decimals ("9.975")."""
    out = _percent_places(value)
    if Decimal(out) > 100:
        raise _Bad("must be at most 100")
    return out


def optional(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else conv(value)


def flag(default: bool) -> Callable[[Any], bool]:
    """A boolean that may be left out (``None`` → ``default``)."""
    def conv(value: Any) -> bool:
        return default if value is None else boolean(value)
    return conv


def discount(value: Any) -> Any:
    """``null``, ``{"kind": "percent", "value": "10"}`` or ``{"kind": "amount", "value": "25.00"}``."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"kind", "value"}:
        raise _Bad('must be null or an object {"kind": "percent" | "amount", "value": "..."}')
    kind = enum(DISCOUNT_KINDS)(value["kind"])
    amount = percent(value["value"]) if kind == "percent" else decimal_text(2, minimum=Decimal(0))(value["value"])
    return {"kind": kind, "value": amount}


def tax_choice(value: Any) -> Any:
    """``null`` (no tax) or ``{"rate_id": "tx_1"}``: the server copies the rate's name and percent in."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"rate_id"}:
        raise _Bad('must be null or {"rate_id": "<a tax rate id>"}')
    return {"rate_id": required_ref(value["rate_id"])}


def iso_date(*, required: bool = False) -> Callable[[Any], Any]:
    def conv(value: Any) -> Any:
        if value is None:
            if required:
                raise _Bad("is required")
            return None
        if not isinstance(value, str) or len(value) != 10:
            raise _Bad("must be a date written YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise _Bad("must be a date written YYYY-MM-DD") from None
        return value
    return conv


def address(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad("must be an object with line1, line2, city, state, postal_code, country")
    unknown = sorted(set(value) - set(ADDRESS_FIELDS))
    if unknown:
        raise _Bad("has unknown parts: " + ", ".join(unknown))
    out = {}
    for part, limit in ADDRESS_FIELDS.items():
        try:
            out[part] = text(limit)(value.get(part))
        except _Bad as exc:
            raise _Bad(f"{part} {exc}") from None
    return out


def ref(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _Bad("must be a record id (a string)")
    return value


def required_ref(value: Any) -> str:
    if value is None:
        raise _Bad("is required")
    return ref(value)


# -- nested lists ---------------------------------------------------------------------------------

def _list_of(fields: dict[str, Callable[[Any], Any]], *, min_items: int = 1) -> Callable[[Any], Any]:
    def conv(value: Any) -> Any:
        if not isinstance(value, list) or len(value) < min_items:
            raise _Bad(f"must be a list with at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
        out = []
        for n, entry in enumerate(value):
            if not isinstance(entry, dict):
                raise _Bad(f"entry {n} must be an object")
            unknown = sorted(set(entry) - set(fields) - {"amount", "id", "discount_amount", "net_amount"})
            if unknown:
                raise _Bad(f"entry {n} has unknown fields: " + ", ".join(unknown))
            item = {}
            for name, field_conv in fields.items():
                try:
                    item[name] = field_conv(entry.get(name))
                except _Bad as exc:
                    raise _Bad(f"entry {n}: {name} {exc}") from None
            if "id" in entry:
                item["id"] = entry["id"]
            out.append(item)
        return out
    return conv


INVOICE_LINE = {"item_id": required_ref, "description": text(4000), "quantity": quantity, "unit_price": money,
                "taxable": flag(False), "discount": discount}
CREDIT_LINE = {"item_id": required_ref, "description": text(4000), "quantity": quantity, "unit_price": money,
               "taxable": flag(False)}
CONTRACTOR_LINE = {"concept": text(100, required=True), "description": text(4000), "amount": money}
CONTRACT = {"title": text(255, required=True), "start_date": iso_date(required=True), "end_date": iso_date(),
            "status": enum(CONTRACT_STATUSES, optional=True)}  # None → "active"


# -- schemas: field → (converter, required on create, writable through the public API) -------------

FIELDS: dict[str, dict[str, tuple[Callable[[Any], Any], bool]]] = {
    "clients": {
        "name": (text(255, required=True), True),
        "first_name": (text(100), False),
        "last_name": (text(100), False),
        "company_name": (text(255), False),
        "email": (email, False),
        "phone": (text(50), False),
        "billing_address": (address, False),
        "active": (boolean, False),
        "tax_exempt": (boolean, False),
    },
    "sites": {
        "client_id": (required_ref, True),
        "name": (text(255, required=True), True),
        "address": (address, False),
        "active": (boolean, False),
        "tax_rate_id": (ref, False),
    },
    "items": {
        "name": (text(255, required=True), True),
        "description": (text(4000), False),
        "unit_price": (money, True),
        "kind": (enum(ITEM_KINDS), True),
        "active": (boolean, False),
    },
    "invoices": {
        "number": (text(50, required=True), True),
        "client_id": (required_ref, True),
        "site_id": (ref, False),
        "issue_date": (iso_date(required=True), True),
        "due_date": (iso_date(), False),
        "status": (enum(INVOICE_STATUSES), True),
        "lines": (_list_of(INVOICE_LINE), True),
        "notes": (text(4000), False),
        "tax": (tax_choice, False),
        "discount": (discount, False),
        "terms": (text(50), False),
    },
    "payments": {
        "invoice_id": (required_ref, True),
        "client_id": (required_ref, True),
        "amount": (decimal_text(2, minimum=CENT), True),
        "date": (iso_date(required=True), True),
        "method": (enum(PAYMENT_METHODS), True),
        "reference": (text(100), False),
        "status": (enum(RECORD_STATUSES), False),
    },
    "contractors": {
        "name": (text(255, required=True), True),
        "email": (email, False),
        "phone": (text(50), False),
        "company_name": (text(255), False),
        "contracts": (_list_of(CONTRACT, min_items=0), False),
    },
    "contractor-invoices": {
        "contractor_id": (required_ref, True),
        "contract_id": (required_ref, True),
        "number": (text(50, required=True), True),
        "date": (iso_date(required=True), True),
        "due_date": (iso_date(), False),
        "lines": (_list_of(CONTRACTOR_LINE), True),
        "status": (enum(CONTRACTOR_INVOICE_STATUSES), True),
    },
    "invoice-concepts": {
        "name": (text(100, required=True), True),
        "description": (text(4000), False),
    },
    "company": {
        "name": (text(255, required=True), True),
        "default_state": (text(50), False),
        "default_country": (text(100), False),
        "currency": (text(3, required=True), True),
    },
    "tax-rates": {
        "name": (text(100, required=True), True),
        "percent": (percent, True),
        "active": (boolean, False),
    },
    "credit-notes": {
        "number": (text(50, required=True), True),
        "client_id": (required_ref, True),
        "invoice_id": (ref, False),
        "date": (iso_date(required=True), True),
        "lines": (_list_of(CREDIT_LINE, min_items=0), False),
        "tax": (tax_choice, False),
        "amount": (optional(decimal_text(2, minimum=CENT)), False),  # required when there are no lines
        "status": (enum(RECORD_STATUSES), False),
        "notes": (text(4000), False),
    },
    "refunds": {
        "client_id": (required_ref, True),
        "payment_id": (ref, False),
        "credit_note_id": (ref, False),
        "amount": (decimal_text(2, minimum=CENT), True),
        "date": (iso_date(required=True), True),
        "method": (enum(PAYMENT_METHODS), True),
        "reference": (text(100), False),
        "status": (enum(RECORD_STATUSES), False),
    },
}

#: Fields computed by the server; present in responses, refused in requests.
COMPUTED = {"invoices": ("total", "subtotal", "discount_amount", "balance"), "contractor-invoices": ("total",),
            "credit-notes": ("subtotal",)}
#: Computed when a record is read (it depends on other records), never stored.
READ_TIME = {"invoices": ("balance",)}
DEFAULTS: dict[str, dict[str, Any]] = {
    "clients": {"active": True, "tax_exempt": False},
    "sites": {"active": True, "tax_rate_id": None},
    "items": {"active": True, "description": None},
    "invoices": {"status": "draft", "notes": None, "site_id": None, "due_date": None, "tax": None,
                 "discount": None, "terms": None},
    "payments": {"reference": None, "status": "active"},
    "tax-rates": {"active": True},
    "credit-notes": {"invoice_id": None, "lines": [], "tax": None, "status": "active", "notes": None},
    "refunds": {"payment_id": None, "credit_note_id": None, "reference": None, "status": "active"},
    "contractors": {"contracts": []},
    "contractor-invoices": {"status": "submitted", "due_date": None},
}


def validate(resource: str, body: Any, *, creating: bool) -> dict[str, Any]:
    """Check a create (all required fields) or a patch (only the fields sent). Raises ``ApiError(400)``."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    spec = FIELDS[resource]
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name in body:
        if name in READ_ONLY or name in COMPUTED.get(resource, ()):
            errors[name] = "is read-only"
        elif name not in spec:
            errors[name] = "is not a field of this record"
    for name, (conv, required) in spec.items():
        if name in body:
            try:
                out[name] = conv(body[name])
            except _Bad as exc:
                errors[name] = str(exc)
        elif creating and required:
            errors[name] = "is required"
    if errors:
        first = next(iter(errors.items()))
        raise ApiError(400, "validation_failed", f"The field '{first[0]}' {first[1]}.", {"fields": errors})
    if creating:
        out = {**{k: None for k in spec}, **DEFAULTS.get(resource, {}), **out}
    return out


def upgrade(resource: str, data: dict[str, Any]) -> dict[str, Any]:
    """A record stored before a field existed reads with that field's default (and its amounts computed)."""
    if FIELDS.get(resource, {}).keys() <= data.keys():
        return data
    return compute(resource, with_defaults(resource, data))


def with_defaults(resource: str, data: dict[str, Any]) -> dict[str, Any]:
    """Every field present: the missing ones get their default (or null)."""
    data = {**{k: None for k in FIELDS.get(resource, {})}, **DEFAULTS.get(resource, {}), **data}
    if resource == "invoices":
        data["lines"] = [{"taxable": False, "discount": None, **line} for line in data["lines"]]
    elif resource == "credit-notes":
        data["lines"] = [{"taxable": False, **line} for line in data["lines"] or []]
    return data


def compute(resource: str, data: dict[str, Any]) -> dict[str, Any]:
    """Fill in the server-computed fields (line amounts, discounts, tax, totals): see :mod:`.amounts`."""
    try:
        if resource == "invoices":
            compute_invoice(data)
        elif resource == "credit-notes":
            if not data.get("lines") and data.get("amount") is None:
                raise AmountError("A credit note needs lines or an amount.", "amount")
            if not data.get("lines") and data.get("tax"):
                raise AmountError("A credit note without lines cannot carry tax: give its lines.", "tax")
            compute_credit_note(data)
    except AmountError as exc:
        raise ApiError(422, "unprocessable", str(exc), {"field": exc.field}) from None
    if resource == "contractor-invoices":
        data["total"] = str(sum((Decimal(line["amount"]) for line in data["lines"]), Decimal(0)).quantize(CENT))
    return data


def check_references(resource: str, data: dict[str, Any], lookup: Lookup, before: dict[str, Any] | None) -> None:
    """Business rules that need other records. Raises ``ApiError(422)``."""

    def need(kind: str, record_id: str | None, field: str) -> dict[str, Any] | None:
        if record_id is None:
            return None
        found = lookup(kind, record_id)
        if found is None:
            raise ApiError(422, "unprocessable", f"The field '{field}' refers to {record_id}, which does not exist.",
                           {"field": field, "id": record_id})
        return found

    if resource == "sites":
        if before is not None and data["client_id"] != before["client_id"]:
            raise ApiError(422, "unprocessable", "A site cannot be moved to another client.", {"field": "client_id"})
        need("clients", data["client_id"], "client_id")
        need("tax-rates", data.get("tax_rate_id"), "tax_rate_id")
    elif resource in ("invoices", "credit-notes"):
        word = "invoice" if resource == "invoices" else "credit note"
        if before is not None and before["status"] == "void":
            raise ApiError(422, "unprocessable", f"A void {word} cannot be changed.", {"field": "status"})
        client = need("clients", data["client_id"], "client_id")
        if resource == "invoices":
            site = need("sites", data.get("site_id"), "site_id")
            if site is not None and site["client_id"] != data["client_id"]:
                raise ApiError(422, "unprocessable", "The site belongs to another client.", {"field": "site_id"})
        else:
            invoice = need("invoices", data.get("invoice_id"), "invoice_id")
            if invoice is not None and invoice["client_id"] != data["client_id"]:
                raise ApiError(422, "unprocessable", "The invoice belongs to another client.", {"field": "invoice_id"})
            moved = before is None or before.get("invoice_id") != data.get("invoice_id")
            if invoice is not None and moved and invoice["status"] in ("void", "draft"):
                raise ApiError(422, "unprocessable", f"A credit cannot be applied to a {invoice['status']} invoice.",
                               {"field": "invoice_id"})
        for line in data["lines"]:
            need("items", line["item_id"], "lines.item_id")
        tax = data.get("tax")
        if tax:
            need("tax-rates", tax["rate_id"], "tax.rate_id")
            if client is not None and client.get("tax_exempt") and (before is None or before.get("tax") != tax):
                raise ApiError(422, "unprocessable", f"The client is tax-exempt: this {word} cannot carry tax.",
                               {"field": "tax"})
    elif resource == "refunds":
        if (data.get("payment_id") is None) == (data.get("credit_note_id") is None):
            raise ApiError(422, "unprocessable", "A refund is paid back against either a payment or a credit note.",
                           {"field": "payment_id"})
        if before is not None and before["status"] == "void":
            raise ApiError(422, "unprocessable", "A void refund cannot be changed.", {"field": "status"})
        need("clients", data["client_id"], "client_id")
        for kind, field in (("payments", "payment_id"), ("credit-notes", "credit_note_id")):
            source = need(kind, data.get(field), field)
            if source is not None and source["client_id"] != data["client_id"]:
                raise ApiError(422, "unprocessable", f"The {field[:-3].replace('_', ' ')} belongs to another client.",
                               {"field": field})
            if source is not None and source["status"] == "void":
                raise ApiError(422, "unprocessable", f"A void {field[:-3].replace('_', ' ')} cannot be refunded.",
                               {"field": field})
    elif resource == "payments":
        if before is not None and before.get("status") == "void":
            raise ApiError(422, "unprocessable", "A void payment cannot be changed.", {"field": "status"})
        invoice = need("invoices", data["invoice_id"], "invoice_id")
        need("clients", data["client_id"], "client_id")
        if invoice is not None and invoice["client_id"] != data["client_id"]:
            raise ApiError(422, "unprocessable", "The invoice belongs to another client.", {"field": "invoice_id"})
        moved = before is None or before["invoice_id"] != data["invoice_id"]
        if invoice is not None and moved and invoice["status"] in ("void", "draft"):
            raise ApiError(422, "unprocessable", f"A {invoice['status']} invoice cannot take a payment.",
                           {"field": "invoice_id"})
    elif resource == "contractor-invoices":
        contractor = need("contractors", data["contractor_id"], "contractor_id")
        if contractor is not None and data["contract_id"] not in {c["id"] for c in contractor["contracts"]}:
            raise ApiError(422, "unprocessable", "The contract does not belong to this contractor.",
                           {"field": "contract_id"})
