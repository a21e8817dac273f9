"""Proof after writing money (issue 14 point 4): QuickBooks read back, compared with Work to the cent.

* **Totals** - after each credit memo or refund receipt a run wrote, its QuickBooks ``TotalAmt`` is
  compared with Work's ``amount``.
* **Balances** - after the payments and credits of a run, each affected invoice (one whose payment or
  credit this run created, updated or voided, or one with an open balance problem) has its QuickBooks
  ``Balance`` compared with Work's ``balance`` (total − active payments − applied credits).

Reads are batched: one ``select * from <Entity> where Id in (...)`` per 1000 ids (QBO's page size),
so the proof of a whole initial sync costs a handful of requests within the throttle. Work invoices
are read back one by one, or as the whole list when more than 100 are affected (Work's balance is
computed when read).

A difference of one cent is one plain-language problem (kind ``invoice_balance``, ``credit_note_total``
or ``refund_total``, keyed by the Work id): it names the record, gives both amounts, the likely reason
and what to do. It closes itself in the first run whose proof matches.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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


@dataclass
class ProofState:
    """Per run: the Work invoices whose balance a write changed, the totals to check, and QBO reads."""

    affected_invoices: set[str] = field(default_factory=set)
    totals: list[Written] = field(default_factory=list)


def state(ctx: RunContext) -> ProofState:
    return ctx.flow_state(ProofState)


def affected(ctx: RunContext, work_invoice_id: object) -> None:
    """A write of this run changes what is open on this Work invoice."""
    state(ctx).affected_invoices.add(str(work_invoice_id))


def read_by_ids(ctx: RunContext, entity: str, ids: Iterable[str], *,
                fields: tuple[str, ...] | None = None) -> dict[str, JsonObject]:
    """QBO records by Id, one query per 1000 ids; only ``fields`` (and ``Id``) when given."""
    wanted = sorted({str(i) for i in ids if i}, key=lambda v: (len(v), v))
    out: dict[str, JsonObject] = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        for row in ctx.qbo.query(entity, where=f"Id IN {quote(tuple(chunk))}", fields=fields):
            out[str(row.get("Id"))] = row
    return out


#: Above this many invoices the proof reads Work's whole invoice list (a few pages of hundreds)
#: instead of one request per invoice (an initial sync of 15,000 payments).
LIST_ABOVE = 100


def work_invoices(ctx: RunContext, ids: Collection[str]) -> Iterator[Invoice]:
    """Work invoices of these ids, with the balance Work computes when they are read: one by one, or
    from Work's whole list (streamed: only the wanted ones are passed on, none is kept)."""
    if len(ids) > LIST_ABOVE:
        wanted = ids if isinstance(ids, (set, frozenset)) else set(ids)  # no second copy of a large set
        yield from (inv for inv in ctx.work.invoices() if inv.id in wanted)
        return
    for wid in ids:
        yield ctx.work.get_invoice(wid)


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
            rows = read_by_ids(ctx, entity, [str(ctx.qbo_id(kind, w.work_id)) for w in written])
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
        invoice_ids = st.affected_invoices | open_ids
        st.affected_invoices = set()
        linked = ctx.linked_work_ids("invoice", invoice_ids)
        del invoice_ids
        # A chunk of invoices at a time: QuickBooks' rows read back after the writes (one query per
        # 1000), compared, let go (at 80,000 invoices both sides whole would be hundreds of MB).
        did = bool(found)
        if found:
            self._record(ctx, found)
        chunk: list[Invoice] = []
        for inv in itertools.chain(work_invoices(ctx, linked), [None]):
            if inv is not None:
                chunk.append(inv)
                if len(chunk) < CHUNK:
                    continue
            found = self._balances(ctx, chunk)
            chunk = []
            if found:
                self._record(ctx, found)
                did = True
        return did

    def _balances(self, ctx: RunContext, invoices: list[Invoice]
                  ) -> list[tuple[str, str, QboSyncError | None, str | None]]:
        """Compare these Work invoices' balances with their QuickBooks invoices' (read back now)."""
        links = ctx.load_links("invoice", (inv.id for inv in invoices))
        rows = read_by_ids(ctx, "Invoice", (lk.qbo_id for lk in links.values()), fields=("Balance", "TotalAmt"))
        found: list[tuple[str, str, QboSyncError | None, str | None]] = []
        for inv in invoices:
            link = links.get(inv.id)
            row = rows.get(link.qbo_id) if link is not None else None
            if link is None or row is None or inv.balance is None:
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
            found.append((BALANCE, inv.id, problem, link.qbo_id))
        return found

    def _record(self, ctx: RunContext, found: list[tuple[str, str, QboSyncError | None, str | None]]) -> None:
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

