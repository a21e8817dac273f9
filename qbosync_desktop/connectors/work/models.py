"""Typed Work records, one dataclass per resource of the Work API v1 (docs/work-api.md).

Records are frozen: the engine compares what it read with what it writes back, and a record mutated in
place would make that comparison lie. Money and quantities are ``Decimal`` (they travel as decimal
strings, so ``Amount = Qty × UnitPrice`` holds to the cent when the invoice reaches QuickBooks); dates
are ``date``; timestamps are timezone-aware ``datetime`` in UTC.

Every top-level record has ``id`` (an opaque string), ``version`` (bumped on every change; send it
back as ``If-Match``), ``created_at`` and ``updated_at``. Nested parts (an address, an invoice line,
a contract) belong to their record and share its version.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

from qbosync_desktop.core.money import round_cents

R = TypeVar("R", bound="Record")


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 with ``Z`` → aware UTC datetime (``fromisoformat`` in 3.10 does not take ``Z``)."""
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_timestamp(value: datetime) -> str:
    """Aware datetime → ``2024-05-01T12:00:00.000000Z`` (the form ``updated_since`` expects)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None




def _dec(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"not an amount: {value!r}")
    try:
        parsed = Decimal(str(value))
    except ArithmeticError:  # decimal.InvalidOperation: "12,50", "abc"
        raise ValueError(f"not an amount: {value!r}") from None
    if not parsed.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return parsed


def _flag(value: Any, default: bool) -> bool:
    """A true/false field (absent or null: ``default``). Anything else is refused, never guessed: Python's
    ``bool("no")`` is True, so a client whose ``active`` came as "no" would have been sent as active."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"not true or false: {value!r}")
    return value


def _req(data: dict[str, Any], key: str) -> Any:
    """A field Work must send: absent or null is a ``KeyError`` naming it (a record without it is unreadable)."""
    value = data.get(key)
    if value is None or value == "":
        raise KeyError(key)
    return value


def _enum(value: Any, allowed: tuple[str, ...]) -> str:
    """A status Work documents; an unknown one is refused (the sync cannot know what it means)."""
    if value not in allowed:
        raise ValueError(f"unknown value {value!r} (expected one of {', '.join(allowed)})")
    return str(value)


INVOICE_STATUSES = ("draft", "sent", "paid", "void")
RECORD_STATUSES = ("active", "void")  # payments, credit notes, refunds
CONTRACTOR_INVOICE_STATUSES = ("draft", "submitted", "approved", "paid", "rejected")


@dataclass(frozen=True)
class Address:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Address | None:
        if data is None:
            return None
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})

    def to_api(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def is_empty(self) -> bool:
        return not any(dataclasses.astuple(self))


@dataclass(frozen=True)
class Record:
    """Fields every Work record has."""

    id: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def _base(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": data["id"], "version": int(data["version"]),
                "created_at": parse_timestamp(data["created_at"]), "updated_at": parse_timestamp(data["updated_at"])}

    @classmethod
    def from_api(cls: type[R], data: dict[str, Any]) -> R:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Company(Record):
    name: str
    default_state: str | None
    default_country: str | None
    currency: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Company:
        return cls(**cls._base(data), name=data["name"], default_state=data.get("default_state"),
                   default_country=data.get("default_country"), currency=data.get("currency") or "USD")


@dataclass(frozen=True)
class Client(Record):
    name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    phone: str | None
    billing_address: Address | None
    active: bool
    tax_exempt: bool = False  # never charged sales tax (e.g. a school or a charity)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Client:
        return cls(**cls._base(data), name=data["name"], first_name=data.get("first_name"),
                   last_name=data.get("last_name"), company_name=data.get("company_name"), email=data.get("email"),
                   phone=data.get("phone"), billing_address=Address.from_api(data.get("billing_address")),
                   active=_flag(data.get("active"), True), tax_exempt=_flag(data.get("tax_exempt"), False))


@dataclass(frozen=True)
class Site(Record):
    client_id: str
    name: str
    address: Address | None
    active: bool
    tax_rate_id: str | None = None  # the tax rate charged for work at this site

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Site:
        return cls(**cls._base(data), client_id=data["client_id"], name=data["name"],
                   address=Address.from_api(data.get("address")), active=_flag(data.get("active"), True),
                   tax_rate_id=data.get("tax_rate_id"))


@dataclass(frozen=True)
class Item(Record):
    name: str
    description: str | None
    unit_price: Decimal
    kind: str  # "service" | "product"
    active: bool

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Item:
        return cls(**cls._base(data), name=data["name"], description=data.get("description"),
                   unit_price=_dec(data.get("unit_price")), kind=data.get("kind") or "service",
                   active=_flag(data.get("active"), True))


@dataclass(frozen=True)
class Discount:
    """``kind`` "percent" (``value`` 0..100, up to three decimals) or "amount" (``value`` in money)."""

    kind: str
    value: Decimal

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Discount | None:
        return cls(kind=data["kind"], value=_dec(data["value"])) if data else None


@dataclass(frozen=True)
class InvoiceTax:
    """The tax Work charged: the rate as it was when charged, the base and the amount (rounded once)."""

    rate_id: str
    name: str
    percent: Decimal  # e.g. Decimal("9.975")
    taxable_amount: Decimal
    amount: Decimal

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> InvoiceTax | None:
        if not data:
            return None
        return cls(rate_id=data["rate_id"], name=data["name"], percent=_dec(data["percent"]),
                   taxable_amount=_dec(data.get("taxable_amount")), amount=_dec(data.get("amount")))


@dataclass(frozen=True)
class InvoiceLine:
    item_id: str
    description: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # quantity × unit_price rounded half up to the cent, computed by Work (before discounts)
    taxable: bool = False
    discount: Discount | None = None
    discount_amount: Decimal = Decimal(0)
    net_amount: Decimal | None = None  # amount − discount_amount; None only when built by hand

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> InvoiceLine:
        quantity, price = _dec(data.get("quantity")), _dec(data.get("unit_price"))
        amount = _dec(data["amount"]) if data.get("amount") is not None else round_cents(quantity * price)
        off = _dec(data.get("discount_amount"))
        net = _dec(data["net_amount"]) if data.get("net_amount") is not None else amount - off
        return cls(item_id=data["item_id"], description=data.get("description"), quantity=quantity,
                   unit_price=price, amount=amount, taxable=_flag(data.get("taxable"), False),
                   discount=Discount.from_api(data.get("discount")), discount_amount=off, net_amount=net)


@dataclass(frozen=True)
class Invoice(Record):
    number: str
    client_id: str
    site_id: str | None
    issue_date: date
    due_date: date | None
    status: str  # "draft" | "sent" | "paid" | "void"
    lines: tuple[InvoiceLine, ...]
    notes: str | None
    total: Decimal  # what the client was billed: subtotal − discount_amount + tax amount
    subtotal: Decimal = Decimal(0)  # Σ line net_amount
    discount: Discount | None = None  # the invoice-level discount, before tax
    discount_amount: Decimal = Decimal(0)
    tax: InvoiceTax | None = None  # None: no tax charged (no rate, or a tax-exempt client)
    terms: str | None = None  # e.g. "Net 30"
    balance: Decimal | None = None  # total − active payments − active credits applied; 0 when void

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Invoice:
        lines = tuple(InvoiceLine.from_api(line) for line in data.get("lines") or [])
        subtotal = (_dec(data["subtotal"]) if data.get("subtotal") is not None
                    else sum((ln.amount if ln.net_amount is None else ln.net_amount for ln in lines), Decimal(0)))
        tax = InvoiceTax.from_api(data.get("tax"))
        off = _dec(data.get("discount_amount"))
        total = _dec(data["total"]) if data.get("total") is not None else subtotal - off + (tax.amount if tax else 0)
        return cls(**cls._base(data), number=_req(data, "number"), client_id=_req(data, "client_id"),
                   site_id=data.get("site_id"), issue_date=date.fromisoformat(_req(data, "issue_date")), due_date=_date(data.get("due_date")),
                   status=_enum(data["status"], INVOICE_STATUSES), lines=lines, notes=data.get("notes"),
                   total=total, subtotal=subtotal,
                   discount=Discount.from_api(data.get("discount")), discount_amount=off, tax=tax,
                   terms=data.get("terms"), balance=_dec(data["balance"]) if data.get("balance") is not None else None)


@dataclass(frozen=True)
class Payment(Record):
    invoice_id: str
    client_id: str
    amount: Decimal
    date: date
    method: str
    reference: str | None
    status: str = "active"  # "active" | "void" (a voided payment no longer counts)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Payment:
        return cls(**cls._base(data), invoice_id=_req(data, "invoice_id"), client_id=_req(data, "client_id"),
                   amount=_dec(_req(data, "amount")), date=date.fromisoformat(_req(data, "date")), method=data.get("method") or "other",
                   reference=data.get("reference"), status=_enum(data.get("status") or "active", RECORD_STATUSES))

    @property
    def is_void(self) -> bool:
        return self.status == "void"


@dataclass(frozen=True)
class TaxRate(Record):
    name: str
    percent: Decimal  # up to three decimals, e.g. Decimal("9.975")
    active: bool

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> TaxRate:
        return cls(**cls._base(data), name=data["name"], percent=_dec(data["percent"]),
                   active=_flag(data.get("active"), True))


@dataclass(frozen=True)
class CreditNoteLine:
    item_id: str
    description: str | None
    quantity: Decimal
    unit_price: Decimal
    taxable: bool
    amount: Decimal  # quantity × unit_price rounded half up to the cent

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> CreditNoteLine:
        quantity, price = _dec(data.get("quantity")), _dec(data.get("unit_price"))
        amount = _dec(data["amount"]) if data.get("amount") is not None else round_cents(quantity * price)
        return cls(item_id=data["item_id"], description=data.get("description"), quantity=quantity,
                   unit_price=price, taxable=_flag(data.get("taxable"), False), amount=amount)


@dataclass(frozen=True)
class CreditNote(Record):
    """A credit to a client; with ``invoice_id`` its whole ``amount`` is applied to that invoice."""

    number: str
    client_id: str
    invoice_id: str | None
    date: date
    lines: tuple[CreditNoteLine, ...]  # empty: a plain amount
    tax: InvoiceTax | None
    subtotal: Decimal
    amount: Decimal  # the credit: subtotal + tax amount
    status: str  # "active" | "void"
    notes: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> CreditNote:
        lines = tuple(CreditNoteLine.from_api(line) for line in data.get("lines") or [])
        amount = _dec(data["amount"])
        return cls(**cls._base(data), number=data["number"], client_id=data["client_id"],
                   invoice_id=data.get("invoice_id"), date=date.fromisoformat(data["date"]), lines=lines,
                   tax=InvoiceTax.from_api(data.get("tax")),
                   subtotal=_dec(data["subtotal"]) if data.get("subtotal") is not None else amount, amount=amount,
                   status=data.get("status") or "active", notes=data.get("notes"))


@dataclass(frozen=True)
class Refund(Record):
    """Money paid back to a client against one payment or one (unapplied) credit note."""

    client_id: str
    payment_id: str | None
    credit_note_id: str | None
    amount: Decimal
    date: date
    method: str
    reference: str | None
    status: str  # "active" | "void"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Refund:
        return cls(**cls._base(data), client_id=data["client_id"], payment_id=data.get("payment_id"),
                   credit_note_id=data.get("credit_note_id"), amount=_dec(data["amount"]),
                   date=date.fromisoformat(data["date"]), method=data.get("method") or "other",
                   reference=data.get("reference"), status=data.get("status") or "active")


@dataclass(frozen=True)
class Contract:
    id: str
    title: str
    start_date: date
    end_date: date | None
    status: str  # "active" | "ended" | "cancelled"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Contract:
        return cls(id=data["id"], title=data["title"], start_date=date.fromisoformat(data["start_date"]),
                   end_date=_date(data.get("end_date")), status=data.get("status") or "active")


@dataclass(frozen=True)
class Contractor(Record):
    name: str
    email: str | None
    phone: str | None
    company_name: str | None
    contracts: tuple[Contract, ...]

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Contractor:
        return cls(**cls._base(data), name=data["name"], email=data.get("email"), phone=data.get("phone"),
                   company_name=data.get("company_name"),
                   contracts=tuple(Contract.from_api(c) for c in data.get("contracts") or []))

    @property
    def has_contract(self) -> bool:
        """QBO vendors are created "according to the contracts existing" (seed 004): any contract counts."""
        return bool(self.contracts)


@dataclass(frozen=True)
class ContractorInvoiceLine:
    concept: str
    description: str | None
    amount: Decimal

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ContractorInvoiceLine:
        return cls(concept=data["concept"], description=data.get("description"), amount=_dec(data["amount"]))


@dataclass(frozen=True)
class ContractorInvoice(Record):
    contractor_id: str
    contract_id: str
    number: str
    date: _dt.date
    due_date: _dt.date | None
    lines: tuple[ContractorInvoiceLine, ...]
    status: str  # "draft" | "submitted" | "approved" | "paid" | "rejected"
    total: Decimal

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ContractorInvoice:
        lines = tuple(ContractorInvoiceLine.from_api(line) for line in data.get("lines") or [])
        total = _dec(data["total"]) if data.get("total") is not None else sum((ln.amount for ln in lines), Decimal(0))
        return cls(**cls._base(data), contractor_id=_req(data, "contractor_id"), contract_id=_req(data, "contract_id"),
                   number=_req(data, "number"), date=date.fromisoformat(_req(data, "date")), due_date=_date(data.get("due_date")),
                   lines=lines, status=_enum(data["status"], CONTRACTOR_INVOICE_STATUSES), total=total)


@dataclass(frozen=True)
class Concept(Record):
    name: str
    description: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Concept:
        return cls(**cls._base(data), name=data["name"], description=data.get("description"))


# -- records that do not parse (issue 16: one bad record never stops a sync) ----------------------------

#: keys whose value is a date, a timestamp, or money/quantity, checked by :func:`find_bad_field`
_TIMESTAMP_KEYS = ("created_at", "updated_at")
_MONEY_KEYS = ("amount", "total", "subtotal", "balance", "unit_price", "quantity", "percent", "value",
               "discount_amount", "taxable_amount", "net_amount")
_FLAG_KEYS = ("active", "tax_exempt", "taxable")
_ENUMS: dict[str, tuple[str, ...]] = {"Invoice": INVOICE_STATUSES, "Payment": RECORD_STATUSES,
                                      "ContractorInvoice": CONTRACTOR_INVOICE_STATUSES}


def _check_value(key: str, value: Any) -> str | None:
    """Why ``value`` is not readable as field ``key`` (None: it is)."""
    if value is None:
        return None
    try:
        if key in _TIMESTAMP_KEYS:
            parse_timestamp(value)
        elif key.endswith("date"):
            if not isinstance(value, str):
                return "not a date"
            date.fromisoformat(value)
        elif key in _MONEY_KEYS:
            _dec(value)
        elif key == "version":
            int(value)
        elif key in _FLAG_KEYS:
            _flag(value, False)
        elif key == "lines" and not isinstance(value, list):
            return "not a list of lines"
    except (TypeError, ValueError, AttributeError) as exc:
        return str(exc) or type(exc).__name__
    return None


def find_bad_field(model: type[Record], data: Any, exc: BaseException) -> tuple[str, Any, str]:
    """Which field of ``data`` made ``model.from_api`` fail with ``exc``: ``(field, value, reason)``.

    Dates, timestamps, money and statuses are checked by name (top level, then each line); a missing
    required field shows as the ``KeyError`` it raised. ``("record", ..., ...)`` when nothing is found.
    """
    if not isinstance(data, dict):
        return "record", data, "not an object"
    allowed = _ENUMS.get(model.__name__)
    if allowed is not None and "status" in data and data["status"] not in allowed:
        return "status", data["status"], f"unknown status (Work documents {', '.join(allowed)})"
    for key, value in data.items():
        reason = _check_value(key, value)
        if reason is not None:
            return key, value, reason
    for key in ("lines", "contracts"):
        for i, part in enumerate(data.get(key) or [] if isinstance(data.get(key), list) else []):
            if not isinstance(part, dict):
                return f"{key}[{i + 1}]", part, "not an object"
            for sub, value in part.items():
                reason = _check_value(sub, value)
                if reason is not None:
                    return f"{key}[{i + 1}].{sub}", value, reason
            if isinstance(exc, KeyError) and exc.args and exc.args[0] not in part and exc.args[0] not in data:
                return f"{key}[{i + 1}].{exc.args[0]}", None, "missing (Work must send it)"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0]), data.get(exc.args[0]), "missing (Work must send it)"
    for key in ADDRESS_FIELDS:  # an address that is not an object (text, a number)
        value = data.get(key)
        if value is not None and not isinstance(value, dict):
            return key, value, "not an address (Work sends an address as an object)"
    return "record", None, f"{type(exc).__name__}: {exc}"


#: the fields Work sends as an address object
ADDRESS_FIELDS = ("address", "billing_address")


@dataclass(frozen=True)
class Unreadable:
    """One record in a Work list that did not parse: what the sync reports instead of stopping."""

    resource: str  # "invoices"
    id: str | None
    number: str | None  # the number a person knows it by (invoices, credit notes), when readable
    name: str | None
    version: int | None
    updated_at: datetime | None
    field: str
    value: Any
    reason: str

    @classmethod
    def of(cls, resource: str, model: type[Record], data: Any, exc: BaseException) -> Unreadable:
        field, value, reason = find_bad_field(model, data, exc)
        raw = data if isinstance(data, dict) else {}

        def text(key: str) -> str | None:
            v = raw.get(key)
            return str(v) if isinstance(v, (str, int)) and not isinstance(v, bool) else None

        try:
            version: int | None = int(raw["version"])
        except (KeyError, TypeError, ValueError):
            version = None
        try:
            updated: datetime | None = parse_timestamp(raw["updated_at"])
        except (KeyError, TypeError, ValueError, AttributeError):
            updated = None
        return cls(resource, text("id"), text("number"), text("name"), version, updated, field, value, reason)
