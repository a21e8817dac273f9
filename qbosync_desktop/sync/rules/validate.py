"""Validate before sending (issue 16, part 2): every value is cleaned or refused before QuickBooks sees it.

Pure Python: no store, no network. Every outbound flow runs through it in the plan loop
(:meth:`qbosync_desktop.sync.flows.outbound.OutboundFlow.plan_record`):

1. :func:`clean_record` - the Work record's text, before anything is derived from it (its label, its
   QuickBooks body, its DisplayName): control characters, bidi overrides and invisible zero-width
   characters are removed (:func:`clean_text`). Nothing a person can see changes; what a person
   cannot see cannot sneak into the books (a right-to-left override that makes "Ann Lee" print
   backwards, a zero-width space that makes two names look the same but differ).
2. :func:`fit` - free text that is longer than QuickBooks keeps (line descriptions, notes, an item's
   description) is shortened to Intuit's limit, ending in "…" so it shows it was shortened. No
   identifier is ever shortened: a shortened name, number or e-mail could be someone else's.
3. :func:`vet` - what is left is refused with exactly one plain-language problem that names the record,
   the field and the value (shown safely), and says what to change in Work: a field longer than
   Intuit allows, an invalid e-mail address, an absurd amount or date, a zero or negative payment, a
   form without lines.

docs/sync-engine.md "Validate before sending" is the table of every field with its rule, the
decision (cleaned or refused), why, and Intuit's source; :mod:`qbosync_desktop.core.qbo_limits` holds
Intuit's numbers, shared with the practice QuickBooks server.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from qbosync_desktop.connectors.work.models import Record
from qbosync_desktop.core.errors import QboValidationError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.core.qbo_limits import AMOUNT_LIMIT, LENGTHS, values_at

# -- 1. characters ----------------------------------------------------------------------------------

#: Bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder how text is
#: shown, so "Ann Lee" can print as something else. Removed everywhere.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
#: Invisible characters that only ever hide something: zero-width space, word joiner, the byte-order
#: mark. Removed everywhere.
INVISIBLE = frozenset({"\u200b", "\u2060", "\ufeff"})
#: Zero-width non-joiner and joiner: real spelling in Persian and Indic scripts and in emoji sequences
#: (👨‍👩‍👧), so kept between two non-ASCII, non-space characters; removed anywhere else (next to a
#: Latin letter, a space or an edge they only make two names look alike).
JOINERS = frozenset({"\u200c", "\u200d"})
#: Line breaks and tabs are text (a multi-line description); every other C0/C1 control and DEL is not.
KEPT_CONTROLS = frozenset({"\t", "\n", "\r"})


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in KEPT_CONTROLS


def _joins(text: str, i: int) -> bool:
    """True when the joiner at ``text[i]`` sits between two non-ASCII, non-space characters that are
    not joiners themselves."""
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    return all(c and ord(c) > 0x7F and not c.isspace() and c not in JOINERS for c in (before, after))


def clean_text(text: str) -> str:
    """``text`` without control characters (NUL, BEL, ESC, DEL, C1 - tabs and line breaks stay), bidi
    overrides and isolates, and invisible zero-width characters (joiners stay where they join two
    letters of a script or an emoji sequence).

    Joiners are judged once the other characters are gone: in "\\u200b\\u200d\\u202e" the joiner
    sits between two non-ASCII characters, but both are removed, and a lone joiner joins nothing (the
    hostile-data corpus met it: a client named only that reached QuickBooks as a lone "\\u200d")."""
    if text.isascii() and text.isprintable():
        return text
    rest = "".join(ch for ch in text if not (_is_control(ch) or ch in BIDI_CONTROLS or ch in INVISIBLE))
    return "".join(ch for i, ch in enumerate(rest) if ch not in JOINERS or _joins(rest, i))


#: Work record fields that are identifiers or codes, never text: left exactly as Work sent them (a
#: concept name is matched against the concept mappings in Sync Settings).
NOT_TEXT = frozenset({"id", "status", "kind", "method", "concept", "version", "currency", "rate_id"})


def _clean_value(value: object, removed: list[str], where: str) -> object:
    if isinstance(value, str):
        cleaned = clean_text(value)
        if cleaned != value:
            removed.append(where)
        return cleaned
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _clean_dataclass(value, removed, where)
    if isinstance(value, tuple):
        return tuple(_clean_value(v, removed, f"{where} {n}") for n, v in enumerate(value, 1))
    if isinstance(value, list):
        return [_clean_value(v, removed, f"{where} {n}") for n, v in enumerate(value, 1)]
    return value


def _clean_dataclass(obj: object, removed: list[str], where: str = "") -> object:
    changes: dict[str, object] = {}
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        if f.name in NOT_TEXT or f.name.endswith("_id") or not f.init:
            continue
        value = getattr(obj, f.name)
        label = f"{where} {f.name.replace('_', ' ')}".strip()
        new = _clean_value(value, removed, label)
        if new is not value and new != value:
            changes[f.name] = new
    return dataclasses.replace(obj, **changes) if changes else obj  # type: ignore[type-var]


R = TypeVar("R", bound=Record)


#: Any character :func:`clean_text` may remove (joiners included: they are then looked at closely).
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\u202a-\u202e"
                      "\u2066-\u2069\ufeff]")


def _dirty(value: object) -> bool:
    """True when some text in ``value`` (a record, its lines, its address) has a character to look at.
    One walk without recursion and one search over all the texts: it runs for every record planned."""
    texts: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            texts.append(v)
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        else:
            attrs = getattr(v, "__dict__", None)
            if attrs is not None and dataclasses.is_dataclass(v):
                stack.extend(attrs.values())
    return _SUSPECT.search("\n".join(texts)) is not None


def clean_record(rec: R) -> tuple[R, list[str]]:
    """The record with every text field cleaned (:func:`clean_text`), and the fields that changed
    ("name", "lines 2 description"). The same record always cleans the same way, so its fingerprint
    is stable and an unchanged record is never sent again."""
    if not _dirty(rec):  # the common case, cheap: a 50,000-invoice company must not pay for the walk
        return rec, []
    removed: list[str] = []
    cleaned = _clean_dataclass(rec, removed)
    return cleaned, removed  # type: ignore[return-value]


def shown(value: object, limit: int = 60, *, count: bool = True) -> str:
    """A value as a problem may show it: quoted, invisible characters written as ``\\u200b``, and a
    long value cut to its start (with its length, unless ``count`` is False)."""
    text = str(value)
    safe = "".join(
        f"\\u{ord(ch):04x}" if (_is_control(ch) or ch in BIDI_CONTROLS or ch in INVISIBLE or ch in JOINERS
                               or ch in KEPT_CONTROLS) else ch
        for ch in text[:limit])
    if len(text) > limit:
        return f"“{safe}…”" + (f" ({len(text):,} characters)" if count else "")
    return f"“{safe}”"


# -- 2. free text that is shortened -------------------------------------------------------------------

#: QuickBooks fields that are free text and shortened to Intuit's limit (anything else too long is refused).
SHORTENED = frozenset({"Line.Description", "PrivateNote", "CustomerMemo.value", "Description"})
ELLIPSIS = "…"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def fit(entity: str, body: JsonObject) -> tuple[JsonObject, list[str]]:
    """``body`` with its free text (:data:`SHORTENED`) cut to Intuit's limits, and what was cut."""
    limits = LENGTHS.get(entity, {})
    notes: list[str] = []
    out = body
    for path in sorted(SHORTENED & set(limits)):
        limit = limits[path]
        if not any(isinstance(v, str) and len(v) > limit for v in values_at(body, path)):
            continue
        if out is body:
            out = _copy(body)
        head, _, key = path.rpartition(".")
        holders = [out] if not head else [h for h in _holders(out, head)]
        for holder in holders:
            value = holder.get(key)
            if isinstance(value, str) and len(value) > limit:
                holder[key] = _shorten(value, limit)
                notes.append(f"{WORDS.get(path, path)} shortened to {limit:,} characters")
    return out, notes


def _copy(body: JsonObject) -> JsonObject:
    out: JsonObject = {}
    for k, v in body.items():
        if isinstance(v, dict):
            out[k] = _copy(v)
        elif isinstance(v, list):
            out[k] = [_copy(x) if isinstance(x, dict) else x for x in v]
        else:
            out[k] = v
    return out


def _holders(body: JsonObject, head: str) -> list[JsonObject]:
    found: list[object] = [body]
    for key in head.split("."):
        nxt: list[object] = []
        for value in found:
            inner = value.get(key) if isinstance(value, dict) else None
            if isinstance(inner, list):
                nxt.extend(x for x in inner if isinstance(x, dict))
            elif isinstance(inner, dict):
                nxt.append(inner)
        found = nxt
    return [h for h in found if isinstance(h, dict)]


# -- 3. what is refused -------------------------------------------------------------------------------

#: What a person calls each QuickBooks field in Work.
WORDS: dict[str, str] = {
    "DisplayName": "name", "Name": "name", "GivenName": "first name", "MiddleName": "middle name",
    "FamilyName": "last name", "CompanyName": "company name", "PrimaryEmailAddr.Address": "e-mail address",
    "PrimaryPhone.FreeFormNumber": "phone number", "Mobile.FreeFormNumber": "mobile number",
    "Fax.FreeFormNumber": "fax number", "AlternatePhone.FreeFormNumber": "other phone number",
    **{f"{a}.{p}": f"{'billing' if a == 'BillAddr' else 'shipping'} address {w}"
       for a in ("BillAddr", "ShipAddr") for p, w in (
           ("Line1", "line 1"), ("Line2", "line 2"), ("Line3", "line 3"), ("Line4", "line 4"),
           ("Line5", "line 5"), ("City", "city"), ("Country", "country"),
           ("CountrySubDivisionCode", "state or province"), ("PostalCode", "postal code"))},
    "Description": "description", "DocNumber": "number", "PrivateNote": "notes",
    "CustomerMemo.value": "message to the customer", "Line.Description": "line description",
    "PaymentRefNum": "reference", "TxnDate": "date", "DueDate": "due date",
}

#: Fields whose length another rule already checks with its own problem (names.check_name for names,
#: flows.base.doc_number_problem for numbers): not repeated here.
OWN_RULES = frozenset({"DisplayName", "Name", "DocNumber"})
#: The Work kinds named by their name in a problem ("the client “Ann Lee”"), and the word used.
NAMED = {"client": "client", "vendor": "contractor", "item": "item", "site": "site"}
#: Dates accepted: from 1900-01-01 to this many years after today. Outside, it is a typing mistake
#: (9999-12-31, 1026 for 2026) that would sit in QuickBooks' reports for good.
EARLIEST = _dt.date(1900, 1, 1)
YEARS_AHEAD = 5

# A conservative RFC 5322 "addr-spec" for one address: no spaces, quotes, commas or brackets; one @;
# a domain with a dot and no empty label; at most Intuit's 100 characters.
_LOCAL = r"[^\s@\"(),:;<>\[\]\\]+"
_LABEL = r"[^\s@\"(),:;<>\[\]\\.]+"
EMAIL_RE = re.compile(rf"^{_LOCAL}@{_LABEL}(\.{_LABEL})+$")


def who(kind: str, label: str) -> str:
    """How a problem names the record: "the client “Ann Lee”", "the invoice INV-1001"."""
    if kind in NAMED:
        return f"the {NAMED[kind]} “{label}”"
    return f"the {label[:1].lower()}{label[1:]}" if label else f"the {kind.replace('_', ' ')}"


def email_problem(address: str) -> str | None:
    """Why ``address`` is not one valid e-mail address (None when it is)."""
    if not address:
        return None
    if "@" not in address:
        return "it has no @"
    if any(sep in address for sep in (",", ";", " ")):
        return "it holds more than one address, or a space"
    if not EMAIL_RE.match(address):
        return "it is not in the form name@example.com"
    local, _, domain = address.rpartition("@")
    if local.startswith(".") or local.endswith(".") or ".." in address:
        return "it has a misplaced dot"
    if len(domain.rsplit(".", 1)[-1]) < 2:
        return "its domain does not end in a real ending (like .com)"
    return None


def _problem(kind: str, label: str, message: str, *, title: str, todo: str, rule: str,
             field: str, value: object, **details: object) -> QboValidationError:
    subject = who(kind, label)
    return QboValidationError(
        f"{subject[:1].upper()}{subject[1:]} {message} It was not sent to QuickBooks; everything else syncs.",
        title=title,
        hint=f"Open {subject} in Work, {todo} and save; it syncs by itself.",
        details={"rule": rule, "field": field, "value": shown(value, 200), **details},
    )


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _fmt(value: Decimal) -> str:
    return f"{value:,.2f}"


#: Work kinds whose amount must be above zero, and the word for what to do instead.
POSITIVE = {
    "payment": ("payment", "void the payment (money paid back to a client is a refund)"),
    "refund": ("refund", "correct its amount, or void the refund"),
    "credit_note": ("credit note", "correct its lines, or void the credit note"),
}


def _lengths(kind: str, entity: str, label: str, body: JsonObject) -> QboValidationError | None:
    for path, limit in LENGTHS.get(entity, {}).items():
        if path in OWN_RULES or path in SHORTENED:
            continue
        for value in values_at(body, path):
            text = str(value)
            if len(text) > limit:
                word = WORDS.get(path, path)
                return _problem(
                    kind, label, f"has a {word} of {len(text):,} characters ({shown(text, count=False)}); QuickBooks "
                    f"allows at most {limit:,}.",
                    title=f"{word[:1].upper()}{word[1:]} too long for QuickBooks",
                    todo=f"shorten its {word} to {limit:,} characters or fewer",
                    rule=f"{path} at most {limit} characters (Intuit)", field=path, value=text, code="2050",
                    limit=limit, length=len(text))
    return None


def _emails(kind: str, entity: str, label: str, body: JsonObject) -> QboValidationError | None:
    if entity not in ("Customer", "Vendor"):
        return None
    for value in values_at(body, "PrimaryEmailAddr.Address"):
        why = email_problem(str(value))
        if why is not None:
            return _problem(
                kind, label, f"has the e-mail address {shown(value)}, which is not a valid address: {why}. "
                "QuickBooks needs one address such as name@example.com.",
                title="E-mail address not valid", todo="correct its e-mail address (one address only)",
                rule="one valid e-mail address (Intuit: must contain @ and .)", field="PrimaryEmailAddr.Address",
                value=value)
    return None


def _dates(kind: str, label: str, body: JsonObject, today: _dt.date) -> QboValidationError | None:
    latest = today.replace(year=today.year + YEARS_AHEAD) if not (today.month == 2 and today.day == 29) \
        else today.replace(year=today.year + YEARS_AHEAD, day=28)
    for path in ("TxnDate", "DueDate"):
        raw = body.get(path)
        if not raw:
            continue
        try:
            day = _dt.date.fromisoformat(str(raw)[:10])
        except ValueError:
            day = None
        if day is not None and EARLIEST <= day <= latest:
            continue
        word = WORDS[path]
        if day is not None and day < EARLIEST:
            why = f"before {EARLIEST:%Y}"
        elif day is not None:
            why = f"more than {YEARS_AHEAD} years from today ({today.isoformat()})"
        else:
            why = "not a date"
        return _problem(
            kind, label, f"has the {word} {shown(raw)}, {why}: most likely a typing mistake, and QuickBooks would "
            "keep it in its reports for good.",
            title=f"{word[:1].upper()}{word[1:]} out of range", todo=f"correct its {word}",
            rule=f"dates from {EARLIEST.isoformat()} to {YEARS_AHEAD} years after today", field=path, value=raw)
    return None


def _amounts(kind: str, entity: str, label: str, body: JsonObject) -> QboValidationError | None:
    figures: list[tuple[str, object]] = [("amount", v) for v in values_at(body, "TotalAmt")]
    figures += [(f"line {n} amount", line.get("Amount")) for n, line in enumerate(body.get("Line") or [], 1)
                if isinstance(line, dict) and line.get("Amount") is not None]
    figures += [("unit price", v) for v in values_at(body, "Line.SalesItemLineDetail.UnitPrice")]
    figures += [("price", v) for v in values_at(body, "UnitPrice")]
    figures += [("tax", v) for v in values_at(body, "TxnTaxDetail.TotalTax")]
    total = _lines_total(body)
    if total is not None:
        figures.append(("total", total))
    for word, raw in figures:
        value = _amount(raw)
        if value is None or abs(value) < AMOUNT_LIMIT:
            continue
        return _problem(
            kind, label, f"has a {word} of {_fmt(value)}. QuickBooks holds amounts below {_fmt(AMOUNT_LIMIT)} "
            "only (at most ten digits before the decimal point): this is most likely a typing mistake.",
            title="Amount too large for QuickBooks", todo=f"correct the {word}",
            rule=f"every amount below {AMOUNT_LIMIT:,} (Intuit: 15 digits in 10.5 format)", field=word,
            value=str(raw))
    if kind in POSITIVE:
        what, todo = POSITIVE[kind]
        amount = _amount(body.get("TotalAmt")) if "TotalAmt" in body else total
        if amount is not None and amount <= 0:
            zero = amount == 0
            return _problem(
                kind, label, f"is {'for 0.00' if zero else f'negative ({_fmt(amount)})'}: a {what} "
                f"{'of nothing records no money' if zero else 'cannot take money the other way'}, and QuickBooks "
                "would not hold it as Work means it.",
                title=f"{'Zero' if zero else 'Negative'} {what}", todo=todo,
                rule=f"a {what} is above zero", field="amount", value=_fmt(amount))
    if kind == "bill" and total is not None and total < 0:
        return _problem(
            kind, label, f"has a negative total ({_fmt(total)}). A bill is money owed to the contractor; "
            "QuickBooks does not hold a negative one.",
            title="Negative contractor invoice", todo="correct its lines (a refund from the contractor is "
            "not a contractor invoice)", rule="a bill total is never negative", field="total", value=_fmt(total))
    return None


def _lines_total(body: JsonObject) -> Decimal | None:
    """The form's total from its lines: item and expense lines, less the discount line, plus tax."""
    lines = body.get("Line")
    if not isinstance(lines, list) or "TotalAmt" in body:
        return None
    total = Decimal(0)
    for line in lines:
        if not isinstance(line, dict):
            continue
        amount = _amount(line.get("Amount")) or Decimal(0)
        total += -amount if line.get("DetailType") == "DiscountLineDetail" else amount
    tax = _amount((body.get("TxnTaxDetail") or {}).get("TotalTax")) if isinstance(body.get("TxnTaxDetail"), dict) else None
    return total + (tax or Decimal(0))


#: QuickBooks forms that need at least one line ("An invoice must have at least one Line").
NEEDS_LINES = frozenset({"Invoice", "Bill", "CreditMemo", "RefundReceipt"})


def vet(kind: str, entity: str, label: str, body: JsonObject, *, today: _dt.date) -> QboValidationError | None:
    """The one problem that keeps ``body`` from QuickBooks, or None: a form without lines, a field longer
    than Intuit allows, an invalid e-mail address, a date or amount out of range, a zero or negative
    payment, refund or credit note. ``kind`` is the Work kind ("invoice") and ``label`` what a person
    knows the record by ("Invoice INV-1001")."""
    if entity in NEEDS_LINES and not body.get("Line"):
        return _problem(kind, label, "has no lines, and QuickBooks needs at least one line on it.",
                        title="No lines", todo="add its lines (or void it if it was made by mistake)",
                        rule="a form has at least one line (Intuit)", field="Line", value="")
    return (_lengths(kind, entity, label, body) or _emails(kind, entity, label, body)
            or _dates(kind, label, body, today) or _amounts(kind, entity, label, body))

