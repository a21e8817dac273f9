"""Proof after writing money (issue 14 point 4): QuickBooks read back, compared with Work to the cent.

* **Totals** - after each credit memo or refund receipt a run wrote, its QuickBooks ``TotalAmt`` is
  compared with Work's ``amount``.
* **Balances** - after the payments and credits of a run, each affected invoice (one whose payment or
  credit this run created, updated or voided, or one with an open balance problem) has its QuickBooks
  ``Balance`` compared with Work's ``balance`` (total − active payments − applied credits).

Reads are batched: one ``select Id, <the fields compared> from <Entity> where Id in (...)`` per 1000
ids (QBO's page size; asking for the few fields compared, not whole invoices with their lines), so the
proof of a whole initial sync costs a handful of small requests within the throttle. Work's side is
the ``total`` and ``balance`` of each Work invoice as this run read it (the invoices phase notes
them: Work computes the balance when an invoice is read); an invoice the run did not read, or whose
noted balance differs, is read again from Work - one by one, or as the whole list when more than 100
are - so a payment recorded in Work during the run never makes a false problem.

A difference of one cent is one plain-language problem (kind ``invoice_balance``, ``credit_note_total``
or ``refund_total``, keyed by the Work id): it names the record, gives both amounts, the likely reason
and what to do. It closes itself in the first run whose proof matches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from qbosync_desktop.connectors.qbo.query import quote
from qbosync_desktop.core.errors import QboSyncError, QboValidationError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import problems

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.connectors.work.models import Invoice
    from qbosync_desktop.sync.context import RunContext

log = logging.getLogger(__name__)

#: QBO's largest page: one query per this many ids
CHUNK = 1000
BALANCE = "invoice_balance"
CREDIT_TOTAL = "credit_note_total"
REFUND_TOTAL = "refund_total"


@dataclass
class Written:
    """A money record a run wrote: what its QuickBooks total must be."""

    kind: str  # the Work-side kind of its link ("credit_note", "refund")
    work_id: str
    label: str
    expected: str  # Work's amount, two decimals


class WorkFigures(NamedTuple):
    """What the proof compares of a Work invoice."""

    number: str
    total: Decimal
    balance: Decimal | None


@dataclass
class ProofState:
    """Per run: the Work invoices whose balance a write changed, the totals to check, QBO reads, and
    the figures of the Work invoices the run read (three short values each, not the records)."""

    affected_invoices: set[str] = field(default_factory=set)
    totals: list[Written] = field(default_factory=list)
    invoices: dict[str, JsonObject] = field(default_factory=dict)
    work_seen: dict[str, WorkFigures] = field(default_factory=dict)


def state(ctx: RunContext) -> ProofState:
    return ctx.flow_state(ProofState)


def affected(ctx: RunContext, work_invoice_id: object) -> None:
    """A write of this run changes what is open on this Work invoice."""
    state(ctx).affected_invoices.add(str(work_invoice_id))


def read_by_ids(ctx: RunContext, entity: str, ids: Iterable[str], fields: tuple[str, ...] = ()) -> dict[str, JsonObject]:
    """QBO records by Id (just ``fields`` and ``Id`` when given), one query per 1000 ids."""
    wanted = sorted({str(i) for i in ids if i}, key=lambda v: (len(v), v))
    out: dict[str, JsonObject] = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        for row in ctx.qbo.query(entity, where=f"Id IN {quote(tuple(chunk))}", fields=fields):
            out[str(row.get("Id"))] = row
    return out


#: what the proof and the payments' overpayment check read of a QuickBooks invoice
INVOICE_FIELDS = ("DocNumber", "TotalAmt", "Balance")


def qbo_invoices(ctx: RunContext, ids: Iterable[str]) -> dict[str, JsonObject]:
    """QBO invoices by Id (their :data:`INVOICE_FIELDS`), read once per run (the ones not read yet,
    in one batched read)."""
    st = state(ctx)
    missing = {str(i) for i in ids} - set(st.invoices)
    if missing:
        st.invoices.update(read_by_ids(ctx, "Invoice", missing, INVOICE_FIELDS))
    return st.invoices


def written_invoice(ctx: RunContext, obj: JsonObject) -> None:
    """QuickBooks' answer to an invoice this run wrote already says its number, total and balance:
    the overpayment check before the payments uses it instead of reading the invoice back (an initial
    sync read back every invoice it had just created). The proof after the writes reads it anyway."""
    if obj.get("Id"):
        state(ctx).invoices[str(obj["Id"])] = {k: obj.get(k) for k in ("Id", *INVOICE_FIELDS)}


def seen_in_work(ctx: RunContext, rec: Invoice) -> None:
    """The invoices phase read this Work invoice: note what the proof compares (its balance is Work's
    at the time of reading)."""
    state(ctx).work_seen[str(rec.id)] = WorkFigures(str(rec.number), rec.total, rec.balance)


#: Above this many invoices the proof reads Work's whole invoice list (a few pages of hundreds)
#: instead of one request per invoice (an initial sync of 15,000 payments).
LIST_ABOVE = 100


def work_invoices(ctx: RunContext, ids: list[str]) -> dict[str, WorkFigures]:
    """Work invoices' figures by id, read now (the balance Work computes when they are read)."""
    if len(ids) > LIST_ABOVE:
        wanted = set(ids)
        return {inv.id: WorkFigures(inv.number, inv.total, inv.balance) for inv in ctx.work.invoices()
                if inv.id in wanted}
    out = {}
    for wid in ids:
        inv = ctx.work.get_invoice(wid)
        out[wid] = WorkFigures(inv.number, inv.total, inv.balance)
    return out


def _off(qbo_value: Any, work_value: Decimal | None) -> bool:
    return work_value is not None and abs(float(qbo_value or 0) - float(work_value)) >= 0.005


def _mismatch(what: str, label: str, qbo: float, work: str, reason: str, hint: str) -> QboSyncError:
    return QboValidationError(
        f"{label}: QuickBooks shows {what} {qbo:.2f}, Work shows {work}. {reason}",
        title=f"QuickBooks {what} differs from Work",
        hint=hint,
        details={"rule": f"{what} in QuickBooks equals Work's to the cent", "quickbooks": f"{qbo:.2f}",
                 "work": work},
    )


class Proof:
    """Reads back, in a run whose writes are all finished, what the run's money writes changed. The
    credit applications phase (on whenever invoices are) runs it as its
    :class:`~qbosync_desktop.sync.plan.Settles` step, so the preview lists no extra phase."""

    name = "invoices"  # its problems are counted with the invoices

    def settle(self, ctx: RunContext) -> bool:
        started = time.monotonic()
        try:
            return self._settle(ctx)
        finally:
            log.info("Run %s proof of money writes: %.2fs", ctx.run_id, time.monotonic() - started)

    def _settle(self, ctx: RunContext) -> bool:
        st = state(ctx)
        found: list[tuple[str, str, QboSyncError | None, str | None]] = []  # kind, work id, problem, qbo id
        # Totals of credit memos and refund receipts written this run
        for entity, kind, pkind in (("CreditMemo", "credit_note", CREDIT_TOTAL), ("RefundReceipt", "refund", REFUND_TOTAL)):
            written = [w for w in st.totals if w.kind == kind and ctx.qbo_id(kind, w.work_id)]
            if not written:
                continue
            rows = read_by_ids(ctx, entity, [str(ctx.qbo_id(kind, w.work_id)) for w in written], ("TotalAmt",))
            for w in written:
                qid = str(ctx.qbo_id(kind, w.work_id))
                row = rows.get(qid)
                if row is None:
                    continue
                total = float(row.get("TotalAmt") or 0)
                problem = None
                if abs(total - float(w.expected)) >= 0.005:
                    problem = _mismatch(
                        "total", w.label, total, w.expected,
                        "QuickBooks probably calculated the tax itself, or rounded a line differently.",
                        "Choose 'as charged in Work' for tax amounts in Sync Settings, or correct the record "
                        "in QuickBooks to match Work; the next sync checks it again.")
                found.append((pkind, w.work_id, problem, qid))
        # Balances of the invoices this run's payments and credits touched, and those still off
        # An open balance problem is checked again when its invoice is touched again, or on Retry (a
        # no-op run reads nothing back).
        open_ids = {str(p.work_id) for p in Problem.select(Problem.work_id).where(
            (Problem.kind == BALANCE) & (Problem.state == "open") & Problem.retry_requested) if p.work_id}
        invoice_ids = sorted(st.affected_invoices | open_ids)
        linked = {wid: q for wid in invoice_ids if (q := ctx.qbo_id("invoice", wid))}
        if linked:
            st.invoices.clear()  # read back after the writes, not the copy read while planning
            rows = qbo_invoices(ctx, linked.values())
            # Work's figures as this run read them; read again: the ones it did not read, and those
            # that differ (a payment recorded in Work since must not make a false problem)
            work = {wid: st.work_seen[wid] for wid in linked if wid in st.work_seen}
            again = [wid for wid, qid in linked.items() if wid not in work
                     or _off((rows.get(qid) or {}).get("Balance"), work[wid].balance)]
            if again:
                work.update(work_invoices(ctx, again))
            for wid, qid in linked.items():
                row = rows.get(qid)
                inv = work.get(wid)
                if row is None or inv is None:
                    continue
                if inv.balance is None:
                    continue
                work_balance = f"{inv.balance:.2f}"
                balance = float(row.get("Balance") or 0)
                problem = None
                if abs(balance - float(inv.balance)) >= 0.005:
                    total = float(row.get("TotalAmt") or 0)
                    reason = ("Its total differs too (QuickBooks " f"{total:.2f}, Work {inv.total:.2f}), probably "
                              "the tax." if abs(total - float(inv.total)) >= 0.005 else
                              "A payment or credit differs between the two, or was changed in QuickBooks.")
                    problem = _mismatch(
                        "balance", f"Invoice {inv.number}", balance, work_balance, reason,
                        f"Compare the payments and credits of invoice {inv.number} in Work and QuickBooks and "
                        "correct the one that is wrong (in Work, then sync); the next sync checks it again.")
                found.append((BALANCE, wid, problem, qid))
        if not found:
            return False
        opened: list[Problem] = []
        with database.atomic():
            for pkind in {k for k, _, problem, _ in found if problem is None}:
                problems.close_problems(pkind, [w for k, w, problem, _ in found if k == pkind and problem is None])
            for pkind, work_id, problem, qbo_id in found:
                if problem is None:
                    continue
                known = Problem.get_or_none((Problem.kind == pkind) & (Problem.work_id == work_id)
                                            & (Problem.state == "open"))
                p = problems.open_problem(pkind, work_id, problem, run_id=ctx.run_id, qbo_id=qbo_id)
                if known is None or known.message != p.message:  # seen again unchanged is not news
                    opened.append(p)
        for p in opened:
            ctx.count(self.name, "failed")
            ctx.observer.problem(problems.problem_dict(p))
        return True

