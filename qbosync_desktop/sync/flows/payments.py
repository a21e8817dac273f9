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
from qbosync_desktop.core.errors import QboValidationError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.db import database
from qbosync_desktop.sync.context import LOOKUP_CHUNK, qbo_deleted
from qbosync_desktop.sync.flows.base import (
    Lister,
    iso_date,
    last_sent,
    missing_reference,
    money,
    open_problem_map,
    stamp,
)
from qbosync_desktop.sync.flows.invoices import invoice_not_synced
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.proof import CHUNK as PROOF_CHUNK
from qbosync_desktop.sync.proof import affected, not_announced, read_by_ids

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

    #: one query of QuickBooks invoices (their open balances) per chunk of payments
    chunk_size = PROOF_CHUNK

    def start(self, ctx: RunContext) -> None:
        self._invoice_problems = open_problem_map(ctx, "invoice")
        self._open = OpenBalances()

    def prepare(self, ctx: RunContext, chunk: list[Payment]) -> None:
        """The open balances of the QuickBooks invoices this chunk's payments point at."""
        self._open.announce({q for r in chunk if not r.is_void and r.invoice_id
                              and (q := ctx.qbo_id("invoice", r.invoice_id))})

    def screen(self, ctx: RunContext, d: Draft[Payment]) -> Change | Leave | None:
        rec, link = d.rec, d.link
        if not rec.is_void:
            return None
        if link is None:
            return self.skip(ctx, d, "voided in Work before it was synced", why="void_unsynced")
        if link.fingerprint == VOID:
            return LEAVE
        self.touches(ctx, d, str(rec.invoice_id))
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
        if qbo_deleted(ctx.link("client", rec.client_id)):
            # its client's customer was deleted (merged) in QuickBooks: a payment naming it would
            # earn "Invalid Reference Id" even on a synced invoice (sync/clients/deleted.py)
            return self.fail(d, missing_reference(ctx, "payment", d.label, "client", str(rec.client_id)))
        if ctx.will_exist("invoice", inv):
            problem = self.overpaid(ctx, d)
            if problem is None:
                self.touches(ctx, d, inv)
            return problem
        if inv in self._invoice_problems or not ctx.will_exist("client", rec.client_id):
            return self.fail(d, missing_reference(ctx, "payment", d.label, "invoice", inv))
        return self.invoice_not_synced(ctx, d)

    def touches(self, ctx: RunContext, d: Draft[Payment], inv: str) -> None:
        """The write to come changes this invoice's balance (the proof reads it back once QuickBooks
        answered). An update or void also changes the invoice the payment was on before: the one our
        last write sent (a change made in QuickBooks since meets a stale SyncToken, see proof.py).
        When that is not this invoice, or not known, every balance is read at the end."""
        affected(ctx, inv, by=(self.kind, d.work_id))
        if d.link is None:
            return
        sent = last_sent(self.kind, d.work_id)
        before = {str(t.get("TxnId")) for ln in (sent or {}).get("Line") or () if isinstance(ln, dict)
                  for t in ln.get("LinkedTxn") or () if isinstance(t, dict)}
        if before != {ctx.qbo_id("invoice", inv)}:
            not_announced(ctx, f"{d.label} was on another invoice before")

    def invoice_not_synced(self, ctx: RunContext, d: Draft[Payment]) -> Change:
        """Why the payment's invoice is not in QuickBooks (see :func:`invoices.invoice_not_synced`)."""
        return invoice_not_synced(ctx, self, d, str(d.rec.invoice_id), what="payment")

    def overpaid(self, ctx: RunContext, d: Draft[Payment]) -> QboValidationError | None:
        """The payment against what is still open on its QuickBooks invoice (read back in one query per
        1000 invoices for the payments this run looks at). An invoice only planned (the preview) has
        no balance to compare yet."""
        qbo_inv = ctx.qbo_id("invoice", d.rec.invoice_id)
        if qbo_inv is None:
            return None
        found = self._open.get(ctx, qbo_inv)
        if found is None:
            return None
        open_amount, number = found
        before = last_sent(self.kind, d.work_id) if d.link is not None else None
        if before:  # an edit: this payment's own earlier amount is back on the invoice once updated
            open_amount += float(before.get("TotalAmt") or 0)
        open_amount = round(open_amount, 2)
        amount = money(d.rec.amount)
        if amount <= open_amount + 0.004:
            self._open.take(qbo_inv, amount)
            return None
        number = number or qbo_inv
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


class OpenBalances:
    """What is still open on the QuickBooks invoices this run's payments point at: each invoice read
    once per run, before any of this run's payments to it is sent, then reduced by every payment
    planned against it (two payments of one invoice must not both fit its balance).

    One row per invoice in a TEMP table of the engine thread's SQLite connection (never the data
    file): at 400,000 invoices a Python dict of them would grow the run's memory with the company.
    Only the current chunk's invoices are held in memory; their new balances are written back
    before the next chunk is read."""

    TABLE = "temp.payment_open"

    def __init__(self) -> None:
        database.execute_sql("CREATE TEMP TABLE IF NOT EXISTS payment_open "
                             "(qbo_id TEXT PRIMARY KEY, open REAL, number TEXT) WITHOUT ROWID")
        database.execute_sql(f"DELETE FROM {self.TABLE}")
        #: the current chunk's invoices: QBO Id → [open balance, DocNumber] (None: not in QuickBooks)
        self._chunk: dict[str, list | None] = {}
        #: the current chunk's invoices not read yet
        self._wanted: set[str] = set()
        self._changed: set[str] = set()

    def announce(self, qbo_ids: Iterable[str]) -> None:
        """The invoices the next chunk of payments points at: read on the first :meth:`get` (a chunk
        whose payments are all unchanged reads nothing - a sync with nothing to do stays one request)."""
        self._flush()
        self._chunk = {}
        self._wanted = set(qbo_ids)

    def _read(self, ctx: RunContext, qbo_ids: Iterable[str]) -> None:
        """Hold these invoices (read from QuickBooks those not read before in this run)."""
        wanted = sorted(set(qbo_ids) - set(self._chunk))
        chunk = self._chunk
        for i in range(0, len(wanted), LOOKUP_CHUNK):
            part = wanted[i:i + LOOKUP_CHUNK]
            for qid, open_amount, number in database.execute_sql(
                    f"SELECT qbo_id, open, number FROM {self.TABLE} WHERE qbo_id IN ({', '.join('?' * len(part))})",
                    part):
                chunk[str(qid)] = None if open_amount is None else [float(open_amount), number]
        missing = [q for q in wanted if q not in chunk]
        if missing:
            rows = read_by_ids(ctx, "Invoice", missing, fields=("Balance", "DocNumber"))
            for qid in missing:
                row = rows.get(qid)
                chunk[qid] = None if row is None else [float(row.get("Balance") or 0), row.get("DocNumber")]
            database.cursor().executemany(
                f"INSERT OR REPLACE INTO {self.TABLE} (qbo_id, open, number) VALUES (?, ?, ?)",
                [(q, None, None) if (v := chunk[q]) is None else (q, v[0], v[1]) for q in missing])
        self._wanted.clear()

    def get(self, ctx: RunContext, qbo_id: str) -> tuple[float, str | None] | None:
        """The invoice's open balance (less this run's payments planned so far) and its number."""
        if qbo_id not in self._chunk:
            self._read(ctx, [*self._wanted, qbo_id])
        found = self._chunk.get(qbo_id)
        return None if found is None else (found[0], found[1])

    def take(self, qbo_id: str, amount: float) -> None:
        found = self._chunk.get(qbo_id)
        if found is not None:
            found[0] = round(found[0] - amount, 2)
            self._changed.add(qbo_id)

    def _flush(self) -> None:
        if self._changed:
            database.cursor().executemany(f"UPDATE {self.TABLE} SET open = ? WHERE qbo_id = ?",
                                          [(v[0], q) for q in self._changed if (v := self._chunk.get(q))])
            self._changed.clear()


def phase(ctx: RunContext) -> PaymentsOut | None:
    s = ctx.settings
    return PaymentsOut() if s.payments and s.invoices else None
