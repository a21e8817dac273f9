"""QuickBooks faults: parse the three shapes, map codes to the app's errors with plain language.

Why defensive parsing (QBO_API_NOTES.md "Errors"): the API answers faults as an upper-case JSON
``Fault`` (sometimes with HTTP 200, and inside batch items), the API gateway answers 401s with a
lower-case ``fault``, and throttling has been seen as XML. A fault we fail to recognise would surface
as a cryptic error or, worse, as a "success" with no object, so every shape is parsed here, once.

Why a table: each code gets a class from :mod:`qbosync_desktop.core.errors` (which decides whether the
run goes on, retries or stops) and words a small-business admin can act on; the QuickBooks code,
Detail, element and ``intuit_tid`` go to ``details`` for the Details button and for support. The
table is what ``docs/qbo-connector.md`` documents and what the table-driven test walks.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qbosync_desktop.core import errors

_ERROR_CODE_IN_TEXT = re.compile(r"errorCode=0*(\d+)")


@dataclass(frozen=True)
class FaultError:
    """One ``Error`` entry of a fault."""

    code: str | None
    message: str
    detail: str
    element: str | None = None


@dataclass(frozen=True)
class Fault:
    """A parsed fault. ``shape`` is ``"json"``, ``"gateway"`` (lower-case) or ``"xml"``."""

    type: str | None
    errors: tuple[FaultError, ...]
    shape: str

    @property
    def first(self) -> FaultError:
        return self.errors[0] if self.errors else FaultError(None, "", "")

    @property
    def code(self) -> str | None:
        return self.first.code


def _norm_code(code: object, *texts: str) -> str | None:
    """``"006240"`` and ``6240`` both become ``"6240"``; a code only present as ``errorCode=003200``
    inside the message (the gateway does that) is recovered from the text."""
    if code not in (None, ""):
        text = str(code).strip()
        return (text.lstrip("0") or "0") if text.isdigit() else text
    for t in texts:
        m = _ERROR_CODE_IN_TEXT.search(t or "")
        if m:
            return m.group(1)
    return None


def _from_json_errors(items: Any, upper: bool) -> tuple[FaultError, ...]:
    msg_k, det_k, err_code = ("Message", "Detail", "code") if upper else ("message", "detail", "code")
    out = []
    for item in items if isinstance(items, list) else [items]:
        if not isinstance(item, Mapping):
            continue
        # Accept either casing for each key: the shapes are documented loosely and vary by gateway.
        message = str(item.get(msg_k) or item.get(msg_k.lower()) or item.get(msg_k.capitalize()) or "")
        detail = str(item.get(det_k) or item.get(det_k.lower()) or item.get(det_k.capitalize()) or "")
        code = item.get(err_code, item.get("Code"))
        element = item.get("element") or item.get("Element") or None
        out.append(FaultError(_norm_code(code, message, detail), message, detail, element))
    return tuple(out)


def fault_in_payload(payload: Any) -> Fault | None:
    """The fault inside a decoded JSON object (a response body or a batch item), if there is one."""
    if not isinstance(payload, Mapping):
        return None
    if isinstance(payload.get("Fault"), Mapping):
        f = payload["Fault"]
        return Fault(f.get("type"), _from_json_errors(f.get("Error", []), upper=True), "json")
    if isinstance(payload.get("fault"), Mapping):
        f = payload["fault"]
        return Fault(f.get("type"), _from_json_errors(f.get("error", f.get("Error", [])), upper=False), "gateway")
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(text: str) -> Fault | None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    fault_el = root if _local(root.tag) == "Fault" else next((e for e in root.iter() if _local(e.tag) == "Fault"), None)
    if fault_el is None:
        return None
    errs = []
    for el in fault_el:
        if _local(el.tag) != "Error":
            continue
        parts = {_local(c.tag): (c.text or "").strip() for c in el}
        message, detail = parts.get("Message", ""), parts.get("Detail", "")
        errs.append(FaultError(_norm_code(el.get("code"), message, detail), message, detail, el.get("element") or None))
    return Fault(fault_el.get("type"), tuple(errs), "xml")


def parse_fault(body: bytes | str | Mapping[str, Any] | None) -> Fault | None:
    """Any of the three shapes from a raw body (or an already-decoded object); None if not a fault."""
    if body is None:
        return None
    if isinstance(body, Mapping):
        return fault_in_payload(body)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return fault_in_payload(json.loads(stripped))
        except ValueError:
            return None
    if stripped.startswith("<"):
        return _parse_xml(stripped)
    return None


# --------------------------------------------------------------------------------------------------
# Code → error mapping


@dataclass(frozen=True)
class Rule:
    """How one QuickBooks code reaches a person. ``message`` gets the context (see :func:`_ctx`)."""

    cls: type[errors.QboSyncError]
    message: Callable[[dict[str, str]], str]
    title: str | None = None
    hint: str | None = None


def _called(c: dict[str, str]) -> str:
    return f" called '{c['name']}'" if c.get("name") else " with this name"


def _field(c: dict[str, str]) -> str:
    return f"the field '{c['element']}'" if c.get("element") else "a field"


def _detail_sentence(c: dict[str, str]) -> str:
    return f" QuickBooks said: {c['detail']}" if c.get("detail") else ""


RULES: dict[str, Rule] = {
    "610": Rule(
        errors.InvalidReference,
        lambda c: f"This {c['thing']} refers to a record that QuickBooks cannot find, or that was made inactive.",
    ),
    "620": Rule(
        errors.CannotLinkTransaction,
        lambda c: "QuickBooks could not apply this payment to its invoice. "
        "The invoice may belong to another customer, be voided, or be paid already.",
    ),
    "2020": Rule(
        errors.QboValidationError,
        lambda c: f"QuickBooks needs {_field(c)} filled in for this {c['thing']}.",
        title="Required information is missing",
        hint="Fill in the missing information in Work, then press Retry.",
    ),
    "2040": Rule(
        errors.QboValidationError,
        lambda c: f"{_field(c).capitalize()} contains a character QuickBooks does not allow "
        "(a colon, tab or line break in a name).",
        title="A name has a character QuickBooks does not allow",
        hint="Remove the colon, tab or line break from the name in Work, then press Retry.",
    ),
    "2050": Rule(
        errors.QboValidationError,
        lambda c: f"{_field(c).capitalize()} is too long or too short for QuickBooks.",
        title="A value is too long for QuickBooks",
        hint="Shorten the value in Work (customer names up to 500 characters, item names 100, "
        "invoice numbers 21), then press Retry.",
    ),
    "2500": Rule(
        errors.InvalidReference,
        lambda c: f"This {c['thing']} points to a record that does not exist in QuickBooks.",
    ),
    "3001": Rule(
        errors.Throttled,
        lambda c: "QuickBooks received too many requests from this app in a short time.",
    ),
    "3100": Rule(
        errors.NeedsReconnect,
        lambda c: "QuickBooks no longer lets the connected user work with this company. "
        "Usually the person who connected the app is no longer a Master Admin or Company Admin.",
        hint="Ask the company's Master Admin or a Company Admin to press Reconnect and sign in to QuickBooks.",
    ),
    "3200": Rule(
        errors.NeedsReconnect,
        lambda c: "QuickBooks did not accept this app's sign-in for the company any more.",
    ),
    "4000": Rule(
        errors.QueryError,
        lambda c: "QuickBooks could not read a search the app sent it." + _detail_sentence(c),
    ),
    "5010": Rule(
        errors.StaleObject,
        lambda c: f"Someone changed this {c['thing']} in QuickBooks after the app last read it.",
    ),
    "6000": Rule(
        errors.QboValidationError,
        lambda c: f"QuickBooks did not accept this {c['thing']}." + _detail_sentence(c),
    ),
    "6070": Rule(
        errors.QboValidationError,
        lambda c: "A line's amount is not its quantity times its price, and QuickBooks requires that.",
        title="A line amount does not add up",
        hint="Correct the quantity, price or amount of the line in Work, then press Retry.",
    ),
    "6090": Rule(
        errors.QboValidationError,
        lambda c: f"A discount on this {c['thing']} has neither an amount nor a percent, and QuickBooks needs one.",
        title="A discount is incomplete",
        hint="Give the discount an amount or a percent in Work, then press Retry.",
    ),
    "6100": Rule(
        errors.QboValidationError,
        lambda c: f"A line of this {c['thing']} has a tax code that QuickBooks does not accept here: "
        "in a US company a line can only be taxable (TAX) or not taxable (NON).",
        title="A line's tax code is not accepted",
        hint="Check the tax settings in Sync Settings, then press Retry.",
    ),
    "6140": Rule(
        errors.DuplicateDocNumber,
        lambda c: "QuickBooks already has a transaction numbered "
        + (f"'{c['doc_number']}'." if c.get("doc_number") else "with this number."),
    ),
    "6150": Rule(
        errors.QboValidationError,
        lambda c: "This sub-customer (site) needs its parent customer in QuickBooks first.",
        title="The site's parent customer is missing",
        hint="Sync the client the site belongs to first, then press Retry.",
    ),
    "6190": Rule(
        errors.SubscriptionLapsed,
        lambda c: "The QuickBooks Online subscription for this company has ended or is suspended, "
        "so QuickBooks does not accept changes.",
    ),
    "6210": Rule(
        errors.PeriodClosed,
        lambda c: f"The date of this {c['thing']} is in a period that is closed in QuickBooks.",
    ),
    "6240": Rule(
        errors.DuplicateName,
        lambda c: f"QuickBooks already has a customer or vendor{_called(c)}.",
    ),
}


#: How an entity is named in a sentence ("this credit memo"); others are their lower-cased name.
THINGS = {"": "record", "CreditMemo": "credit memo", "RefundReceipt": "refund", "Term": "payment term",
          "TaxCode": "tax code", "TaxRate": "tax rate"}


def _ctx(fe: FaultError, context: Mapping[str, Any] | None) -> dict[str, str]:
    c = {k: str(v) for k, v in (context or {}).items() if v not in (None, "")}
    entity = c.get("entity", "")
    c.setdefault("thing", THINGS.get(entity, entity.lower() or "record"))
    c.setdefault("element", fe.element or "")
    c.setdefault("detail", fe.detail or fe.message)
    return c


def _by_status(status: int | None, fault: Fault | None) -> type[errors.QboSyncError]:
    """The class for a code we have no rule for: decided by the HTTP status and the fault type."""
    if status == 401:
        return errors.NeedsReconnect
    if status == 403:
        return errors.PermissionDenied
    if status == 429:
        return errors.Throttled
    if status is not None and status >= 500:
        return errors.ServerError
    ftype = (fault.type or "").lower() if fault else ""
    if "validation" in ftype:
        return errors.QboValidationError
    return errors.QuickBooksError


def error_for_fault(
    fault: Fault | None,
    *,
    status: int | None = None,
    intuit_tid: str | None = None,
    retry_after: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> errors.QboSyncError:
    """The app error for a fault (or for a bare HTTP status when the body was not a fault).

    ``context`` carries what we know about the record being written - ``entity``, ``name`` (its
    DisplayName/Name), ``doc_number`` - so the message can say *which* name is taken.
    """
    fe = fault.first if fault else FaultError(None, "", "")
    rule = RULES.get(fe.code or "")
    c = _ctx(fe, context)
    tech = {
        "code": fe.code,
        "element": fe.element,
        "detail": fe.detail,
        "message": fe.message,
        "fault_type": fault.type if fault else None,
        "intuit_tid": intuit_tid,
        "http_status": status,
    }
    if rule is not None:
        cls, message, title, hint = rule.cls, rule.message(c), rule.title, rule.hint
    else:
        cls = _by_status(status, fault)
        title = hint = None
        if cls is errors.ServerError:
            message = "QuickBooks had a temporary problem answering the request."
        elif cls is errors.Throttled:
            message = RULES["3001"].message(c)
        elif fault is not None and (fe.detail or fe.message):
            message = f"QuickBooks did not accept this {c['thing']}: {fe.detail or fe.message}"
        else:
            message = f"QuickBooks answered with an unexpected error (HTTP {status})."
    if issubclass(cls, errors.QuickBooksError):
        kwargs: dict[str, Any] = {}
        if cls is errors.Throttled:
            kwargs["retry_after"] = retry_after
        extra = {k: v for k, v in tech.items() if k not in ("code", "element", "detail", "intuit_tid", "http_status")}
        return cls(
            message,
            code=fe.code,
            element=fe.element,
            intuit_tid=intuit_tid,
            status=status,
            detail=fe.detail or fe.message or None,
            title=title,
            hint=hint,
            details=extra,
            **kwargs,
        )
    return cls(message, title=title, hint=hint, details=tech)


def error_for_response(
    status: int,
    body: bytes | str | None,
    *,
    intuit_tid: str | None = None,
    retry_after: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> errors.QboSyncError:
    """The app error for a failed HTTP response, whatever shape its body has."""
    return error_for_fault(
        parse_fault(body), status=status, intuit_tid=intuit_tid, retry_after=retry_after, context=context
    )
