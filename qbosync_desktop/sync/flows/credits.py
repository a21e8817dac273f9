"""Work credit notes → QBO credit memos, and their application to an invoice (issue 14).

A credit note becomes a ``CreditMemo`` for the client's customer, with Work's lines (item, quantity,
unit price, amount) and its tax sent the way invoices send theirs (``invoices.sales_tax``): in a US
company ``TAX``/``NON`` line codes and Work's tax as the ``TxnTaxDetail.TotalTax`` override; in a
company with tax codes each line's mapped QuickBooks tax code and Work's tax as tax lines. A rate
(or "Lines without tax") with no mapped code is the credit note's problem, as for an invoice. A credit note without lines (a plain amount)
is one line of the :func:`plain_item`. DocNumber = the Work number.

When Work applied the credit to an invoice, the second phase (``credit_applications``) applies it
the way QuickBooks does: a **Payment** with ``TotalAmt`` 0 whose lines link the Invoice and the
CreditMemo for the credit's amount. Its link is kept under kind ``credit_application`` (the Work
credit note's id), so it is written exactly once and updated, never duplicated.

A credit note voided in Work: never synced → a counted skip; synced → its credit memo is deleted
(QuickBooks cannot void a credit memo; deleting it takes the credit back from the invoice it was
applied to, and the application payment is left with nothing applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import CreditNote
from qbosync_desktop.core.errors import QboSyncError, QboValidationError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import (
    Lister,
    doc_number_problem,
    iso_date,
    missing_reference,
    money,
    open_problem_map,
    qty,
    stamp,
)
from qbosync_desktop.sync.flows.invoices import invoice_not_synced, sales_tax, tax_code_problem
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow, R
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.proof import Proof, Written, affected, not_announced, read_work_ahead, state

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.credit_notes"
APPLIED_CURSOR = "work.credit_notes.applied"
VOID = "void"  # the fingerprint of a link whose QBO record is gone (deleted) because Work voided it


#: the cursor keeping the plain item per company: "<realm id>|<item Id>"
PLAIN_ITEM_CURSOR = "qbo.lookup.plain_item"


@dataclass
class PlainItem:
    item_id: str | None = None
    read: bool = False


def plain_item(ctx: RunContext) -> str | None:
    """The QuickBooks item a line without a Work item uses (a plain-amount credit, a refund): the item
    named "Services" (every QuickBooks company starts with it), else the first active service item by
    Id. Kept per company in a cursor (a run that sends nothing new costs no request for it); looked
    up at most once per run, and only when a record needs it and none is kept."""
    st = ctx.flow_state(PlainItem)
    if not st.read:
        st.read = True
        conn = ctx.connection
        realm = (conn.realm_id if conn is not None else None) or ""
        kept = ctx.cursor(PLAIN_ITEM_CURSOR) or ""
        if kept.startswith(f"{realm}|") and kept != f"{realm}|":
            st.item_id = kept.split("|", 1)[1]
        else:
            item = next(iter(ctx.qbo.query("Item", where="Name = 'Services' AND Active = true")), None) or next(
                iter(ctx.qbo.query("Item", where="Type = 'Service' AND Active = true", order_by="Id",
                                   page_size=1)), None)
            st.item_id = str(item["Id"]) if item is not None else None
            if st.item_id is not None:
                ctx.stage_cursor(PLAIN_ITEM_CURSOR, f"{realm}|{st.item_id}")
    return st.item_id


def no_plain_item(what: str, label: str) -> QboValidationError:
    return QboValidationError(
        f"The {what} '{label}' has no item lines, and QuickBooks needs an item on every line; this company "
        "has no service item to use.",
        title="No item for an amount without lines",
        hint="Add a service item named 'Services' in QuickBooks, then press Retry.",
        details={"rule": "sales form lines need an item"},
    )


def amount_line(item_id: str | None, amount: object, description: str,
                tax_code: JsonObject | None = None) -> JsonObject:
    detail: JsonObject = {"ItemRef": {"value": item_id or "planned"}}
    if tax_code is not None:
        detail["TaxCodeRef"] = tax_code
    return {"DetailType": "SalesItemLineDetail", "Amount": money(amount), "Description": description,
            "SalesItemLineDetail": detail}


def credit_memo_body(ctx: RunContext, rec: CreditNote) -> JsonObject:
    """The credit memo of a Work credit note. Its tax goes the invoices' way (:func:`sales_tax`): in a
    US company lines ``TAX``/``NON`` and Work's tax as the override; in a company with tax codes each
    line's mapped QuickBooks tax code and Work's tax as tax lines, so ``TotalAmt`` is Work's amount."""
    lines: list[JsonObject] = []
    codes, tax_detail = sales_tax(ctx, rec.tax, [ln.taxable for ln in rec.lines] or [False])
    for line, code in zip(rec.lines, codes, strict=False):
        detail: JsonObject = {"ItemRef": {"value": ctx.qbo_id("item", line.item_id) or "planned"},
                              "Qty": qty(line.quantity), "UnitPrice": money(line.unit_price)}
        if code is not None:
            detail["TaxCodeRef"] = code
        entry: JsonObject = {"DetailType": "SalesItemLineDetail", "Amount": money(line.amount),
                             "SalesItemLineDetail": detail}
        if line.description:
            entry["Description"] = line.description
        lines.append(entry)
    if not lines:
        lines.append(amount_line(plain_item(ctx), rec.subtotal, rec.notes or f"Credit {rec.number}", codes[0]))
    body: JsonObject = {
        "CustomerRef": {"value": ctx.qbo_id("client", rec.client_id) or "planned"},
        "DocNumber": rec.number,
        "TxnDate": iso_date(rec.date),
        "Line": lines,
    }
    if tax_detail is not None:
        body["TxnTaxDetail"] = tax_detail
    if rec.notes:
        body["PrivateNote"] = rec.notes
    return body


def voided(ctx: RunContext, flow: OutboundFlow[R], d: Draft[R], reason: str) -> Change | Leave:
    """A record Work voided whose QuickBooks form cannot be voided (a credit memo, a refund receipt):
    never synced → a counted skip; already deleted → nothing to do; else a delete of the linked record."""
    link = d.link
    if link is None:
        return flow.skip(ctx, d, "voided in Work before it was synced", why="void_unsynced")
    if link.fingerprint == VOID:
        return LEAVE
    return Change(flow.kind, d.work_id, link.qbo_id, "delete", reason,
                  {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token}, entity=flow.entity, label=d.label,
                  meta={"fingerprint": VOID, "audit_action": "delete", "work_version": d.rec.version,
                        "work_updated_at": stamp(d.rec.updated_at)})


class CreditNotesOut(OutboundFlow[CreditNote]):
    name = "credit_notes"
    kind = "credit_note"
    entity = "CreditMemo"
    cursor = CURSOR
    full_update = True
    reason_create = "new credit note"
    reason_update = "credit note changed in Work: all lines sent again"

    def work_list(self, work: WorkApi) -> Lister[CreditNote]:
        return work.credit_notes

    def label(self, rec: CreditNote) -> str:
        return f"Credit note {rec.number}"

    def screen(self, ctx: RunContext, d: Draft[CreditNote]) -> Change | Leave | None:
        if d.rec.status != "void":
            return None
        if d.link is not None and d.link.fingerprint != VOID and d.rec.invoice_id:
            affected(ctx, d.rec.invoice_id, by=(self.kind, d.work_id))
            not_announced(ctx, f"{d.label} deleted")  # its credit leaves the invoice it was applied to
        return voided(ctx, self, d, "credit note voided in Work: the credit memo is deleted "
                      "(QuickBooks cannot void one)")

    def body(self, ctx: RunContext, d: Draft[CreditNote]) -> JsonObject:
        return credit_memo_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[CreditNote]) -> QboSyncError | None:
        rec = d.rec
        problem = doc_number_problem(rec.number, what="credit note")
        if problem is None and not ctx.will_exist("client", rec.client_id):
            problem = missing_reference(ctx, "credit note", rec.number, "client", str(rec.client_id))
        if problem is None:
            for line in rec.lines:
                if not ctx.will_exist("item", line.item_id):
                    return missing_reference(ctx, "credit note", rec.number, "item", str(line.item_id))
            if not rec.lines and plain_item(ctx) is None:
                return no_plain_item("credit note", rec.number)
            problem = tax_code_problem(ctx, "credit note", rec.number, rec.tax, [ln.taxable for ln in rec.lines])
        if problem is None:
            state(ctx).totals.append(Written(self.kind, d.work_id, d.label, f"{money(rec.amount):.2f}"))
            if rec.invoice_id:
                affected(ctx, rec.invoice_id, by=(self.kind, d.work_id))
            if d.link is not None:
                not_announced(ctx, f"{d.label} changed")
        return problem


def application_body(ctx: RunContext, rec: CreditNote) -> JsonObject:
    amount = money(rec.amount)
    return {
        "CustomerRef": {"value": ctx.qbo_id("client", rec.client_id) or "planned"},
        "TotalAmt": 0,
        "TxnDate": iso_date(rec.date),
        "PrivateNote": f"Credit note {rec.number} applied",
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": ctx.qbo_id("invoice", rec.invoice_id) or "planned",
                                              "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": ctx.qbo_id("credit_note", rec.id) or "planned",
                                              "TxnType": "CreditMemo"}]},
        ],
    }


class CreditApplicationsOut(OutboundFlow[CreditNote]):
    """A credit note Work applied to an invoice → a zero Payment linking the Invoice and the CreditMemo."""

    name = "credit_applications"
    kind = "credit_application"
    entity = "Payment"
    cursor = APPLIED_CURSOR
    full_update = True
    reason_create = "credit applied to its invoice"
    reason_update = "credit application changed in Work"

    def work_list(self, work: WorkApi) -> Lister[CreditNote]:
        return work.credit_notes

    def label(self, rec: CreditNote) -> str:
        return f"Credit note {rec.number} applied"

    def start(self, ctx: RunContext) -> None:
        self._credit_problems = open_problem_map(ctx, "credit_note")
        self._invoice_problems = open_problem_map(ctx, "invoice")

    def screen(self, ctx: RunContext, d: Draft[CreditNote]) -> Change | Leave | None:
        if d.rec.status == "void" or not d.rec.invoice_id:
            # Nothing to apply; a voided credit's memo is deleted by the credit notes phase, which
            # takes its credit back from the invoice.
            return LEAVE
        if str(d.rec.id) in self._credit_problems or not ctx.will_exist("credit_note", d.rec.id):
            return LEAVE  # the credit note's own problem (or skip) says why
        return None

    def body(self, ctx: RunContext, d: Draft[CreditNote]) -> JsonObject:
        return application_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[CreditNote]) -> QboSyncError | Change | None:
        inv = str(d.rec.invoice_id)
        if ctx.will_exist("invoice", inv):
            affected(ctx, inv, by=(self.kind, d.work_id))
            if d.link is not None:  # it may have been on another invoice before
                not_announced(ctx, f"{d.label} changed")
            return None
        if inv in self._invoice_problems:
            return missing_reference(ctx, "credit note", d.rec.number, "invoice", inv)
        return invoice_not_synced(ctx, self, d, inv, what="credit note")

    def stream(self, ctx: RunContext) -> int:
        n = super().stream(ctx)
        # Every write that changes an invoice's balance is now planned: the proof's Work side is read
        # while the rest of the run goes on (sync/proof.py WorkAhead).
        read_work_ahead(ctx)
        return n

    def settle(self, ctx: RunContext) -> bool:
        """The proof after the run's money writes (sync/proof.py): totals and invoice balances."""
        return Proof().settle(ctx)


def phase(ctx: RunContext) -> CreditNotesOut | None:
    s = ctx.settings
    return CreditNotesOut() if s.invoices else None


def applications_phase(ctx: RunContext) -> CreditApplicationsOut | None:
    s = ctx.settings
    return CreditApplicationsOut() if s.invoices else None
