"""Work payments → QBO payments, linked to their invoice and deposited to the chosen account.

A payment needs its invoice in QBO (the invoices phase runs first) and the same customer (QBO
refuses a payment applied to another customer's invoice with 620). A payment whose invoice is not
synced on purpose (a draft, a void, dated before the start date) is skipped with that reason; one
whose invoice *failed* becomes a problem pointing at the invoice's own problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.flows.base import (
    OutboundPhase,
    fail,
    is_fresh,
    iso_date,
    missing_reference,
    money,
    open_problem_map,
    skip,
    unchanged,
    val,
    write_change,
)
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint

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


class PaymentsOut(OutboundPhase):
    name = "payments"
    kind = "payment"
    cursor = CURSOR
    lister = "payments"

    def iter_plan(self, ctx: RunContext, records: list[Any]) -> Iterator[Change]:
        invoice_problems = open_problem_map(ctx, "invoice")
        for rec in records:
            wid = str(val(rec, "id"))
            # What a person recognises: the reference they typed, else the amount and the date.
            ref = val(rec, "reference")
            label = (f"Payment {ref} of {money(val(rec, 'amount', 0)):.2f}" if ref
                     else f"Payment of {money(val(rec, 'amount', 0)):.2f} on {val(rec, 'date')}")
            inv = str(val(rec, "invoice_id"))
            body = payment_body(ctx, rec)
            fp = fingerprint(body)
            if unchanged(ctx, self.kind, wid, fp):
                continue
            if not ctx.will_exist("invoice", inv):
                if inv in invoice_problems or not ctx.will_exist("client", val(rec, "client_id")):
                    yield (fail(self.kind, rec, missing_reference(ctx, "payment", label, "invoice", inv),
                                        entity="Payment", label=label, fp=fp))
                else:
                    yield (skip(self.kind, rec, "its invoice is not synced (a draft, a void, or dated "
                                        "before the start date)", entity="Payment", label=label,
                                        audit=is_fresh(ctx, CURSOR, rec)))
                continue
            yield (write_change(ctx, kind=self.kind, entity="Payment", work_id=wid, label=label, body=body,
                                        rec=rec, full_update=True, reason_create="new payment",
                                        reason_update="payment changed in Work"))


def phase(ctx: RunContext) -> PaymentsOut | None:
    s = ctx.settings
    return PaymentsOut() if s.payments and s.invoices else None
