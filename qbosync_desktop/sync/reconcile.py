"""Reconcile: compare every linked record in Work and in QuickBooks, read-only (issue 15, part 1).

Why: a synced invoice someone deleted in QuickBooks, an amount a bookkeeper changed, a payment
removed, a customer made inactive - none of these reach the sync (it only pushes what changed in
Work), so the books drift apart silently. Reconcile reads both sides and lists every difference as
one row in plain words with what to do.

How it reads (and what it costs):

* Work: the full lists of the kinds that have links (paged by the Work API, no QuickBooks cost).
* QuickBooks: for each entity, the linked ids in batches - ``SELECT * FROM Invoice WHERE Id IN (...)
  STARTPOSITION 1 MAXRESULTS 1000`` - never one GET per record. Name lists add ``Active IN (true,
  false)`` so inactive names are seen. An id the query does not return no longer exists.
* CDC: only when something is missing, one ``/cdc`` request over the last 29 days for the entities
  with missing records, to say that QuickBooks deleted them (not split when capped at 1000 objects).
* Every request goes through the QuickBooks client, so the shared rate limiter keeps it within the
  throttle; :attr:`Report.requests` counts them.

Nothing here writes. The safe fixes (:func:`apply_fix`) only change our own store (links, problems,
the audit log); "recreate" marks the record so the *next sync* writes it through the outbox, exactly
once, like any other write.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from qbosync_desktop.connectors.qbo.query import Select, in_list
from qbosync_desktop.core.errors import ConfigurationError, QboSyncError
from qbosync_desktop.core.money import cents
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync import audit, problems, undo_apply
from qbosync_desktop.sync.clients.fields import qbo_values
from qbosync_desktop.sync.flows.base import stamp
from qbosync_desktop.sync.flows.refunds import MAX_REF

#: The JSON shape's version (``qbosync reconcile --json``); bumped only on an incompatible change.
SCHEMA_VERSION = 1
#: ids per ``Id IN (...)`` query (the query travels in the POST body; QBO pages at 1000 rows)
BATCH = 1000
#: Link kind → (QBO entity, is a name list, what a person calls it)
ENTITIES: dict[str, tuple[str, bool, str]] = {
    "client": ("Customer", True, "Customer"),
    "site": ("Customer", True, "Site (sub-customer)"),
    "item": ("Item", True, "Item"),
    "vendor": ("Vendor", True, "Vendor"),
    "invoice": ("Invoice", False, "Invoice"),
    "payment": ("Payment", False, "Payment"),
    "bill": ("Bill", False, "Bill"),
    "credit_note": ("CreditMemo", False, "Credit note"),
    #: the zero Payment that applies a credit memo to its invoice (sync/flows/credits.py)
    "credit_application": ("Payment", False, "Credit note applied"),
    "refund": ("RefundReceipt", False, "Refund"),
}
#: kinds whose Work record can be voided; a voided one's QuickBooks form is deleted by the sync, so
#: there is nothing to compare
VOIDABLE = ("credit_note", "credit_application", "refund")
ACTIONS = ("recreate", "relink", "accept", "ignore")
#: where a link keeps what reconcile was told (inside ``Link.synced``, next to other areas' keys)
ACCEPTED = "reconcile_accepted"
IGNORED = "reconcile_ignored"


@dataclass
class Difference:
    """One row: one thing that differs for one linked record, in plain words."""

    id: str
    kind: str
    work_id: str
    qbo_id: str
    label: str
    #: missing | inactive | total | balance | tax | customer | date | number | payment_applied | vendor
    check: str
    message: str
    what_to_do: str
    work_value: str | None
    qbo_value: str | None
    actions: list[str]
    #: another QuickBooks record that looks like this one (same number), offered for "relink"
    candidate_qbo_id: str | None = None
    #: when the record's Work version last changed (the next sync re-reads it from there)
    work_updated_at: str | None = field(default=None, repr=False)
    #: the candidate's SyncToken (what the link keeps after "relink")
    candidate_sync_token: str | None = field(default=None, repr=False)
    #: linked records that hang on this one and are written again with it (kind, work id, when its
    #: Work version last changed): a missing invoice's payments and credit applications
    dependents: list[tuple[str, str, str | None]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for internal in ("work_updated_at", "candidate_sync_token", "dependents"):
            data.pop(internal, None)
        return data


@dataclass
class Report:
    differences: list[Difference] = field(default_factory=list)
    #: linked records compared per kind
    checked: dict[str, int] = field(default_factory=dict)
    invoices_per_month: list[dict[str, Any]] = field(default_factory=list)
    open_balance_per_customer: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    ignored: int = 0
    started_at: str = ""

    @property
    def in_step(self) -> bool:
        return not self.differences

    def row(self, row_id: str) -> Difference | None:
        return next((d for d in self.differences if d.id == row_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "in_step": self.in_step,
            "started_at": self.started_at,
            "checked": dict(sorted(self.checked.items())),
            "differences": [d.to_json() for d in self.differences],
            "ignored": self.ignored,
            "totals": {"invoices_per_month": self.invoices_per_month,
                       "open_balance_per_customer": self.open_balance_per_customer},
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
        }


# -- helpers -------------------------------------------------------------------------------------------
def _date(value: Any) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    return str(value or "")[:10]


def _ref(obj: dict[str, Any], name: str) -> str:
    return str((obj.get(name) or {}).get("value") or "")


def _stamp(value: Any) -> str | None:
    return stamp(value)


def _chunks(ids: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def read_linked(qbo: Any, entity: str, ids: Iterable[str], *, names: bool) -> dict[str, dict[str, Any]]:
    """The QuickBooks records with these ids, read with batched ``Id IN (...)`` queries (paged)."""
    found: dict[str, dict[str, Any]] = {}
    unique = sorted({str(i) for i in ids if i})
    for chunk in _chunks(unique, BATCH):
        where = in_list("Id", chunk)
        if names:
            where += " AND Active IN (true, false)"
        # one request per chunk: at most BATCH ids, so one page of MAXRESULTS 1000 holds them all
        body = qbo.query_raw(Select(entity).where_raw(where).order_by("Id").page(1, BATCH))
        for row in (body.get("QueryResponse") or {}).get(entity) or []:
            found[str(row.get("Id"))] = row
    return found


class _Builder:
    """Collects rows, skipping what the person accepted or ignored for that link."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def add(self, link: Link, label: str, check: str, message: str, what_to_do: str, *,
            work_value: Any = None, qbo_value: Any = None, actions: list[str], candidate: str | None = None,
            work_updated_at: str | None = None) -> None:
        synced = link.synced or {}
        qv = None if qbo_value is None else str(qbo_value)
        wv = None if work_value is None else str(work_value)
        if check in (synced.get(IGNORED) or {}):
            self.report.ignored += 1
            return
        accepted = synced.get(ACCEPTED) or {}
        if check in accepted and accepted[check] == qv:
            return
        self.report.differences.append(Difference(
            id=f"{link.kind}-{link.work_id}-{check}", kind=link.kind, work_id=link.work_id, qbo_id=link.qbo_id,
            label=label, check=check, message=message, what_to_do=what_to_do, work_value=wv, qbo_value=qv,
            actions=actions, candidate_qbo_id=candidate, work_updated_at=work_updated_at))


# -- the check -------------------------------------------------------------------------------------------
def _work_lists(work: Any, kinds: set[str]) -> dict[str, dict[str, Any]]:
    readers: dict[str, Callable[[], Iterable[Any]]] = {
        "client": work.clients, "site": work.sites, "item": work.items, "invoice": work.invoices,
        "payment": work.payments, "vendor": work.contractors, "bill": work.contractor_invoices,
        "credit_note": work.credit_notes, "refund": work.refunds,
    }
    out: dict[str, dict[str, Any]] = {}
    wanted = kinds | ({"invoice"} if kinds & {"payment", "credit_note", "credit_application"} else set())
    if "credit_application" in wanted:
        wanted = (wanted - {"credit_application"}) | {"credit_note"}
    for kind in wanted:
        out[kind] = {str(r.id): r for r in readers[kind]()}
    if "credit_note" in out:  # one read of Work's credit notes serves both kinds
        out["credit_application"] = out["credit_note"]
    return out


def run(qbo: Any, work: Any, *, now: _dt.datetime | None = None) -> Report:
    """Compare every linked record. Read-only: nothing is written anywhere."""
    started = time.monotonic()
    before = int(getattr(getattr(qbo, "stats", None), "requests", 0))
    report = Report(started_at=(now or utcnow()).replace(microsecond=0).isoformat() + "Z")
    links: dict[str, list[Link]] = defaultdict(list)
    for link in Link.select().order_by(Link.kind, Link.id):
        if link.kind in ENTITIES:
            links[link.kind].append(link)
    work_recs = _work_lists(work, set(links))
    qbo_recs: dict[str, dict[str, dict[str, Any]]] = {}
    by_entity: dict[str, set[str]] = defaultdict(set)
    for kind, kind_links in links.items():
        by_entity[ENTITIES[kind][0]].update(lk.qbo_id for lk in kind_links)
    for entity, ids in sorted(by_entity.items()):
        names = entity in ("Customer", "Item", "Vendor")
        qbo_recs[entity] = read_linked(qbo, entity, ids, names=names)

    b = _Builder(report)
    link_of = {kind: {lk.work_id: lk for lk in kind_links} for kind, kind_links in links.items()}
    # how a payment (or credit) is applied is compared only with invoices QuickBooks still has: one
    # deleted there let go of its payments, and its own "missing" row covers them (re-creating it
    # applies them again)
    present = qbo_recs.get("Invoice", {})
    applied_to = {**link_of, "invoice": {w: lk for w, lk in link_of.get("invoice", {}).items() if lk.qbo_id in present}}
    missing: list[tuple[Link, str, Any]] = []
    # Work invoice ids with a payment (or credit) difference: the payment's row explains their balance
    # (its own invoice's, and that of any other invoice QuickBooks applies it to instead)
    payments_off: set[str] = set()
    invoice_of_qbo = {lk.qbo_id: lk.work_id for lk in links.get("invoice", [])}
    credits_off: set[str] = set()  # Work credit note ids whose credit memo is missing
    paid_by_invoice: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))  # linked payments only
    for pid, pay in work_recs.get("payment", {}).items():
        if pid in link_of.get("payment", {}):
            paid_by_invoice[str(pay.invoice_id)] += cents(pay.amount)

    # payments and credits before invoices: their rows explain an invoice's balance
    order = ("client", "site", "item", "vendor", "payment", "credit_note", "credit_application", "refund",
             "invoice", "bill")
    for kind in order:
        entity, is_name, noun = ENTITIES[kind]
        report.checked[kind] = len(links.get(kind, []))
        for link in links.get(kind, []):
            rec = work_recs.get(kind, {}).get(link.work_id)
            q = qbo_recs[entity].get(link.qbo_id)
            if kind in VOIDABLE and rec is not None and (rec.status == "void" or (
                    kind == "credit_application" and (not rec.invoice_id or str(rec.id) in credits_off))):
                # voided: the sync deletes (or deleted) its QuickBooks form; an application of a
                # missing credit memo: the credit note's own row explains it (re-creating the memo
                # applies it again)
                continue
            label = _label(kind, rec, link)
            upd = _stamp(getattr(rec, "updated_at", None)) if rec is not None else None
            if rec is None:
                b.add(link, label, "missing_in_work",
                      f"{label} is linked, but it is no longer in Work.",
                      "Check Work. If it was removed there on purpose, ignore this row with a reason.",
                      qbo_value=link.qbo_id, actions=["ignore"])
                continue
            if q is None:
                missing.append((link, label, rec))
                if kind == "payment":
                    payments_off.add(str(rec.invoice_id))
                if kind in ("credit_note", "credit_application") and rec.invoice_id:
                    payments_off.add(str(rec.invoice_id))
                    credits_off.add(str(rec.id))
                continue
            if is_name:
                _compare_name(b, link, label, rec, q, noun, upd)
            elif kind == "invoice":
                _compare_invoice(b, link, label, rec, q, link_of, paid_by_invoice, payments_off, upd)
            elif kind == "payment":
                if _compare_payment(b, link, label, rec, q, applied_to, upd):
                    payments_off.add(str(rec.invoice_id))
                    payments_off.update(_linked_invoices(q, invoice_of_qbo))
            elif kind == "bill":
                _compare_bill(b, link, label, rec, q, link_of, upd)
            elif kind == "credit_note":
                if _compare_credit(b, link, label, rec, q, link_of, upd) and rec.invoice_id:
                    payments_off.add(str(rec.invoice_id))
            elif kind == "credit_application":
                if _compare_application(b, link, label, rec, q, applied_to, upd):
                    payments_off.add(str(rec.invoice_id))
                    payments_off.update(_linked_invoices(q, invoice_of_qbo))
            elif kind == "refund":
                _compare_refund(b, link, label, rec, q, link_of, upd)
    if missing:
        _report_missing(qbo, b, missing, work_recs, link_of, qbo_recs)
    _totals(report, links, work_recs, qbo_recs, paid_by_invoice)
    report.requests = int(getattr(getattr(qbo, "stats", None), "requests", 0)) - before
    report.seconds = time.monotonic() - started
    return report


def _label(kind: str, rec: Any, link: Link) -> str:
    noun = ENTITIES[kind][2]
    if rec is None:
        return f"{noun} (Work id {link.work_id})"
    name = getattr(rec, "number", None) or getattr(rec, "name", None)
    if kind == "payment":
        return f"Payment of {cents(rec.amount)} on {_date(rec.date)}"
    if kind == "refund":
        return f"Refund of {cents(rec.amount)} on {_date(rec.date)}"
    if kind == "credit_application":
        return f"Credit note {rec.number} applied to its invoice"
    return f"{noun} {name}" if name else f"{noun} {link.work_id}"


RESEND = "Choose “Send Work's version again” (the next sync writes it to QuickBooks), or “Keep QuickBooks' value”."


def _compare_name(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any], noun: str, upd: str | None) -> None:
    work_active = bool(getattr(rec, "active", True))
    qbo_active = bool(q.get("Active", True))
    if work_active and not qbo_active:
        if link.kind == "vendor" and link.origin != "created":
            # add-only: a vendor found in QuickBooks is never edited (sync/flows/vendors.py), so no
            # sync would carry out "Send Work's version again"
            b.add(link, label, "inactive", f"{label} is active in Work but inactive in QuickBooks.",
                  "This vendor was already in QuickBooks, and this app never edits such a vendor: make it "
                  "active again in QuickBooks if its bills should sync, or keep it inactive (“Keep "
                  "QuickBooks' value”).",
                  work_value="active", qbo_value="inactive", actions=["accept", "ignore"], work_updated_at=upd)
            return
        b.add(link, label, "inactive", f"{label} is active in Work but inactive in QuickBooks.",
              f"Make the {noun.lower()} active again in QuickBooks (“Send Work's version again”), or keep it "
              "inactive (“Keep QuickBooks' value”).",
              work_value="active", qbo_value="inactive", actions=["recreate", "accept", "ignore"],
              work_updated_at=upd)


def _compare_invoice(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any],
                     link_of: dict[str, dict[str, Link]], paid_by_invoice: dict[str, Decimal],
                     payments_off: set[str], upd: str | None) -> None:
    acts = ["recreate", "accept", "ignore"]
    void = rec.status == "void"
    work_total = Decimal("0.00") if void else cents(rec.total)
    qbo_total = cents(q.get("TotalAmt"))
    work_tax = Decimal("0.00") if void or rec.tax is None else cents(rec.tax.amount)
    if work_total and not qbo_total:
        # voided in QuickBooks (its void zeroes lines, tax and total): one edit, one row; its fixes
        # cover the tax too
        b.add(link, label, "total", f"{label} totals {work_total} in Work but 0.00 in QuickBooks (it was voided "
              "in QuickBooks, or all its lines were zeroed).", RESEND, work_value=work_total, qbo_value=qbo_total,
              actions=acts, work_updated_at=upd)
    else:
        if work_total != qbo_total and not _tax_explains(q, work_total, work_tax):
            b.add(link, label, "total", f"{label} totals {work_total} in Work but {qbo_total} in QuickBooks.",
                  RESEND, work_value=work_total, qbo_value=qbo_total, actions=acts, work_updated_at=upd)
        _compare_tax(b, link, label, q, work_tax, acts, upd, work_total)
    _compare_customer_date(b, link, label, q, rec.client_id, rec.issue_date, link_of, acts, upd)
    _compare_number(b, link, label, q, rec.number, acts, upd)
    if work_total == qbo_total and not void and str(rec.id) not in payments_off:
        # Work's own balance counts applied credit notes as well as payments (docs/work-api.md)
        work_balance = (cents(rec.balance) if rec.balance is not None
                        else work_total - paid_by_invoice.get(str(rec.id), Decimal("0.00")))
        qbo_balance = cents(q.get("Balance"))
        if work_balance != qbo_balance:
            b.add(link, label, "balance", f"{label} has {work_balance} open in Work but {qbo_balance} in QuickBooks "
                  "(a payment was recorded or removed in only one of them).",
                  "Check the invoice's payments in QuickBooks and in Work; record the missing payment where it "
                  "belongs, or keep QuickBooks' value.", work_value=work_balance, qbo_value=qbo_balance,
                  actions=["accept", "ignore"], work_updated_at=upd)


def _compare_payment(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any],
                     link_of: dict[str, dict[str, Link]], upd: str | None) -> bool:
    acts = ["recreate", "accept", "ignore"]
    n = len(b.report.differences)
    amount, qbo_amount = cents(rec.amount), cents(q.get("TotalAmt"))
    if amount != qbo_amount:
        b.add(link, label, "total", f"{label} is {qbo_amount} in QuickBooks.", RESEND,
              work_value=amount, qbo_value=qbo_amount, actions=acts, work_updated_at=upd)
    if _date(rec.date) != _date(q.get("TxnDate")):
        b.add(link, label, "date", f"{label} is dated {_date(q.get('TxnDate'))} in QuickBooks.", RESEND,
              work_value=_date(rec.date), qbo_value=_date(q.get("TxnDate")), actions=acts, work_updated_at=upd)
    inv_link = link_of.get("invoice", {}).get(str(rec.invoice_id))
    if inv_link is not None:
        applied, others = _applied(q, "Invoice", inv_link.qbo_id)
        # a payment whose whole (changed) amount is still applied to its invoice: the amount row says it
        if (applied != amount and applied != qbo_amount) or others:
            b.add(link, label, "payment_applied",
                  f"{label} is applied differently in QuickBooks: {applied} to its invoice"
                  + (f", and to other invoices ({', '.join(others)})" if others else "") + ".",
                  RESEND, work_value=f"{amount} to invoice {inv_link.qbo_id}",
                  qbo_value=f"{applied} to invoice {inv_link.qbo_id}" + (f"; others {','.join(others)}" if others else ""),
                  actions=acts, work_updated_at=upd)
    return len(b.report.differences) > n


def _compare_bill(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any],
                  link_of: dict[str, dict[str, Link]], upd: str | None) -> None:
    acts = ["recreate", "accept", "ignore"]
    total, qbo_total = cents(rec.total), cents(q.get("TotalAmt"))
    if total != qbo_total:
        b.add(link, label, "total", f"{label} totals {total} in Work but {qbo_total} in QuickBooks.", RESEND,
              work_value=total, qbo_value=qbo_total, actions=acts, work_updated_at=upd)
    if _date(rec.date) != _date(q.get("TxnDate")):
        b.add(link, label, "date", f"{label} is dated {_date(rec.date)} in Work but {_date(q.get('TxnDate'))} in "
              "QuickBooks.", RESEND, work_value=_date(rec.date), qbo_value=_date(q.get("TxnDate")), actions=acts,
              work_updated_at=upd)
    _compare_number(b, link, label, q, rec.number, acts, upd)
    vendor_link = link_of.get("vendor", {}).get(str(rec.contractor_id))
    if vendor_link is not None and _ref(q, "VendorRef") != vendor_link.qbo_id:
        b.add(link, label, "vendor", f"{label} is for another vendor in QuickBooks than in Work.", RESEND,
              work_value=vendor_link.qbo_id, qbo_value=_ref(q, "VendorRef"), actions=acts, work_updated_at=upd)


def _qbo_tax(q: dict[str, Any]) -> Decimal:
    return cents((q.get("TxnTaxDetail") or {}).get("TotalTax"))


def _tax_explains(q: dict[str, Any], work_total: Decimal, work_tax: Decimal) -> bool:
    """The total differs by exactly the tax difference: one edit (of the tax), so one row - the tax
    row, which names the total too - not a "total" row besides it."""
    delta = _qbo_tax(q) - work_tax
    return bool(delta) and cents(q.get("TotalAmt")) - work_total == delta


def _compare_tax(b: _Builder, link: Link, label: str, q: dict[str, Any], work_tax: Decimal, acts: list[str],
                 upd: str | None, work_total: Decimal) -> None:
    qbo_tax = _qbo_tax(q)
    if work_tax != qbo_tax:
        qbo_total = cents(q.get("TotalAmt"))
        so = (f", so it totals {qbo_total} there instead of {work_total}" if _tax_explains(q, work_total, work_tax)
              else "")
        b.add(link, label, "tax", f"{label} has tax {work_tax} in Work but {qbo_tax} in QuickBooks{so}.",
              RESEND, work_value=work_tax, qbo_value=qbo_tax, actions=acts, work_updated_at=upd)


def _compare_number(b: _Builder, link: Link, label: str, q: dict[str, Any], number: Any, acts: list[str],
                    upd: str | None) -> None:
    if str(number) != str(q.get("DocNumber") or ""):
        b.add(link, label, "number", f"{label} is numbered {q.get('DocNumber') or '(none)'} in QuickBooks.",
              RESEND, work_value=number, qbo_value=q.get("DocNumber") or "", actions=acts, work_updated_at=upd)


def _compare_customer_date(b: _Builder, link: Link, label: str, q: dict[str, Any], client_id: Any, when: Any,
                           link_of: dict[str, dict[str, Link]], acts: list[str], upd: str | None) -> None:
    client_link = link_of.get("client", {}).get(str(client_id))
    if client_link is not None and _ref(q, "CustomerRef") != client_link.qbo_id:
        b.add(link, label, "customer", f"{label} is for another customer in QuickBooks than in Work.",
              RESEND, work_value=client_link.qbo_id, qbo_value=_ref(q, "CustomerRef"), actions=acts,
              work_updated_at=upd)
    if _date(when) != _date(q.get("TxnDate")):
        b.add(link, label, "date", f"{label} is dated {_date(when)} in Work but {_date(q.get('TxnDate'))} in "
              "QuickBooks.", RESEND, work_value=_date(when), qbo_value=_date(q.get("TxnDate")), actions=acts,
              work_updated_at=upd)


def _compare_credit(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any],
                    link_of: dict[str, dict[str, Link]], upd: str | None) -> bool:
    """A credit memo: total, tax, customer, date and number (how it is applied: its application)."""
    acts = ["recreate", "accept", "ignore"]
    n = len(b.report.differences)
    total, qbo_total = cents(rec.amount), cents(q.get("TotalAmt"))
    work_tax = Decimal("0.00") if rec.tax is None else cents(rec.tax.amount)
    if total != qbo_total and not _tax_explains(q, total, work_tax):
        b.add(link, label, "total", f"{label} credits {total} in Work but {qbo_total} in QuickBooks.", RESEND,
              work_value=total, qbo_value=qbo_total, actions=acts, work_updated_at=upd)
    _compare_tax(b, link, label, q, work_tax, acts, upd, total)
    _compare_customer_date(b, link, label, q, rec.client_id, rec.date, link_of, acts, upd)
    _compare_number(b, link, label, q, rec.number, acts, upd)
    return len(b.report.differences) > n


def _linked_invoices(q: dict[str, Any], invoice_of_qbo: dict[str, str]) -> set[str]:
    """The Work ids of the linked invoices a QuickBooks payment's lines apply to."""
    return {invoice_of_qbo[str(lt.get("TxnId"))] for line in q.get("Line") or [] for lt in line.get("LinkedTxn") or []
            if lt.get("TxnType") == "Invoice" and str(lt.get("TxnId")) in invoice_of_qbo}


def _applied(q: dict[str, Any], txn_type: str, txn_id: str) -> tuple[Decimal, list[str]]:
    """How much a payment's lines apply to ``txn_id`` (of ``txn_type``), and the other ids of that type."""
    applied = Decimal("0.00")
    others: list[str] = []
    for line in q.get("Line") or []:
        for lt in line.get("LinkedTxn") or []:
            if str(lt.get("TxnType")) != txn_type:
                continue
            if str(lt.get("TxnId")) == txn_id:
                applied += cents(line.get("Amount"))
            else:
                others.append(str(lt.get("TxnId")))
    return applied, others


def _compare_application(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any],
                         link_of: dict[str, dict[str, Link]], upd: str | None) -> bool:
    """The zero payment applying a credit memo to its invoice: the credit's whole amount, to that
    invoice and from that credit memo, nothing else."""
    inv_link = link_of.get("invoice", {}).get(str(rec.invoice_id))
    cn_link = link_of.get("credit_note", {}).get(str(rec.id))
    if inv_link is None or cn_link is None:
        return False
    amount = cents(rec.amount)
    to_inv, other_inv = _applied(q, "Invoice", inv_link.qbo_id)
    from_cn, other_cn = _applied(q, "CreditMemo", cn_link.qbo_id)
    if (to_inv, from_cn) == (amount, amount) and not other_inv and not other_cn:
        return False
    others = other_inv + other_cn
    b.add(link, label, "credit_applied",
          f"Credit note {rec.number} is applied differently in QuickBooks: {to_inv} of it to its invoice "
          f"(Work applies {amount})" + (f", and other records are linked ({', '.join(others)})" if others else "") + ".",
          RESEND, work_value=f"{amount} to invoice {inv_link.qbo_id}",
          qbo_value=f"{to_inv} to invoice {inv_link.qbo_id}" + (f"; others {','.join(others)}" if others else ""),
          actions=["recreate", "accept", "ignore"], work_updated_at=upd)
    return True


def _compare_refund(b: _Builder, link: Link, label: str, rec: Any, q: dict[str, Any],
                    link_of: dict[str, dict[str, Link]], upd: str | None) -> None:
    """A refund receipt: amount, customer, date and the reference (its PaymentRefNum; QuickBooks
    numbers refund receipts itself, so DocNumber is not Work's)."""
    acts = ["recreate", "accept", "ignore"]
    amount, qbo_amount = cents(rec.amount), cents(q.get("TotalAmt"))
    if amount != qbo_amount:
        b.add(link, label, "total", f"{label} is {qbo_amount} in QuickBooks.", RESEND,
              work_value=amount, qbo_value=qbo_amount, actions=acts, work_updated_at=upd)
    _compare_customer_date(b, link, label, q, rec.client_id, rec.date, link_of, acts, upd)
    if rec.reference and len(rec.reference) <= MAX_REF and str(q.get("PaymentRefNum") or "") != rec.reference:
        b.add(link, label, "number", f"{label} has reference {q.get('PaymentRefNum') or '(none)'} in QuickBooks.",
              RESEND, work_value=rec.reference, qbo_value=q.get("PaymentRefNum") or "", actions=acts,
              work_updated_at=upd)


def _dependents(rec: Any, work_recs: dict[str, dict[str, Any]], link_of: dict[str, dict[str, Link]]
                ) -> list[tuple[str, str, str | None]]:
    """A missing invoice's linked payments and credit applications (written again with it)."""
    out: list[tuple[str, str, str | None]] = []
    for pid, pay in work_recs.get("payment", {}).items():
        if str(pay.invoice_id) == str(rec.id) and pid in link_of.get("payment", {}):
            out.append(("payment", pid, _stamp(getattr(pay, "updated_at", None))))
    for cid, cn in work_recs.get("credit_note", {}).items():
        if (str(cn.invoice_id or "") == str(rec.id) and cn.status != "void"
                and cid in link_of.get("credit_application", {})):
            out.append(("credit_application", cid, _stamp(getattr(cn, "updated_at", None))))
    return out


def _merged_into(missing: list[tuple[Link, str, Any]], work_recs: dict[str, dict[str, Any]],
                 link_of: dict[str, dict[str, Link]], qbo_recs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, str]:
    """Work client id → the QuickBooks customer its synced invoices now belong to, for each client
    whose customer is gone: a customer merged into another in QuickBooks takes its forms there
    (issue 16), so where they all went is where it went. Only one customer for every invoice counts."""
    gone = {link.work_id: link.qbo_id for link, _l, _r in missing if link.kind == "client"}
    if not gone:
        return {}
    seen: dict[str, set[str]] = defaultdict(set)
    for wid, inv_link in link_of.get("invoice", {}).items():
        rec = work_recs.get("invoice", {}).get(wid)
        q = qbo_recs.get("Invoice", {}).get(inv_link.qbo_id)
        if rec is not None and q is not None and str(rec.client_id) in gone:
            seen[str(rec.client_id)].add(_ref(q, "CustomerRef"))
    return {cid: next(iter(ids)) for cid, ids in seen.items() if len(ids) == 1 and gone[cid] not in ids
            and next(iter(ids))}


def _report_missing(qbo: Any, b: _Builder, missing: list[tuple[Link, str, Any]],
                    work_recs: dict[str, dict[str, Any]], link_of: dict[str, dict[str, Link]],
                    qbo_recs: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Records linked but gone from QuickBooks: one CDC read says when they were deleted, one query
    per entity looks for a record with the same number to offer for re-linking (a customer: the one
    its invoices went to, :func:`_merged_into`)."""
    entities = sorted({ENTITIES[link.kind][0] for link, _l, _r in missing})
    deleted: set[tuple[str, str]] = set()
    try:
        since = utcnow() - _dt.timedelta(days=29)
        # one request: only whether these ids were deleted matters here, so a capped answer is
        # not split (that costs a request per halving); an id not in it reads "no longer in QuickBooks"
        for entity, rows in (qbo.cdc_once(entities, since) or {}).items():
            for row in rows:
                if str(row.get("status", "")).lower() == "deleted":
                    deleted.add((entity, str(row.get("Id"))))
    except QboSyncError:  # CDC is only for the wording; the query already proved the record is gone
        pass
    candidates: dict[tuple[str, str], str] = {}
    tokens: dict[tuple[str, str], str] = {}
    for entity in ("Invoice", "Bill", "CreditMemo"):
        numbers = sorted({str(rec.number) for link, _l, rec in missing
                          if ENTITIES[link.kind][0] == entity and getattr(rec, "number", None)})
        for chunk in _chunks(numbers, BATCH):
            for row in qbo.query(entity, where=in_list("DocNumber", chunk), order_by="Id"):
                candidates.setdefault((entity, str(row.get("DocNumber"))), str(row.get("Id")))
                tokens[(entity, str(row.get("Id")))] = str(row.get("SyncToken") or "")
    merged = _merged_into(missing, work_recs, link_of, qbo_recs)
    names: dict[str, str] = {}
    for chunk in _chunks(sorted(set(merged.values())), BATCH):
        for row in qbo.query("Customer", where=f"Active IN (true, false) AND {in_list('Id', chunk)}"):
            names[str(row.get("Id"))] = str(row.get("DisplayName") or "")
            tokens[("Customer", str(row.get("Id")))] = str(row.get("SyncToken") or "")
    # the invoices' own "for another customer" rows: the client's row says where they went
    moved = {(link_of.get("client", {})[cid].qbo_id, into) for cid, into in merged.items()}
    b.report.differences = [d for d in b.report.differences
                            if not (d.check == "customer" and (str(d.work_value), str(d.qbo_value)) in moved)]
    linked = {(ENTITIES[lk.kind][0], lk.qbo_id) for lk in Link.select(Link.kind, Link.qbo_id) if lk.kind in ENTITIES}
    for link, label, rec in missing:
        entity = ENTITIES[link.kind][0]
        when = "was deleted in QuickBooks" if (entity, link.qbo_id) in deleted else "is no longer in QuickBooks"
        into = merged.get(link.work_id) if link.kind == "client" else None
        cand = into or candidates.get((entity, str(getattr(rec, "number", ""))))
        if cand is not None and (entity, cand) in linked:
            cand = None
        actions = ["recreate", "ignore"] if cand is None else ["relink", "recreate", "ignore"]
        deps = _dependents(rec, work_recs, link_of) if link.kind == "invoice" else []
        again = " and applies its payments to it again" if deps else ""
        todo = (f"Re-create it in QuickBooks (the next sync writes it again{again}), or ignore this row with a reason."
                if cand is None else
                f"QuickBooks has another {ENTITIES[link.kind][2].lower()} with the same number (Id {cand}): re-link to it, or "
                f"re-create this one (the next sync writes it again{again}).")
        if into is not None:
            went = f"customer “{names.get(into) or into}” (Id {into})"
            owner = next((lk for lk in link_of.get("client", {}).values() if lk.qbo_id == into), None)
            owner_rec = work_recs.get("client", {}).get(owner.work_id) if owner is not None else None
            todo = (f"Its invoices in QuickBooks are now under {went}: it was most likely merged into that one. "
                    + (f"Re-link the client to {went} (it then syncs with that customer), or re-create it "
                       "(the next sync writes it again)." if cand is not None else
                       f"That customer syncs with the Work client “{getattr(owner_rec, 'name', None) or into}”: if "
                       "the two are the same, merge them in Work as well, then ignore this row with a reason; "
                       "otherwise re-create it (the next sync writes it again, and its new invoices go there)."))
        n = len(b.report.differences)
        b.add(link, label, "missing", f"{label} {when} (QuickBooks Id {link.qbo_id}).", todo,
              work_value="exists", qbo_value="missing", actions=actions, candidate=cand,
              work_updated_at=_stamp(getattr(rec, "updated_at", None)))
        if len(b.report.differences) > n:
            b.report.differences[-1].dependents = deps
        if cand is not None and b.report.differences and b.report.differences[-1].candidate_qbo_id == cand:
            b.report.differences[-1].candidate_sync_token = tokens.get((entity, cand)) or None


def _totals(report: Report, links: dict[str, list[Link]], work_recs: dict[str, dict[str, Any]],
            qbo_recs: dict[str, dict[str, dict[str, Any]]], paid_by_invoice: dict[str, Decimal]) -> None:
    """Invoices per month and open balance per customer, Work and QuickBooks side by side, both over the
    linked invoices: the open balance is the sum of their balances per Work client, Work's own (which
    counts applied credit notes; total minus linked payments where Work gives none) against QuickBooks'
    ``Invoice.Balance``. (QuickBooks' ``Customer.Balance`` also counts what was entered there directly
    and leaves out sub-customers' invoices, so it differed for customers in step.)"""
    months: dict[str, dict[str, Any]] = defaultdict(lambda: {"work_count": 0, "work_total": Decimal("0.00"),
                                                             "qbo_count": 0, "qbo_total": Decimal("0.00")})
    for link in links.get("invoice", []):
        rec = work_recs.get("invoice", {}).get(link.work_id)
        if rec is not None and rec.status != "void":
            m = months[_date(rec.issue_date)[:7]]
            m["work_count"] += 1
            m["work_total"] += cents(rec.total)
        q = qbo_recs.get("Invoice", {}).get(link.qbo_id)
        if q is not None and cents(q.get("TotalAmt")) != 0:
            m = months[_date(q.get("TxnDate"))[:7]]
            m["qbo_count"] += 1
            m["qbo_total"] += cents(q.get("TotalAmt"))
    report.invoices_per_month = [
        {"month": k, "work_count": v["work_count"], "work_total": str(v["work_total"]), "qbo_count": v["qbo_count"],
         "qbo_total": str(v["qbo_total"]), "differs": (v["work_count"], v["work_total"]) != (v["qbo_count"], v["qbo_total"])}
        for k, v in sorted(months.items())]
    open_work: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    open_qbo: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for link in links.get("invoice", []):
        rec = work_recs.get("invoice", {}).get(link.work_id)
        if rec is None:
            continue
        if rec.status not in ("void", "draft"):
            open_work[str(rec.client_id)] += (cents(rec.balance) if rec.balance is not None else
                                              cents(rec.total) - paid_by_invoice.get(str(rec.id), Decimal("0.00")))
        q = qbo_recs.get("Invoice", {}).get(link.qbo_id)
        if q is not None:
            open_qbo[str(rec.client_id)] += cents(q.get("Balance"))
    rows = []
    for link in links.get("client", []):
        rec = work_recs.get("client", {}).get(link.work_id)
        w, qb = open_work.get(link.work_id, Decimal("0.00")), open_qbo.get(link.work_id, Decimal("0.00"))
        if w == 0 and qb == 0:
            continue
        rows.append({"customer": getattr(rec, "name", None) or link.work_id, "work_id": link.work_id,
                     "qbo_id": link.qbo_id, "work_open": str(w), "qbo_open": str(qb), "differs": w != qb})
    report.open_balance_per_customer = rows


# -- text ------------------------------------------------------------------------------------------------
def render_text(report: Report, limit: int = 50) -> str:
    lines = [f"Compared {sum(report.checked.values())} linked records "
             f"({', '.join(f'{n} {k}s' for k, n in sorted(report.checked.items()) if n)}) "
             f"with {report.requests} QuickBooks requests in {report.seconds:.1f} s."]
    if report.in_step:
        lines.append("Work and QuickBooks are in step.")
    else:
        lines.append(f"{len(report.differences)} difference(s):")
        for d in report.differences[:limit]:
            lines.append(f"  [{d.id}] {d.message}")
            lines.append(f"      What to do: {d.what_to_do}")
            lines.append(f"      Fixes: {', '.join(d.actions)}")
        if len(report.differences) > limit:
            lines.append(f"  ... and {len(report.differences) - limit} more (use --json or --csv for all).")
    if report.ignored:
        lines.append(f"{report.ignored} difference(s) ignored earlier are not listed.")
    differing = [m for m in report.invoices_per_month if m["differs"]]
    if differing:
        lines.append("Invoices per month that differ (Work / QuickBooks):")
        for m in differing:
            lines.append(f"  {m['month']}: {m['work_count']} for {m['work_total']} / {m['qbo_count']} for {m['qbo_total']}")
    return "\n".join(lines)


CSV_COLUMNS = ("id", "kind", "work_id", "qbo_id", "label", "check", "message", "what_to_do", "work_value",
               "qbo_value", "actions", "candidate_qbo_id")


def write_csv(report: Report, path: str) -> int:
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for d in report.differences:
            data = d.to_json()
            w.writerow([audit._cell(", ".join(data["actions"]) if c == "actions" else data[c]) for c in CSV_COLUMNS])
    os.replace(tmp, path)
    return len(report.differences)


# -- fixes -----------------------------------------------------------------------------------------------
class FixRefused(QboSyncError):
    """A fix that cannot be applied to this row (plain words, with what to do)."""


def apply_fix(diff: Difference, action: str, *, reason: str = "") -> str:
    """Apply one safe fix to our own store; returns what was done, in plain words.

    * ``recreate``: the next sync writes Work's version to QuickBooks through the outbox (exactly
      once): a missing record's link is removed (so it is created again), an existing one's
      fingerprint is cleared; an open problem with Retry pressed makes the sync re-read the record.
    * ``relink``: the link points at the QuickBooks record with the same number.
    * ``accept``: QuickBooks' value is kept; the link remembers it, so reconcile stops listing it
      (until QuickBooks' value changes again).
    * ``ignore``: the row is not listed again; the reason goes to the audit log.
    """
    if action not in diff.actions:
        raise FixRefused(f"“{action}” is not offered for this difference ({diff.message}).", title="Fix not offered",
                         hint=f"Choose one of: {', '.join(diff.actions)}.")
    if action == "ignore" and not reason.strip():
        raise FixRefused("Ignoring a difference needs a reason (it is kept in the audit log).",
                         title="Reason needed", hint="Add --reason \"...\" (or type one in the Reconcile tab).")
    with database.atomic():
        link = Link.get_or_none((Link.kind == diff.kind) & (Link.work_id == diff.work_id))
        if link is None:
            raise FixRefused(f"{diff.label} is not linked any more.", title="Already changed",
                             hint="Run reconcile again to see the current differences.")
        synced = dict(link.synced or {})
        before = {"qbo_id": link.qbo_id, "fingerprint": link.fingerprint, "check": diff.check,
                  "work_value": diff.work_value, "qbo_value": diff.qbo_value}
        if action == "recreate":
            done = _recreate(link, diff)
        elif action == "relink":
            if not diff.candidate_qbo_id:
                raise FixRefused("There is no QuickBooks record to re-link to.", title="Nothing to re-link")
            link.qbo_id, link.qbo_sync_token = diff.candidate_qbo_id, diff.candidate_sync_token
            link.updated_at = utcnow()
            link.save()
            done = f"{diff.label} is now linked to QuickBooks Id {diff.candidate_qbo_id}."
        elif action == "accept":
            synced[ACCEPTED] = {**(synced.get(ACCEPTED) or {}), diff.check: diff.qbo_value}
            link.synced = synced
            link.save()
            done = f"Kept QuickBooks' value for {diff.label} ({diff.qbo_value})."
        else:
            synced[IGNORED] = {**(synced.get(IGNORED) or {}), diff.check: reason.strip()}
            link.synced = synced
            link.save()
            done = f"{diff.label}: this difference is ignored ({reason.strip()})."
        audit.record(f"reconcile_{action}", diff.kind, diff.work_id, diff.qbo_id, run_id=None, before=before,
                     after={"qbo_id": None if (action, diff.check) == ("recreate", "missing") else link.qbo_id,
                            "reason": reason or None},
                     message=f"Reconcile: {diff.message} → {done}")
    return done


def _reactivate_two_way(link: Link, diff: Difference) -> str:
    """A Work client is two-way: the next sync would carry QuickBooks' "inactive" into Work. So the
    merge base is set to "inactive" on both sides: Work's "active" then is the one change, and the
    next sync writes it to QuickBooks (through the outbox, like any merged update)."""
    synced = dict(link.synced or {})
    tw = dict(synced.get("twoway") or {})
    sent = synced.get("sent")
    base = dict(tw.get("qbo") or tw.get("work") or (qbo_values(sent) if sent else {}))
    base["active"] = False
    tw["work"] = {**(tw.get("work") or base), "active": False}
    tw["qbo"] = {**(tw.get("qbo") or base), "active": False}
    tw["qbo_seen"] = {**(tw.get("qbo_seen") or tw["qbo"]), "active": False}
    synced["twoway"] = tw
    synced.pop(ACCEPTED, None)
    link.synced = synced
    link.save()
    return f"The next sync makes {diff.label} active again in QuickBooks."


def _retry(kind: str, work_id: str, qbo_id: str, diff: Difference, updated_at: str | None = None) -> None:
    """An open problem with Retry pressed: the next sync re-reads the Work record (from ``updated_at``,
    the record's own; by default the row's) and writes it."""
    details: dict[str, Any] = {"error": "ReconcileDifference", "reconcile": diff.check}
    if updated_at or diff.work_updated_at:
        details["work_updated_at"] = updated_at or diff.work_updated_at
    problem = Problem.get_or_none((Problem.kind == kind) & (Problem.work_id == work_id) & (Problem.state == "open"))
    if problem is None:
        Problem.create(kind=kind, work_id=work_id, qbo_id=qbo_id, title="Differs from QuickBooks",
                       message=diff.message, hint="The next sync writes Work's version to QuickBooks.",
                       details=details, code=None, state="open", retry_requested=True, created_at=utcnow())
    else:
        problem.retry_requested = True
        problem.details = {**(problem.details or {}), **details}
        problem.save()


def _reactivate_site(link: Link, diff: Difference) -> str:
    """Sites sync only at onboarding: the flag the undo's "sync again" uses (sync/flows/sites.py
    ``SitesReactivate``) makes the next sync send a sparse ``Active: true`` through the outbox (a site
    made inactive in Work meanwhile stays inactive: a counted, audited skip)."""
    synced = dict(link.synced or {})
    synced["reactivate"] = True
    synced.pop(ACCEPTED, None)
    link.synced = synced
    link.save()
    undo_apply.set_reactivation_ids([*undo_apply.reactivation_ids(), link.work_id])
    return f"The next sync makes {diff.label} active again in QuickBooks."


def _recreate(link: Link, diff: Difference) -> str:
    if diff.kind == "client" and diff.check == "inactive":
        return _reactivate_two_way(link, diff)
    if diff.kind == "site" and diff.check == "inactive":
        return _reactivate_site(link, diff)
    _retry(diff.kind, diff.work_id, diff.qbo_id, diff)
    if diff.kind == "credit_note":
        # its application names the credit memo: the next sync sends it again too (it then links the
        # re-created memo, or applies the changed credit)
        app = Link.get_or_none((Link.kind == "credit_application") & (Link.work_id == diff.work_id))
        if app is not None:
            _retry("credit_application", diff.work_id, app.qbo_id, diff)
            app.fingerprint = None
            app.save()
    for kind, wid, updated_at in diff.dependents:
        # a missing invoice's payments and credit applications: QuickBooks let go of them when it
        # deleted the invoice, so the next sync applies them to the re-created one
        dep = Link.get_or_none((Link.kind == kind) & (Link.work_id == wid))
        if dep is not None:
            _retry(kind, wid, dep.qbo_id, diff, updated_at)
            dep.fingerprint = None
            dep.save()
    if diff.check == "missing":
        link.delete_instance()
        also = " with its payments applied to it again" if diff.dependents else ""
        return f"{diff.label} will be created again in QuickBooks by the next sync{also}."
    link.fingerprint = None
    synced = dict(link.synced or {})
    synced.pop(ACCEPTED, None)
    link.synced = synced
    link.save()
    return f"The next sync sends Work's version of {diff.label} to QuickBooks again."


# -- on a workspace (CLI, desktop) -------------------------------------------------------------------------
def check_workspace(ws: Any) -> Report:
    """Reconcile the workspace's company (both connections required)."""
    ws.require_qbo()
    ws.require_work()
    return run(ws.qbo_client(), ws.work_client())


def fix_workspace(ws: Any, row_id: str, action: str, *, reason: str = "") -> tuple[str, bool]:
    """Find the row again (a fresh reconcile: the books may have moved on) and apply ``action``.
    Returns (what was done, whether a sync is needed to finish it)."""
    report = check_workspace(ws)
    diff = report.row(row_id)
    if diff is None:
        raise FixRefused(f"There is no difference {row_id} now.", title="Difference not found",
                         hint="Run 'qbosync reconcile' to see the current differences and their ids.")
    return apply_fix(diff, action, reason=reason), action == "recreate"


# -- the scheduled check -----------------------------------------------------------------------------------
#: The setting (kept in the store's cursor table, next to the sync's watermarks): days between checks.
EVERY_DAYS_KEY = "reconcile.every_days"
LAST_AT_KEY = "reconcile.last_at"
DEFAULT_EVERY_DAYS = 7
#: the one problem a scheduled check keeps open while differences exist
PROBLEM_KIND, PROBLEM_KEY = "reconcile", "check"


def every_days() -> int:
    row = Cursor.get_or_none(Cursor.name == EVERY_DAYS_KEY)
    try:
        return int(row.value) if row is not None and row.value is not None else DEFAULT_EVERY_DAYS
    except ValueError:
        return DEFAULT_EVERY_DAYS


def set_every_days(days: int) -> None:
    """0 turns the scheduled check off."""
    if not isinstance(days, int) or days < 0 or days > 365:
        raise ConfigurationError(f"The reconcile interval must be 0 (off) to 365 days, not {days!r}.",
                                 field="reconcile_every_days", hint="Write e.g. --every-days 7.")
    with database.atomic():
        Cursor.insert(name=EVERY_DAYS_KEY, value=str(days), updated_at=utcnow()).on_conflict_replace().execute()


def last_checked() -> _dt.datetime | None:
    row = Cursor.get_or_none(Cursor.name == LAST_AT_KEY)
    if row is None or not row.value:
        return None
    return _dt.datetime.fromisoformat(row.value)


def is_due(now: _dt.datetime | None = None) -> bool:
    days = every_days()
    if days <= 0:
        return False
    last = last_checked()
    return last is None or (now or utcnow()) - last >= _dt.timedelta(days=days)


def record_check(report: Report, now: _dt.datetime | None = None) -> None:
    """Remember when the check ran, and keep one open problem while differences exist (closed once in
    step): the desktop app's problem list and tray show it like any other problem."""
    when = (now or utcnow()).replace(microsecond=0)
    with database.atomic():
        Cursor.insert(name=LAST_AT_KEY, value=when.isoformat(), updated_at=utcnow()).on_conflict_replace().execute()
        if report.in_step:
            problems.close_problem(PROBLEM_KIND, PROBLEM_KEY)
            return
        n = len(report.differences)
        err = QboSyncError(
            f"The scheduled check found {n} difference{'s' if n != 1 else ''} between Work and QuickBooks "
            f"(for example: {report.differences[0].message})",
            title="Work and QuickBooks differ",
            hint="Open the Reconcile tab (or run 'qbosync reconcile') to see each difference and fix it.")
        problems.open_problem(PROBLEM_KIND, PROBLEM_KEY, err, run_id=None,
                              extra={"differences": n, "checked_at": when.isoformat() + "Z"})


def check_if_due(ws: Any, *, now: _dt.datetime | None = None, force: bool = False) -> Report | None:
    """The scheduled check: reconcile when the interval has passed (or ``force``), record the result.
    Returns the report, or None when not due."""
    if not force and not is_due(now):
        return None
    report = check_workspace(ws)
    record_check(report, now)
    return report
