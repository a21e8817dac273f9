"""Work payments → QBO payments, linked to their invoice and deposited to the chosen account.

A payment needs its invoice in QBO (the invoices phase runs first) and the same customer (QBO
refuses a payment applied to another customer's invoice with 620). A payment whose invoice is not
synced on purpose (a draft, a void, dated before the start date) is skipped with that reason; one
whose invoice *failed* becomes a problem pointing at the invoice's own problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Payment
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import (
    Lister,
    iso_date,
    missing_reference,
    money,
    open_problem_map,
)
from qbosync_desktop.sync.flows.outbound import Draft, OutboundFlow
from qbosync_desktop.sync.plan import Change

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.payments"
#: QBO PaymentRefNum holds at most 21 characters; a longer Work reference goes to the private note.
MAX_REF = 21


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

    def body(self, ctx: RunContext, d: Draft[Payment]) -> JsonObject:
        return payment_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[Payment]) -> Change | None:
        """A payment needs its invoice: one that failed makes this a problem; one not synced on
        purpose makes this a skip."""
        rec, inv = d.rec, str(d.rec.invoice_id)
        if ctx.will_exist("invoice", inv):
            return None
        if inv in self._invoice_problems or not ctx.will_exist("client", rec.client_id):
            return self.fail(d, missing_reference(ctx, "payment", d.label, "invoice", inv))
        return self.skip(ctx, d, "its invoice is not synced (a draft, a void, or dated before the start date)")


def phase(ctx: RunContext) -> PaymentsOut | None:
    s = ctx.settings
    return PaymentsOut() if s.payments and s.invoices else None
