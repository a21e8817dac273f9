"""Work invoices → QBO invoices (one-way), from the start date on.

Rules (seed + issue 6): drafts never sync; only invoices dated on or after the start date (the
integration date unless the user picked an earlier one); DocNumber = the Work number, and a number
over QBO's 21 characters is a problem, not a truncation; each line's item must be in QBO (the items
phase runs first); an edit after sync is a *full* update - QBO replaces lines all-or-nothing, so every
line is sent with the current SyncToken, and a stale token (5010) is re-read and retried by the
outbox; a void in Work voids the QBO invoice.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Discount, Invoice, InvoiceTax
from qbosync_desktop.core.errors import QboSyncError, QboValidationError, WorkNotFound, WorkRecordUnreadable
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.core.money import CENT
from qbosync_desktop.sync.flows.base import (
    Lister,
    doc_number_problem,
    iso_date,
    missing_reference,
    money,
    qty,
    stamp,
)
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow, R
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules import amounts
from qbosync_desktop.sync.rules.settings import (
    COUNTRY_CURSOR,
    LABELS,
    NOT_TAXABLE,
    TAX_AS_CHARGED,
    TAX_QBO_CALCULATES,
    kept_country,
)

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.invoices"
VOID = "void"  # the fingerprint of a link whose QBO invoice has been voided


def start_date(ctx: RunContext) -> _dt.date:
    """The seed's product syncs invoices from the integration date on; the user may pick earlier."""
    conn = ctx.connection
    integration = conn.integration_enabled_at if conn is not None else None
    chosen = ctx.settings.effective_start_date(integration)
    if isinstance(chosen, _dt.datetime):
        chosen = chosen.date()
    return chosen or ctx.now.date()


@dataclass
class Books:
    """What invoices need from QuickBooks besides references, read at most once per run and only
    when an invoice needs it: the company's country, its terms, its tax codes and rates."""

    country: str | None = None
    terms: dict[str, str] | None = None  # casefolded name → Term Id
    codes: dict[str, JsonObject] | None = None  # TaxCode Id → TaxCode (active ones)
    rates: dict[str, Decimal] | None = None  # TaxRate Id → percent
    terms_fresh: bool = False  # read from QuickBooks in this run
    codes_fresh: bool = False


def company_country(ctx: RunContext) -> str:
    """The connected company's country (CompanyInfo.Country), kept per realm in a cursor so a run
    costs no request for it after the first. "US" means Automated Sales Tax (one total tax and
    TAX/NON line codes); any other country uses tax codes per line (docs/sync-engine.md)."""
    books = ctx.flow_state(Books)
    if books.country is None:
        conn = ctx.connection
        realm = (conn.realm_id if conn is not None else None) or ""
        kept = kept_country(ctx.cursor(COUNTRY_CURSOR), realm)
        if kept is not None:
            books.country = kept
        else:
            info = ctx.qbo.company_info()
            books.country = str(info.get("Country") or "US").upper()
            ctx.stage_cursor(COUNTRY_CURSOR, f"{realm}|{books.country}")
    return books.country


def uses_tax_codes(ctx: RunContext) -> bool:
    return company_country(ctx) != "US"


#: cursors keeping QuickBooks lists invoices refer to, per company: '{"realm": ..., "data": ...}'
TERMS_CURSOR = "qbo.lookup.terms"
TAX_CODES_CURSOR = "qbo.lookup.tax_codes"


def _kept(ctx: RunContext, name: str) -> JsonObject | None:
    """A list kept in cursor ``name`` for the connected company (None: never read, or another company)."""
    raw = ctx.cursor(name)
    if not raw:
        return None
    try:
        kept = json.loads(raw)
    except ValueError:
        return None
    conn = ctx.connection
    realm = (conn.realm_id if conn is not None else None) or ""
    if not isinstance(kept, dict) or kept.get("realm") != realm or not isinstance(kept.get("data"), dict):
        return None
    data: JsonObject = kept["data"]
    return data


def _keep(ctx: RunContext, name: str, data: JsonObject) -> None:
    conn = ctx.connection
    realm = (conn.realm_id if conn is not None else None) or ""
    ctx.stage_cursor(name, json.dumps({"realm": realm, "data": data}, sort_keys=True))


def qbo_terms(ctx: RunContext, wanted: str | None = None) -> dict[str, str]:
    """QuickBooks' terms, casefolded name → Id. Kept between runs (a run that sends nothing new costs
    no request for them); read again, once per run at most, when ``wanted`` is not among them (a
    term added in QuickBooks since is then found)."""
    books = ctx.flow_state(Books)
    if books.terms is None:
        kept = _kept(ctx, TERMS_CURSOR)
        books.terms = {str(k): str(v) for k, v in kept.items()} if kept is not None else None
    if books.terms is None or (wanted is not None and wanted.casefold() not in books.terms
                               and not books.terms_fresh):
        books.terms = {str(t.get("Name", "")).casefold(): str(t["Id"]) for t in ctx.qbo.query("Term")}
        books.terms_fresh = True
        _keep(ctx, TERMS_CURSOR, dict(books.terms))
    return books.terms


def qbo_tax_codes(ctx: RunContext, wanted: str | None = None) -> tuple[dict[str, JsonObject], dict[str, Decimal]]:
    """The company's active tax codes and its rates' percents, kept between runs like the terms and
    read again (once per run at most) when the code ``wanted`` is not among them."""
    books = ctx.flow_state(Books)
    if books.codes is None or books.rates is None:
        kept = _kept(ctx, TAX_CODES_CURSOR)
        if kept is not None:
            books.codes = dict(kept.get("codes") or {})
            books.rates = {str(k): Decimal(str(v)) for k, v in (kept.get("rates") or {}).items()}
    if books.codes is None or books.rates is None or (
            wanted and wanted not in books.codes and not books.codes_fresh):
        books.codes = {str(c["Id"]): {"Id": str(c["Id"]), "Name": c.get("Name"),
                                      "SalesTaxRateList": c.get("SalesTaxRateList") or {}}
                       for c in ctx.qbo.query("TaxCode")}
        books.rates = {str(r["Id"]): Decimal(str(r.get("RateValue") or 0)) for r in ctx.qbo.query("TaxRate")}
        books.codes_fresh = True
        _keep(ctx, TAX_CODES_CURSOR, {"codes": books.codes, "rates": {k: str(v) for k, v in books.rates.items()}})
    return books.codes, books.rates


def code_rates(code: JsonObject) -> list[str]:
    """The TaxRate Ids of a tax code's sales rates, in QuickBooks' order."""
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    return [str((d.get("TaxRateRef") or {}).get("value")) for d in details if d.get("TaxRateRef")]


def has_books_fields(rec: Invoice) -> bool:
    """An invoice with tax, a taxable line, a discount or terms. Invoices without any of them (all
    invoices before issue 14) keep the body they had, so an upgrade does not re-send them; the
    TotalAmt proof still checks QuickBooks added no tax to them."""
    return bool(rec.tax is not None or rec.terms or rec.discount_amount
                or any(ln.taxable or ln.discount_amount for ln in rec.lines))


def _price(value: Decimal) -> float | int:
    """A unit price as before issue 14 (to the cent) when it has no more decimals, else as Work has it."""
    if value == value.quantize(CENT):
        return money(value)
    return qty(value)


def _tax_code(ctx: RunContext, tax: InvoiceTax | None, taxable: bool) -> str:
    """The QuickBooks tax code of a line in a company with tax codes ("" when not mapped)."""
    key = tax.rate_id if (tax is not None and taxable) else NOT_TAXABLE
    return ctx.settings.tax_codes.get(key, "")


def sales_tax(ctx: RunContext, tax: InvoiceTax | None, taxables: Sequence[bool], *,
              books: bool = True) -> tuple[list[JsonObject | None], JsonObject | None]:
    """The tax part of a sales form (an invoice, a credit memo, a refund receipt), one path for all:
    each line's ``TaxCodeRef`` (None: none sent) and the ``TxnTaxDetail`` (None: none sent).

    * A company with tax codes (outside the US): every line names the QuickBooks tax code mapped to
      Work's tax rate (taxable lines) or to "Lines without tax"; with "as charged in Work" the tax is
      sent as one ``TaxLine`` per rate of the code (:func:`_tax_lines`), so QuickBooks keeps Work's
      amount.
    * A US company with Automated Sales Tax: lines say ``TAX``/``NON``, and with "as charged in Work"
      ``TxnTaxDetail.TotalTax`` overrides AST's computed tax.

    ``books`` False (an invoice from before issue 14 without tax, discounts or terms) keeps the US
    body it had: no codes and no override."""
    taxed = tax is not None
    if uses_tax_codes(ctx):
        refs: list[JsonObject | None] = [{"value": _tax_code(ctx, tax, t) or "unmapped"} for t in taxables]
    elif books:
        refs = [{"value": "TAX" if (t and taxed) else "NON"} for t in taxables]
    else:
        refs = [None for _ in taxables]
    detail: JsonObject | None = None
    if books and ctx.settings.tax_amounts == TAX_AS_CHARGED:
        if not uses_tax_codes(ctx):
            detail = {"TotalTax": money(tax.amount if tax is not None else Decimal(0))}
        elif tax is not None and any(taxables):
            detail = {"TotalTax": money(tax.amount), "TaxLine": _tax_lines(ctx, tax)}
    return refs, detail


def invoice_body(ctx: RunContext, rec: Invoice) -> JsonObject:
    codes, tax_detail = sales_tax(ctx, rec.tax, [ln.taxable for ln in rec.lines], books=has_books_fields(rec))
    lines = []
    for line, code in zip(rec.lines, codes, strict=True):
        item_qbo = ctx.qbo_id("item", line.item_id) or "planned"
        q, price, note = amounts.line_form(line.quantity, line.unit_price, line.amount)
        detail: JsonObject = {"ItemRef": {"value": item_qbo}, "Qty": qty(q), "UnitPrice": _price(price)}
        if code is not None:
            detail["TaxCodeRef"] = code
        # (the connector fills in quantity × unit price, to the cent, when Work omits the amount)
        entry: JsonObject = {"DetailType": "SalesItemLineDetail", "Amount": money(line.amount),
                             "SalesItemLineDetail": detail}
        description = " ".join(p for p in (line.description, f"({note})" if note else None) if p)
        if description:
            entry["Description"] = description
        lines.append(entry)
    off = sum((ln.discount_amount for ln in rec.lines), Decimal(0)) + rec.discount_amount
    if off:
        line_discounts = [(ln.description or "a line", _discount_text(ln.discount)) for ln in rec.lines
                          if ln.discount_amount and ln.discount is not None]
        lines.append({"DetailType": "DiscountLineDetail", "Amount": money(off),
                      "Description": amounts.discount_note(line_discounts, _discount_text(rec.discount)
                                                           if rec.discount_amount else None),
                      "DiscountLineDetail": {"PercentBased": False}})
    body: JsonObject = {
        "CustomerRef": {"value": ctx.qbo_id("client", rec.client_id) or "planned"},
        "DocNumber": rec.number,
        "TxnDate": iso_date(rec.issue_date),
        "Line": lines,
    }
    if tax_detail is not None:
        body["TxnTaxDetail"] = tax_detail
    if rec.terms:
        term = qbo_terms(ctx, rec.terms).get(rec.terms.casefold())
        if term:
            body["SalesTermRef"] = {"value": term}
    if rec.due_date:
        body["DueDate"] = iso_date(rec.due_date)
    if rec.notes:
        body["PrivateNote"] = rec.notes
    return body


def _discount_text(discount: Discount | None) -> str:
    if discount is None:
        return ""
    if discount.kind == "percent":
        return f"{discount.value.normalize():f}%"
    return amounts.fmt(discount.value)


def _tax_lines(ctx: RunContext, tax: InvoiceTax) -> list[JsonObject]:
    """Work's tax as QuickBooks tax lines: one per rate of the mapped code, the amount shared out by
    the rates' percents (the last takes the remainder), so QuickBooks keeps Work's amount."""
    wanted = _tax_code(ctx, tax, True)
    codes, rates = qbo_tax_codes(ctx, wanted)
    code = codes.get(wanted)
    if code is None:
        return []
    ids = code_rates(code)
    shares = amounts.prorate(tax.amount, [rates.get(r, Decimal(0)) for r in ids])
    return [{"Amount": money(share), "DetailType": "TaxLineDetail",
             "TaxLineDetail": {"TaxRateRef": {"value": rid}, "PercentBased": True,
                               "TaxPercent": qty(rates.get(rid, Decimal(0))),
                               "NetAmountTaxable": money(tax.taxable_amount)}}
            for rid, share in zip(ids, shares, strict=True)]


class InvoicesOut(OutboundFlow[Invoice]):
    name = "invoices"
    kind = "invoice"
    entity = "Invoice"
    cursor = CURSOR
    full_update = True
    reason_create = "new invoice"
    reason_update = "invoice changed in Work: all lines sent again"

    def work_list(self, work: WorkApi) -> Lister[Invoice]:
        return work.invoices

    def label(self, rec: Invoice) -> str:
        return f"Invoice {rec.number}"

    def references(self, rec: Invoice) -> Iterable[tuple[str, str]]:
        yield "client", str(rec.client_id)
        for line in rec.lines:
            yield "item", str(line.item_id)

    def start(self, ctx: RunContext) -> None:
        self._start = start_date(ctx)

    def screen(self, ctx: RunContext, d: Draft[Invoice]) -> Change | Leave | None:
        rec, link = d.rec, d.link
        status = rec.status
        if status == "void":
            if link is None:
                return self.skip(ctx, d, "voided in Work before it was synced", why="void_unsynced")
            if link.fingerprint == VOID:
                return LEAVE
            return Change(self.kind, d.work_id, link.qbo_id, "void", "voided in Work",
                          {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token}, entity=self.entity,
                          label=d.label, meta={"fingerprint": VOID, "audit_action": "void",
                                               "work_version": rec.version,
                                               "work_updated_at": stamp(rec.updated_at)})
        if link is None and status == "draft":
            return self.skip(ctx, d, "drafts never sync", why="draft")
        issued = iso_date(rec.issue_date)
        start = self._start.isoformat()
        if link is None and issued and issued < start:
            return self.skip(ctx, d, f"dated {issued}, before the start date {start}", why="before_start")
        return None

    def body(self, ctx: RunContext, d: Draft[Invoice]) -> JsonObject:
        return invoice_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[Invoice]) -> QboSyncError | None:
        rec, number = d.rec, str(d.rec.number)
        problem = doc_number_problem(number, what="invoice")
        if problem is None and not ctx.will_exist("client", rec.client_id):
            problem = missing_reference(ctx, "invoice", number, "client", str(rec.client_id))
        if problem is None:
            for line in rec.lines:
                if not ctx.will_exist("item", line.item_id):
                    return missing_reference(ctx, "invoice", number, "item", str(line.item_id))
        return problem or books_problem(ctx, rec)

    def write(self, ctx: RunContext, d: Draft[Invoice]) -> Change:
        ch = self.create_or_update(ctx, d)
        ch.meta["expect_total"] = {"amount": str(d.rec.total), "name": d.rec.number, **mismatch_advice(ctx)}
        return ch


def mismatch_advice(ctx: RunContext) -> dict[str, str]:
    """The likely reason and the next step of a total that differs, by the "Tax amounts" setting."""
    if ctx.settings.tax_amounts == TAX_QBO_CALCULATES:
        return {"likely": "QuickBooks recalculated the tax (Sync Settings say “Tax amounts: Let QuickBooks "
                          "calculate”), and its tax differs from what Work charged.",
                "todo": "Choose “As charged in Work” for Tax amounts in Sync Settings: the invoice is then sent "
                        "again with Work's tax. Or correct the tax setup in QuickBooks and press Retry."}
    return {"likely": "QuickBooks changed an amount the app sent (its rounding or its tax setup).",
            "todo": "Open the invoice in QuickBooks and compare it with the one in Work; correct the difference "
                    "there, or press Retry to send Work's invoice again."}


def books_problem(ctx: RunContext, rec: Invoice) -> QboValidationError | None:
    """What QuickBooks cannot hold as Work billed it, said before sending: a negative total, a tax
    rate without a QuickBooks tax code, payment terms QuickBooks does not have."""
    number = rec.number
    if rec.total < 0:
        return QboValidationError(
            f"The invoice '{number}' has a negative total ({amounts.fmt(rec.total)}). QuickBooks cannot hold "
            "a negative invoice, so it was not sent.",
            title="Negative invoice total",
            hint="In Work, bill the amount as a credit note for the client instead (credit notes reach "
                 "QuickBooks as credit memos), then void this invoice.",
            details={"rule": "an invoice total is never negative in QuickBooks", "total": str(rec.total)})
    problem = tax_code_problem(ctx, "invoice", number, rec.tax, [ln.taxable for ln in rec.lines])
    if problem is not None:
        return problem
    if rec.terms and rec.terms.casefold() not in qbo_terms(ctx, rec.terms):
        return QboValidationError(
            f"The invoice '{number}' has the payment terms '{rec.terms}', which QuickBooks does not have.",
            title="Payment terms not in QuickBooks",
            hint=f"Add the terms '{rec.terms}' in QuickBooks (Settings, All lists, Terms) with the same name; the "
                 "invoice then syncs on the next run.",
            details={"rule": "terms are matched by name", "terms": rec.terms})
    return None


def tax_code_problem(ctx: RunContext, what_record: str, number: str, tax: InvoiceTax | None,
                     taxables: Sequence[bool]) -> QboValidationError | None:
    """In a company with tax codes: the problem of a sales form (``what_record``: "invoice", "credit
    note", "refund") whose Work tax rate, or whose lines without tax, have no QuickBooks tax code, or
    one the company no longer has. None in a US company, and when every code is there."""
    if not uses_tax_codes(ctx):
        return None
    wanted = {NOT_TAXABLE} if tax is None else {tax.rate_id if t else NOT_TAXABLE for t in taxables}
    for key in sorted(wanted):
        code = ctx.settings.tax_codes.get(key)
        what = (f"the Work tax rate '{tax.name}' ({tax.percent.normalize():f} %)"
                if tax is not None and key == tax.rate_id else "lines without tax")
        if not code:
            return QboValidationError(
                f"The {what_record} '{number}' cannot be sent: {what} has no QuickBooks tax code, and every "
                f"{what_record} line in this company needs one.",
                title="Tax rate not mapped to a QuickBooks tax code",
                hint=f"Choose a QuickBooks tax code for {what} in Sync Settings (“{LABELS['tax_codes']}”); "
                     f"the {what_record} then syncs on the next run.",
                details={"rule": "each Work tax rate maps to a QuickBooks tax code", "tax_rate": key})
        if code not in qbo_tax_codes(ctx, code)[0]:
            return QboValidationError(
                f"The {what_record} '{number}' cannot be sent: {what} is mapped to QuickBooks tax code {code}, "
                "which the company no longer has (or it is inactive).",
                title="Mapped tax code not in QuickBooks",
                hint=f"Choose another QuickBooks tax code for {what} in Sync Settings.",
                details={"rule": "each Work tax rate maps to a QuickBooks tax code", "tax_rate": key,
                         "tax_code": code})
    return None


def invoice_not_synced(ctx: RunContext, flow: OutboundFlow[R], d: Draft[R], inv: str, *, what: str) -> Change:
    """Why the invoice a payment (or an applied credit note) belongs to is not in QuickBooks, read from
    Work: a draft or an invoice dated before the start date is a counted skip saying so; a void or
    unknown invoice, or one not synced for a reason the sync cannot tell, is a problem of the record
    (issue 16: never a silent or unexplained skip)."""
    word = "money received" if what == "payment" else f"a {what} applied"
    try:
        invoice = ctx.work.get_invoice(inv)
    except WorkNotFound:
        return flow.fail(d, QboValidationError(
            f"{d.label} is for invoice {inv}, which Work does not have (it may have been deleted). "
            "It was not sent to QuickBooks.",
            title=f"{what.capitalize()} for an invoice Work does not have",
            hint=f"In Work, move the {what} to the right invoice (or delete it if it was recorded by "
                 "mistake); it syncs by itself once it is changed there.",
            details={"rule": f"a {what} needs its invoice", "invoice_id": inv, "code": "unknown-invoice"}))
    except WorkRecordUnreadable:  # its own problem says what to fix; this one points at it
        return flow.fail(d, missing_reference(ctx, what, d.label, "invoice", inv))
    if invoice.status == "void":
        return flow.fail(d, QboValidationError(
            f"{d.label} is for invoice {invoice.number}, which is void in Work. {word.capitalize()} for a "
            "void invoice was not sent to QuickBooks.",
            title=f"{what.capitalize()} for a void invoice",
            hint=f"In Work, void this {what} too, or move it to the invoice it belongs to; it syncs by "
                 "itself once it is changed there.",
            details={"rule": f"a {what} for a void invoice is not sent", "invoice_id": inv,
                     "invoice_number": invoice.number, "code": "void-invoice"}))
    if invoice.status == "draft":
        return flow.skip(ctx, d, f"its invoice {invoice.number} is a draft in Work (drafts are not synced)",
                         why="invoice_draft")
    start = start_date(ctx)
    if invoice.issue_date < start:
        return flow.skip(ctx, d, f"its invoice {invoice.number} is dated {invoice.issue_date}, before the start "
                         f"date {start} (Sync Settings)", why="invoice_before_start")
    # Neither a draft, nor a void, nor before the start date, and no problem of its own: do not guess.
    return flow.fail(d, missing_reference(ctx, what, d.label, "invoice", inv))


START_CURSOR = "work.invoices.start_date"
#: the payments flow's cursor (payments of invoices before the start date were skipped too)
PAYMENTS_CURSOR = "work.payments"


def phase(ctx: RunContext) -> InvoicesOut | None:
    if not ctx.settings.invoices:
        return None
    # Invoices (and so their payments) dated before the start date were skipped and the cursor moved
    # past them. If the start date is now earlier, read both lists again from the beginning (cheap:
    # unchanged linked records cost nothing), or those invoices would never sync.
    start = start_date(ctx).isoformat()
    used = ctx.cursor(START_CURSOR)
    if used is not None and start < used:
        ctx.state.reread.update((CURSOR, PAYMENTS_CURSOR))
    if used != start:
        ctx.stage_cursor(START_CURSOR, start)
    return InvoicesOut()
