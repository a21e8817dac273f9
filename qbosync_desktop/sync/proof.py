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

**Read back while later writes go on** (:class:`EarlyReads`): an invoice's balance can be read from
QuickBooks as soon as QuickBooks has answered every write of this run that touches it - the phases
after the payments do not wait for it. Each write that touches an invoice is announced when it is
planned (:func:`affected` with ``by``) and counted off when the outbox has committed QuickBooks'
answer to it (``RunState.write_listeners``); once 1000 invoices have none outstanding, a reader
thread reads them, 1000 at a time, while the payments phase goes on, and at the settle step reads
what is still ready. Such a read counts only if no write of the run was announced for the invoice
after it (an announcement bumps the invoice's version); every affected invoice without such a read
- a write not answered, a run that never had 1000 ready, a write that may touch invoices it was not
announced for (:func:`not_announced`: then none counts) - is read at the end, as before. Work's
balances are read on a thread from the end of the credit applications phase (:class:`WorkAhead`).
The comparison with Work and every problem happen at the end, in the settle step, as before.

A difference of one cent is one plain-language problem (kind ``invoice_balance``, ``credit_note_total``
or ``refund_total``, keyed by the Work id): it names the record, gives both amounts, the likely reason
and what to do. It closes itself in the first run whose proof matches.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
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
    #: QuickBooks balances read back while later writes went on (a run only, not a preview)
    early: EarlyReads | None = None
    #: Work's balances, read on a thread once every write that touches one is planned
    work_ahead: WorkAhead | None = None


def state(ctx: RunContext) -> ProofState:
    return ctx.flow_state(ProofState)


def not_announced(ctx: RunContext, why: str) -> None:
    """A write of this run may change the balance of invoices it is not announced for (a payment
    moved to another invoice, a credit application changed): the balances are all read at the end."""
    if ctx.preview or ctx.run is None:
        return
    st = state(ctx)
    if st.early is None:
        st.early = EarlyReads(ctx)
    st.early.off(why)


def affected(ctx: RunContext, work_invoice_id: object, by: tuple[str, str] | None = None) -> None:
    """A write of this run changes what is open on this Work invoice. ``by`` is that write's
    (kind, Work id) in the outbox: once QuickBooks has answered it (and every other write announced
    for the invoice), the invoice's balance is read back while the run goes on (:class:`EarlyReads`)."""
    inv = str(work_invoice_id)
    st = state(ctx)
    st.affected_invoices.add(inv)
    if ctx.preview or ctx.run is None:
        return
    if st.early is None:
        st.early = EarlyReads(ctx)
    st.early.touched(inv, ctx.qbo_id("invoice", inv), by)


#: what the proof compares of a QuickBooks invoice: its Id, Balance and TotalAmt
QboBalance = tuple[str, float, float]

#: invoices per read during the run: the reader starts once this many are ready (a run with fewer
#: reads them all at the end, one query as before)
EARLY_CHUNK = CHUNK


class EarlyReads:
    """QuickBooks balances of invoices read back during the run, each once QuickBooks has answered
    every write of the run announced for it (see the module docstring). The engine thread announces
    writes (:meth:`touched`) and reports answers (:meth:`answered`); once :data:`EARLY_CHUNK`
    invoices are ready a reader thread reads them, a chunk at a time; :meth:`finish` (the settle
    step) lets it read what is still ready, stops it and returns the reads that still count. A read
    that failed is not an error here: its invoices are read again at the end."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._cond = threading.Condition()
        #: Work invoice id → how many writes were announced for it (a read is of one such version)
        self._version: dict[str, int] = {}
        #: Work invoice id → writes announced and not answered yet
        self._pending: dict[str, int] = {}
        #: (kind, Work id) of an announced write → its Work invoice id
        self._writes: dict[tuple[str, str], str] = {}
        self._qbo_ids: dict[str, str] = {}
        #: ready to read: Work invoice id → version (in the order they became ready)
        self._ready: dict[str, int] = {}
        #: read back: Work invoice id → (version, (QBO Id, Balance, TotalAmt))
        self._read: dict[str, tuple[int, QboBalance]] = {}
        self._thread: threading.Thread | None = None
        self._flush = False  # read what is ready, then stop
        self._stop = False
        self._off = False
        ctx.state.write_listeners.append(self.answered)
        ctx.state.closers.append(self.close)

    def touched(self, inv: str, qbo_id: str | None, by: tuple[str, str] | None) -> None:
        """A write to come changes this invoice: a read of it so far no longer counts."""
        with self._cond:
            self._version[inv] = self._version.get(inv, 0) + 1
            self._ready.pop(inv, None)
            self._pending[inv] = self._pending.get(inv, 0) + 1
            if by is None or qbo_id is None or by in self._writes:
                return  # not followed: it stays pending, and is read at the end
            self._writes[by] = inv
            self._qbo_ids[inv] = qbo_id

    def off(self, why: str) -> None:
        """A write may change invoices it was not announced for: no read during the run counts, every
        affected invoice is read at the end (as without this class)."""
        with self._cond:
            if not self._off:
                log.info("Proof: every balance read at the end (%s)", why)
            self._off = True
            self._ready.clear()
            self._read.clear()
            self._cond.notify_all()

    def answered(self, keys: list[tuple[str, str]], stale: list[tuple[str, str]]) -> None:
        """QuickBooks' answers to these outbox entries are committed (engine thread); ``stale`` met
        a stale SyncToken: the record changed in QuickBooks, so which invoices the retry touches is
        not known."""
        if any(key in self._writes for key in stale):
            self.off("a payment or credit changed in QuickBooks meanwhile")
        with self._cond:
            if self._off or self._flush:
                return
            for key in keys:
                inv = self._writes.pop(key, None)
                if inv is None:
                    continue
                left = self._pending[inv] - 1
                if left:
                    self._pending[inv] = left
                    continue
                del self._pending[inv]
                self._ready[inv] = self._version[inv]
            if len(self._ready) < EARLY_CHUNK:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="proof-read", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._stop or self._off or self._flush) and len(self._ready) < EARLY_CHUNK:
                    self._cond.wait()
                if self._stop or self._off or not self._ready:
                    return
                take = list(itertools.islice(self._ready.items(), CHUNK))
                for inv, _ in take:
                    del self._ready[inv]
                qbo_ids = {inv: self._qbo_ids[inv] for inv, _ in take}
            try:
                rows = read_by_ids(self._ctx, "Invoice", qbo_ids.values(), fields=("Balance", "TotalAmt"))
            except BaseException as exc:  # (read again at the end, where it counts)
                log.info("Proof read-back during the run stopped (read at the end instead): %s", exc)
                return
            with self._cond:
                if self._off:
                    return
                for inv, version in take:
                    row = rows.get(qbo_ids[inv])
                    if row is not None:
                        self._read[inv] = (version, (qbo_ids[inv], float(row.get("Balance") or 0),
                                                     float(row.get("TotalAmt") or 0)))

    def _end(self, *, flush: bool) -> None:
        with self._cond:
            self._flush = True
            self._stop = self._stop or not flush
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        listeners = self._ctx.state.write_listeners
        if self.answered in listeners:
            listeners.remove(self.answered)

    def close(self) -> None:
        """Stop the reader (after the read it is in) and stop listening (the run is over)."""
        self._end(flush=False)

    def finish(self) -> dict[str, QboBalance]:
        """Let the reader read what is ready, stop it; the reads that still count: made after
        QuickBooks answered every write announced for the invoice, with none announced since. (With
        no reader started - fewer than :data:`EARLY_CHUNK` ever ready - everything is read at the end.)"""
        self._end(flush=True)
        if self._off:
            return {}
        return {inv: got for inv, (version, got) in self._read.items()
                if inv not in self._pending and self._version.get(inv) == version}


#: Work's side of an invoice the proof compares: its balance (None: Work gave none), total and number
WorkBalance = tuple[Decimal | None, Decimal, str]


class WorkAhead:
    """Work's balances of the invoices the proof compares, read on a thread while the run finishes
    (the phases after the credit applications, the other settle steps). Work computes a balance when
    it is read and no write of the run changes Work, so reading it before the proof's end changes
    nothing but the wait. Held compactly (balance, total, number) until the proof compares them."""

    def __init__(self, ctx: RunContext, wanted: set[str]) -> None:
        self.wanted = frozenset(wanted)
        self._got: dict[str, WorkBalance] = {}
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ctx,), name="proof-work", daemon=True)
        self._thread.start()
        ctx.state.closers.append(self.close)

    def _run(self, ctx: RunContext) -> None:
        try:
            for inv in work_invoices(ctx, self.wanted):
                if self._stop.is_set():
                    return
                self._got[inv.id] = (inv.balance, inv.total, inv.number)
        except BaseException as exc:  # (raised where the proof needs it)
            self._error = exc

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def result(self, ctx: RunContext, ids: Collection[str]) -> dict[str, WorkBalance]:
        """Work's balances of these invoices (any not asked for ahead are read now)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        got = self._got
        for inv in work_invoices(ctx, [i for i in ids if i not in self.wanted]):
            got[inv.id] = (inv.balance, inv.total, inv.number)
        return got


def _open_balance_ids() -> set[str]:
    """Invoices with an open balance problem the user asked to retry."""
    return {str(p.work_id) for p in Problem.select(Problem.work_id).where(
        (Problem.kind == BALANCE) & (Problem.state == "open") & Problem.retry_requested) if p.work_id}


def read_work_ahead(ctx: RunContext) -> None:
    """Every write of this run that changes an invoice's balance is planned (the credit applications
    phase applied): start reading Work's balances of the invoices the proof will compare."""
    if ctx.preview or ctx.run is None:
        return
    st = state(ctx)
    if st.work_ahead is not None:
        st.work_ahead.close()
    st.work_ahead = WorkAhead(ctx, st.affected_invoices | _open_balance_ids())


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
        early = st.early.finish() if st.early is not None else {}
        st.early = None
        invoice_ids = st.affected_invoices | _open_balance_ids()
        st.affected_invoices = set()
        ahead = st.work_ahead if st.work_ahead is not None else WorkAhead(ctx, invoice_ids)
        st.work_ahead = None
        linked = ctx.linked_work_ids("invoice", invoice_ids)
        del invoice_ids
        # QuickBooks' side: what was read back during the run and still counts, the rest read now
        # (one query per 1000); Work's side read meanwhile (WorkAhead). Compared, recorded a chunk
        # of invoices at a time.
        qbo = {inv: got for inv, got in early.items() if inv in linked}
        del early
        during = len(qbo)
        self._read_rest(ctx, [inv for inv in linked if inv not in qbo], qbo)
        log.info("Run %s proof: %d invoice balances read back during the run, %d at the end", ctx.run_id,
                 during, len(linked) - during)
        did = bool(found)
        if found:
            self._record(ctx, found)
        work = ahead.result(ctx, linked)
        ids = sorted(linked, key=lambda v: (len(v), v))
        for i in range(0, len(ids), CHUNK):
            found = self._balances(ids[i:i + CHUNK], work, qbo)
            if found:
                self._record(ctx, found)
                did = True
        return did

    @staticmethod
    def _read_rest(ctx: RunContext, work_ids: list[str], into: dict[str, QboBalance]) -> None:
        """QuickBooks' Balance and TotalAmt of these (linked) Work invoices, read now."""
        for i in range(0, len(work_ids), CHUNK):
            links = ctx.load_links("invoice", work_ids[i:i + CHUNK])
            rows = read_by_ids(ctx, "Invoice", (lk.qbo_id for lk in links.values()), fields=("Balance", "TotalAmt"))
            for wid, lk in links.items():
                row = rows.get(lk.qbo_id)
                if row is not None:
                    into[wid] = (lk.qbo_id, float(row.get("Balance") or 0), float(row.get("TotalAmt") or 0))

    @staticmethod
    def _balances(ids: list[str], work: dict[str, WorkBalance], qbo: dict[str, QboBalance]
                  ) -> list[tuple[str, str, QboSyncError | None, str | None]]:
        """Compare these Work invoices' balances with their QuickBooks invoices' (read back after
        every write of the run that touched them)."""
        found: list[tuple[str, str, QboSyncError | None, str | None]] = []
        for wid in ids:
            got, mine = qbo.get(wid), work.get(wid)
            if got is None or mine is None:
                continue
            qbo_id, balance, total = got
            work_balance, work_total, number = mine
            if work_balance is None:
                continue
            problem = None
            if abs(balance - float(work_balance)) >= 0.005:
                reason = ("Its total differs too (QuickBooks " f"{total:.2f}, Work {work_total:.2f}), probably "
                          "the tax." if abs(total - float(work_total)) >= 0.005 else
                          "A payment or credit differs between the two, or was changed in QuickBooks.")
                problem = _mismatch(
                    "balance", f"Invoice {number}", balance, f"{work_balance:.2f}", reason,
                    f"Compare the payments and credits of invoice {number} in Work and QuickBooks and "
                    "correct the one that is wrong (in Work, then sync); the next sync checks it again.")
            found.append((BALANCE, wid, problem, qbo_id))
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

