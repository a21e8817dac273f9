"""Work payments → QBO payments, linked to their invoice and deposited to the chosen account.

A payment needs its invoice in QBO (the invoices phase runs first) and the same customer (QBO
refuses a payment applied to another customer's invoice with 620). A payment whose invoice is not
synced on purpose (a draft, dated before the start date) is a counted skip with that true reason; one
whose invoice *failed* becomes a problem pointing at the invoice's own problem. Money received for an
invoice that is void in Work, or for an invoice Work does not have, is a problem of the payment
(issue 16: never a silent skip) - the bookkeeper must decide where that money belongs.

Corrections (issue 14): a payment edited in Work is a full update of the same QuickBooks payment
(same Id, current SyncToken: never a second payment); a payment voided in Work is voided in
QuickBooks (``operation=update&include=void``); one voided before it was ever synced is a counted
skip ("voided in Work before it was synced"), never a write. A payment larger than what is still
open on its QuickBooks invoice is one problem before anything is sent (QuickBooks would leave the
excess unapplied and the books would disagree with Work).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Payment
from qbosync_desktop.core.errors import QboValidationError, WorkNotFound, WorkRecordUnreadable
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import (
    Lister,
    iso_date,
    last_sent,
    missing_reference,
    money,
    open_problem_map,
    stamp,
)
from qbosync_desktop.sync.flows.invoices import start_date
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.proof import affected, qbo_invoices

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.payments"
#: QBO PaymentRefNum holds at most 21 characters; a longer Work reference goes to the private note.
MAX_REF = 21
VOID = "void"  # the fingerprint of a link whose QBO payment has been voided


def payment_body(ctx: RunContext, rec: Payment) -> JsonObject:
    amount = money(rec.amount)
    body: JsonObject = {
        "CustomerRef": {"value": ctx.qbo_id("client", rec.client_id) or "planned"},
        "TotalAmt": amount,
        "TxnDate": iso_date(rec.date),
        "DepositToAccountRef": {"value": str(ctx.settings.deposit_account)},
        "Line": [{"Amount": amount, "LinkedTxn": [
            {"TxnId": ctx.qbo_id("invoice", rec.invoice_id) or "planned", "TxnType": "Invoice"}]}],
    }
    ref = rec.reference
    if ref:
        if len(ref) <= MAX_REF:
            body["PaymentRefNum"] = ref
        else:
            body["PrivateNote"] = f"Reference: {ref}"
    return body


class PaymentsOut(OutboundFlow[Payment]):
    name = "payments"
    kind = "payment"
    entity = "Payment"
    cursor = CURSOR
    full_update = True
    reason_create = "new payment"
    reason_update = "payment changed in Work"

    def work_list(self, work: WorkApi) -> Lister[Payment]:
        return work.payments

    def label(self, rec: Payment) -> str:
        # What a person recognises: the reference they typed, else the amount and the date.
        ref = rec.reference
        return (f"Payment {ref} of {money(rec.amount):.2f}" if ref
                else f"Payment of {money(rec.amount):.2f} on {rec.date}")

    def references(self, rec: Payment) -> Iterable[tuple[str, str]]:
        yield "client", str(rec.client_id)
        if rec.invoice_id:
            yield "invoice", str(rec.invoice_id)

    def start(self, ctx: RunContext) -> None:
        self._invoice_problems = open_problem_map(ctx, "invoice")
        #: QBO invoice Id → what this run's payments already take from its open balance
        self._taken: dict[str, float] = {}
        self._open: dict[str, JsonObject] | None = None

    def records(self, ctx: RunContext) -> list[Payment]:
        recs = super().records(ctx)
        # only the invoice ids are kept: the records themselves are let go as they are planned
        self._invoice_ids = {str(r.invoice_id) for r in recs if not r.is_void and r.invoice_id}
        return recs

    def screen(self, ctx: RunContext, d: Draft[Payment]) -> Change | Leave | None:
        rec, link = d.rec, d.link
        if not rec.is_void:
            return None
        if link is None:
            return self.skip(ctx, d, "voided in Work before it was synced")
        if link.fingerprint == VOID:
            return LEAVE
        affected(ctx, rec.invoice_id)
        return Change(self.kind, d.work_id, link.qbo_id, "void", "payment voided in Work",
                      {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token}, entity=self.entity,
                      label=d.label, meta={"fingerprint": VOID, "audit_action": "void",
                                           "work_version": rec.version,
                                           "work_updated_at": stamp(rec.updated_at)})

    def body(self, ctx: RunContext, d: Draft[Payment]) -> JsonObject:
        return payment_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[Payment]) -> Change | QboValidationError | None:
        """A payment needs its invoice: one that failed makes this a problem; one not synced on
        purpose makes this a skip. A payment larger than its invoice's open balance is a problem."""
        rec, inv = d.rec, str(d.rec.invoice_id)
        if ctx.will_exist("invoice", inv):
            problem = self.overpaid(ctx, d)
            if problem is None:
                affected(ctx, inv)
            return problem
        if inv in self._invoice_problems or not ctx.will_exist("client", rec.client_id):
            return self.fail(d, missing_reference(ctx, "payment", d.label, "invoice", inv))
        return self.invoice_not_synced(ctx, d)

    def invoice_not_synced(self, ctx: RunContext, d: Draft[Payment]) -> Change:
        """Why the payment's invoice is not in QuickBooks, read from Work: a draft or an invoice dated
        before the start date is a counted skip saying so; a void or unknown invoice is a problem."""
        inv = str(d.rec.invoice_id)
        try:
            invoice = ctx.work.get_invoice(inv)
        except WorkNotFound:
            return self.fail(d, QboValidationError(
                f"{d.label} is for invoice {inv}, which Work does not have (it may have been deleted). "
                "It was not sent to QuickBooks.",
                title="Payment for an invoice Work does not have",
                hint="In Work, move the payment to the right invoice (or delete it if it was recorded by "
                     "mistake); it syncs by itself once it is changed there.",
                details={"rule": "a payment needs its invoice", "invoice_id": inv, "code": "unknown-invoice"}))
        except WorkRecordUnreadable:  # its own problem says what to fix; this one points at it
            return self.fail(d, missing_reference(ctx, "payment", d.label, "invoice", inv))
        if invoice.status == "void":
            return self.fail(d, QboValidationError(
                f"{d.label} is for invoice {invoice.number}, which is void in Work. Money received for a "
                "void invoice was not sent to QuickBooks.",
                title="Payment for a void invoice",
                hint="In Work, void this payment too, or move it to the invoice it pays; it syncs by "
                     "itself once it is changed there.",
                details={"rule": "a payment for a void invoice is not sent", "invoice_id": inv,
                         "invoice_number": invoice.number, "code": "void-invoice"}))
        if invoice.status == "draft":
            why = f"its invoice {invoice.number} is a draft in Work (drafts are not synced)"
        else:
            start = start_date(ctx)
            if invoice.issue_date < start:
                why = (f"its invoice {invoice.number} is dated {invoice.issue_date}, before the start date "
                       f"{start} (Sync Settings)")
            else:
                why = f"its invoice {invoice.number} is not synced"
        return self.skip(ctx, d, why)

    def overpaid(self, ctx: RunContext, d: Draft[Payment]) -> QboValidationError | None:
        """The payment against what is still open on its QuickBooks invoice (read back in one query per
        1000 invoices for the payments this run looks at). An invoice only planned (the preview) has
        no balance to compare yet."""
        qbo_inv = ctx.qbo_id("invoice", d.rec.invoice_id)
        if qbo_inv is None:
            return None
        if self._open is None:  # every invoice this run's payments point at, read in one go
            # their links in one query per 500 ids (one look-up per invoice cost ~4 ms each: 13 s of
            # a 5,000-invoice initial sync on a loaded machine)
            links = ctx.load_links("invoice", self._invoice_ids)
            self._open = dict(qbo_invoices(ctx, {lk.qbo_id for lk in links.values()}))
        found = self._open.get(qbo_inv)
        if found is None:
            return None
        open_amount = float(found.get("Balance") or 0)
        before = last_sent(self.kind, d.work_id) if d.link is not None else None
        if before:  # an edit: this payment's own earlier amount is back on the invoice once updated
            open_amount += float(before.get("TotalAmt") or 0)
        open_amount = round(open_amount - self._taken.get(qbo_inv, 0.0), 2)
        amount = money(d.rec.amount)
        if amount <= open_amount + 0.004:
            self._taken[qbo_inv] = self._taken.get(qbo_inv, 0.0) + amount
            return None
        number = found.get("DocNumber") or qbo_inv
        return QboValidationError(
            f"The {d.label} is {amount:.2f}, but only {open_amount:.2f} is still open on invoice {number} "
            "in QuickBooks. QuickBooks would keep the difference as an unapplied credit, and its books would "
            "no longer match Work.",
            title="Payment larger than the invoice's open balance",
            hint=(f"Check invoice {number}: its total in QuickBooks may differ from Work's (for example a "
                  "missing tax), or the payment was typed too large in Work. Correct it, then press Retry."),
            details={"rule": "a payment may not exceed its invoice's open balance", "invoice": number,
                     "payment_amount": f"{amount:.2f}", "open_balance": f"{open_amount:.2f}"},
        )


def phase(ctx: RunContext) -> PaymentsOut | None:
    s = ctx.settings
    return PaymentsOut() if s.payments and s.invoices else None
