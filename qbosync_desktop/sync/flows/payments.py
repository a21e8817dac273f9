"""Work payments → QBO payments, linked to their invoice and deposited to the chosen account.

A payment needs its invoice in QBO (the invoices phase runs first) and the same customer (QBO
refuses a payment applied to another customer's invoice with 620). A payment whose invoice is not
synced on purpose (a draft, a void, dated before the start date) is skipped with that reason; one
whose invoice *failed* becomes a problem pointing at the invoice's own problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.flows.base import (
    Lister,
    iso_date,
    missing_reference,
    money,
    open_problem_map,
    val,
)
from qbosync_desktop.sync.flows.outbound import Draft, OutboundFlow
from qbosync_desktop.sync.plan import Change

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

CURSOR = "work.payments"
#: QBO PaymentRefNum holds at most 21 characters; a longer Work reference goes to the private note.
MAX_REF = 21


def payment_body(ctx: RunContext, rec: Any) -> dict[str, Any]:
    amount = money(val(rec, "amount", 0))
    body: dict[str, Any] = {
        "CustomerRef": {"value": ctx.qbo_id("client", val(rec, "client_id")) or "planned"},
        "TotalAmt": amount,
        "TxnDate": iso_date(val(rec, "date")),
        "DepositToAccountRef": {"value": str(ctx.settings.deposit_account)},
        "Line": [{"Amount": amount, "LinkedTxn": [
            {"TxnId": ctx.qbo_id("invoice", val(rec, "invoice_id")) or "planned", "TxnType": "Invoice"}]}],
    }
    ref = val(rec, "reference")
    if ref:
        if len(ref) <= MAX_REF:
            body["PaymentRefNum"] = ref
        else:
            body["PrivateNote"] = f"Reference: {ref}"
    return body


class PaymentsOut(OutboundFlow):
    name = "payments"
    kind = "payment"
    entity = "Payment"
    cursor = CURSOR
    full_update = True
    reason_create = "new payment"
    reason_update = "payment changed in Work"

    def work_list(self, work: Any) -> Lister:
        return work.payments

    def label(self, rec: Any) -> str:
        # What a person recognises: the reference they typed, else the amount and the date.
        ref = val(rec, "reference")
        return (f"Payment {ref} of {money(val(rec, 'amount', 0)):.2f}" if ref
                else f"Payment of {money(val(rec, 'amount', 0)):.2f} on {val(rec, 'date')}")

    def start(self, ctx: RunContext) -> None:
        self._invoice_problems = open_problem_map(ctx, "invoice")

    def body(self, ctx: RunContext, d: Draft) -> dict[str, Any]:
        return payment_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft) -> Change | None:
        """A payment needs its invoice: one that failed makes this a problem; one not synced on
        purpose makes this a skip."""
        rec, inv = d.rec, str(val(d.rec, "invoice_id"))
        if ctx.will_exist("invoice", inv):
            return None
        if inv in self._invoice_problems or not ctx.will_exist("client", val(rec, "client_id")):
            return self.fail(d, missing_reference(ctx, "payment", d.label, "invoice", inv))
        return self.skip(ctx, d, "its invoice is not synced (a draft, a void, or dated before the start date)")


def phase(ctx: RunContext) -> PaymentsOut | None:
    s = ctx.settings
    return PaymentsOut() if getattr(s, "payments", False) and getattr(s, "invoices", False) else None
