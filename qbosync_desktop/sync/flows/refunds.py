"""Work refunds → QBO refund receipts (issue 14).

A refund is money paid back against one payment or one credit note. It becomes a ``RefundReceipt``
for the client's customer: one line of the amount (QuickBooks needs an item on every line: the
:func:`~qbosync_desktop.sync.flows.credits.plain_item`), paid from the Payments deposit account
(``DepositToAccountRef`` = the "Deposit to" account chosen for payments: the money goes back out
of the account it came into), with no tax: its line is ``NON`` in a US company (and a zero tax
override, so AST adds none) and the code mapped to "Lines without tax" in a company with tax codes
(every line there needs one; a missing mapping is the refund's problem). QuickBooks does not link a refund receipt to a payment or a credit
memo; the private note names what it refunds.

A refund larger than its payment (or credit note) is one problem, never sent. A refund voided in
Work: never synced → a counted skip; synced → its refund receipt is deleted (QuickBooks cannot void
one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from qbosync_desktop.connectors.work.models import CreditNote, Payment, Refund
from qbosync_desktop.core.errors import QboSyncError, QboValidationError, WorkNotFound, WorkRecordUnreadable
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import Lister, iso_date, missing_reference, money
from qbosync_desktop.sync.flows.credits import amount_line, no_plain_item, plain_item, voided
from qbosync_desktop.sync.flows.invoices import sales_tax, tax_code_problem
from qbosync_desktop.sync.flows.outbound import Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.proof import Written, state
from qbosync_desktop.sync.work_writes import read_all

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.refunds"
#: QBO PaymentRefNum holds at most 21 characters
MAX_REF = 21


def refund_body(ctx: RunContext, rec: Refund) -> JsonObject:
    codes, tax_detail = sales_tax(ctx, None, [False])  # money paid back carries no tax
    against = (f"payment {rec.payment_id}" if rec.payment_id else f"credit note {rec.credit_note_id}")
    body: JsonObject = {
        "CustomerRef": {"value": ctx.qbo_id("client", rec.client_id) or "planned"},
        "TxnDate": iso_date(rec.date),
        "DepositToAccountRef": {"value": str(ctx.settings.deposit_account)},
        "Line": [amount_line(plain_item(ctx), rec.amount, f"Refund ({rec.method})", codes[0])],
        "PrivateNote": f"Refund against Work {against}" + (f", reference {rec.reference}" if rec.reference else ""),
    }
    if tax_detail is not None:
        body["TxnTaxDetail"] = tax_detail
    if rec.reference and len(rec.reference) <= MAX_REF:
        body["PaymentRefNum"] = rec.reference
    return body


def too_large(label: str, amount: float, what: str, limit: float) -> QboValidationError:
    return QboValidationError(
        f"The {label} is {amount:.2f}, more than its {what} ({limit:.2f}). Money cannot be paid back beyond "
        "what was received or credited, so it was not sent to QuickBooks.",
        title=f"Refund larger than its {what}",
        hint=f"Correct the refund's amount (or the {what}) in Work; it then syncs by itself.",
        details={"rule": f"a refund may not exceed its {what}", "refund": f"{amount:.2f}", what: f"{limit:.2f}"},
    )


R_ = TypeVar("R_", Payment, CreditNote)


def _read_ahead(found: Mapping[str, R_ | QboSyncError], record_id: str, get: Callable[[str], R_]) -> R_:
    """The record :meth:`RefundsOut.prepare` read (its read's error raised here, where the check is);
    one it did not read (a record planned outside a chunk) is read now."""
    got = found.get(str(record_id))
    if got is None:
        return get(record_id)
    if isinstance(got, QboSyncError):
        raise got
    return got


class RefundsOut(OutboundFlow[Refund]):
    name = "refunds"
    kind = "refund"
    entity = "RefundReceipt"
    cursor = CURSOR
    full_update = True
    reason_create = "new refund"
    reason_update = "refund changed in Work"
    #: what this chunk's refunds refund, by Work id, read ahead by :meth:`prepare`: the record, or the
    #: error reading it raised
    _payments: Mapping[str, Payment | QboSyncError] = {}
    _credit_notes: Mapping[str, CreditNote | QboSyncError] = {}

    def work_list(self, work: WorkApi) -> Lister[Refund]:
        return work.refunds

    def label(self, rec: Refund) -> str:
        return f"Refund of {money(rec.amount):.2f} on {rec.date}"

    def screen(self, ctx: RunContext, d: Draft[Refund]) -> Change | Leave | None:
        if d.rec.status != "void":
            return None
        return voided(ctx, self, d, "refund voided in Work: the refund receipt is deleted "
                      "(QuickBooks cannot void one)")

    def body(self, ctx: RunContext, d: Draft[Refund]) -> JsonObject:
        return refund_body(ctx, d.rec)

    def prepare(self, ctx: RunContext, chunk: list[Refund]) -> None:
        """What the chunk's refunds refund, read from Work several at a time (a refund may not exceed
        it): one round trip each, in flight together rather than one after another."""
        live = [r for r in chunk if r.status != "void"]
        self._payments = read_all(ctx, (r.payment_id for r in live if r.payment_id),
                                  lambda work: work.get_payment)
        self._credit_notes = read_all(ctx, (r.credit_note_id for r in live if r.credit_note_id and not r.payment_id),
                                      lambda work: work.get_credit_note)

    def check(self, ctx: RunContext, d: Draft[Refund]) -> QboSyncError | None:
        rec = d.rec
        if not ctx.will_exist("client", rec.client_id):
            return missing_reference(ctx, "refund", d.label, "client", str(rec.client_id))
        amount = money(rec.amount)
        try:
            if rec.payment_id:
                paid = _read_ahead(self._payments, rec.payment_id, ctx.work.get_payment)
                if amount > money(paid.amount) + 0.004:
                    return too_large(d.label, amount, "payment", money(paid.amount))
            elif rec.credit_note_id:
                credit = _read_ahead(self._credit_notes, rec.credit_note_id, ctx.work.get_credit_note)
                if amount > money(credit.amount) + 0.004:
                    return too_large(d.label, amount, "credit note", money(credit.amount))
        except (WorkNotFound, WorkRecordUnreadable) as exc:
            # What it refunds is gone from Work, or unreadable there: a problem of the refund, never a
            # stopped run (issue 16: one bad record never stops a sync).
            what = "payment" if rec.payment_id else "credit note"
            return QboValidationError(
                f"The {d.label} refunds a {what} the sync cannot check: {exc.message} It was not sent to "
                "QuickBooks.",
                title=f"Refund of a {what} Work cannot give",
                hint=f"In Work, correct the {what} this refund belongs to (or the refund); it syncs by itself "
                     "once it is changed there.",
                details={"rule": f"a refund may not exceed its {what}", "refunds": rec.payment_id or rec.credit_note_id,
                         **{k: v for k, v in exc.details.items() if k in ("field", "value", "reason")}})
        if plain_item(ctx) is None:
            return no_plain_item("refund", d.label)
        problem = tax_code_problem(ctx, "refund", d.label, None, [False])
        if problem is not None:
            return problem
        state(ctx).totals.append(Written(self.kind, d.work_id, d.label, f"{amount:.2f}"))
        return None


def phase(ctx: RunContext) -> RefundsOut | None:
    s = ctx.settings
    return RefundsOut() if s.payments and s.invoices else None
