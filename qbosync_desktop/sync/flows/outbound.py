"""The Work → QBO plan loop, written once: every outbound flow is this template plus what differs.

For each Work record the flow read (changed since its cursor, or with an open problem), in order:

1. **screen** - records that never get a body: a draft, a void, one held for match review, one
   already linked to a vendor that is never edited. Returns a change (a skip, a void), :data:`LEAVE`
   (nothing to do, nothing to record), or None to go on.
2. **body** - the QBO body the record should have now, and its fingerprint.
3. **unchanged** - linked with the same fingerprint, or an open problem raised for this very
   fingerprint: nothing to do, no request (see :func:`~qbosync_desktop.sync.flows.base.unchanged`).
4. **check** - what QuickBooks would refuse, said before sending: a number too long, a reference not
   in QuickBooks yet, an unmapped concept. Returns a problem (→ a planned "fail"), a change that
   decides the record otherwise (e.g. a payment whose invoice is not synced on purpose: a skip),
   or None.
5. **write** - create or update (full or sparse, by :attr:`OutboundFlow.full_update`); flows that
   match existing QuickBooks records by name (clients, vendors, items) decide here whether to link
   instead.

A flow states only what differs: its names (:attr:`name`, :attr:`kind`, :attr:`entity`,
:attr:`cursor`), which Work list it reads (:meth:`work_list`, a method of the Work client), how a
record is labelled (:meth:`label`) and turned into a body (:meth:`body`), its :meth:`screen` and
:meth:`check`, and its update policy (:attr:`full_update`, :attr:`reason_create`,
:attr:`reason_update`). docs/sync-engine.md "Adding a flow" walks through one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from qbosync_desktop.connectors.qbo.query import quote
from qbosync_desktop.connectors.work.models import Record, Unreadable
from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import outbox
from qbosync_desktop.sync.context import LOOKUP_CHUNK
from qbosync_desktop.sync.flows.base import (
    Lister,
    changed_records,
    fail,
    is_fresh,
    prefetch,
    read_changed,
    skip,
    unchanged,
    unreadable_change,
    write_change,
)
from qbosync_desktop.sync.flows.reading import chunks
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules import theirs, validate
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.undo_apply import held

#: ids per query when reading the current QuickBooks records of a chunk's full updates
THEIRS_CHUNK = 1000

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.store.models.links import Link
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

#: the Work record type a flow reads (a connector dataclass: Invoice, Contractor, ...)
R = TypeVar("R", bound=Record)


class Leave:
    """The answer "nothing to do for this record, and nothing to record" (see :data:`LEAVE`)."""

    def __repr__(self) -> str:
        return "LEAVE"


#: Returned by :meth:`OutboundFlow.screen` for a record that needs no change and no audit row.
LEAVE = Leave()


@dataclass
class Draft(Generic[R]):
    """One Work record on its way through the plan loop: what the steps worked out so far."""

    rec: R
    work_id: str
    label: str
    #: the record's link before this run's decision (None: not in QuickBooks yet)
    link: Link | None
    body: JsonObject = field(default_factory=dict)
    #: fingerprint of :attr:`body` (what the link keeps once sent)
    fp: str = ""
    #: the fingerprint a problem of this record is kept under (:meth:`OutboundFlow.problem_fingerprint`)
    problem_fp: str = ""

    @property
    def qbo_id(self) -> str | None:
        return self.link.qbo_id if self.link is not None else None


class OutboundFlow(Generic[R]):
    """A Work → QBO phase over Work records of type ``R``. Subclasses set the names and override
    the steps that differ."""

    #: the phase name people see ("invoices") and the counts are kept under
    name = ""
    #: the Work-side kind of links and problems ("invoice")
    kind = ""
    #: the QBO entity written ("Invoice")
    entity = ""
    #: the Work cursor the flow reads from ("work.invoices")
    cursor = ""
    #: update policy: True sends every field (QBO replaces lines all-or-nothing), False a sparse update
    full_update = True
    #: the reasons shown in the preview and the audit for a create and an update
    reason_create = ""
    reason_update = ""
    #: records planned per chunk: their links (and :meth:`references`') are looked up together
    chunk_size = LOOKUP_CHUNK

    # -- what a flow states ------------------------------------------------------------------------
    def work_list(self, work: WorkApi) -> Lister[R]:  # pragma: no cover - every flow overrides it
        """The Work list this flow reads: a method of the Work client (``return work.invoices``)."""
        raise NotImplementedError

    def label(self, rec: R) -> str:  # pragma: no cover - every flow overrides it
        """What a person recognises the record by ("Invoice INV-1001")."""
        raise NotImplementedError

    def body(self, ctx: RunContext, d: Draft[R]) -> JsonObject:  # pragma: no cover - every flow overrides it
        """The QBO body the record should have now."""
        raise NotImplementedError

    def start(self, ctx: RunContext) -> None:
        """Called once before the loop (per-plan state: a start date, names seen so far)."""

    def references(self, rec: R) -> Iterable[tuple[str, str]]:
        """The (kind, Work id) of the records this one refers to (an invoice's client and items): their
        links are looked up for a whole chunk of records with one query per kind."""
        return ()

    def prepare(self, ctx: RunContext, chunk: list[R]) -> None:
        """Called for each chunk of records before they are planned (read what the chunk needs at once)."""

    def screen(self, ctx: RunContext, d: Draft[R]) -> Change | Leave | None:
        """Before the body: a change that decides the record, :data:`LEAVE`, or None to go on."""
        return None

    def problem_fingerprint(self, ctx: RunContext, d: Draft[R]) -> str:
        """The fingerprint a problem of this record is kept under: the body's, unless a setting can
        fix the problem without the record changing (names: "rename on collision")."""
        return d.fp

    def check(self, ctx: RunContext, d: Draft[R]) -> QboSyncError | Change | None:
        """What QuickBooks would refuse (a problem), a change that decides the record, or None."""
        return None

    def write(self, ctx: RunContext, d: Draft[R]) -> Change:
        """Create or update the body (flows that can link an existing QBO record override this)."""
        return self.create_or_update(ctx, d)

    # -- helpers for the steps -----------------------------------------------------------------------
    def create_or_update(self, ctx: RunContext, d: Draft[R], *, body: JsonObject | None = None,
                         reason_create: str | None = None) -> Change:
        """A create (not linked yet) or an update by the flow's policy; ``body``/``reason_create``
        replace the draft's when :meth:`write` decided another name (a rename on collision)."""
        return write_change(ctx, kind=self.kind, entity=self.entity, work_id=d.work_id, label=d.label,
                            body=d.body if body is None else body, rec=d.rec, full_update=self.full_update,
                            reason_create=self.reason_create if reason_create is None else reason_create,
                            reason_update=self.reason_update, fp=(d.fp or None) if body is None else None)

    def skip(self, ctx: RunContext, d: Draft[R], reason: str, *, why: str) -> Change:
        """A skip on purpose, audited and counted once (when the record came in because it changed);
        ``why`` is the reason's key in :data:`qbosync_desktop.sync.skips.REASONS`."""
        return skip(self.kind, d.rec, reason, entity=self.entity, label=d.label,
                    audit=is_fresh(ctx, self.cursor, d.rec), why=why)

    def held(self, d: Draft[R], reason: str) -> Change:
        """A skip because match review holds the record: not audited, no problem closed, counted as
        "waiting" in every run it waits."""
        return Change(self.kind, d.work_id, None, "skip", reason, entity=self.entity, label=d.label,
                      meta={"waiting": True})

    def settled(self, d: Draft[R]) -> Change:
        """QuickBooks holds what the record should have: close its open problem, write nothing."""
        return Change(self.kind, d.work_id, d.qbo_id, "skip", "QuickBooks already holds this version",
                      entity=self.entity, label=d.label, meta={"audit": False, "close_problem": True})

    def fail(self, d: Draft[R], problem: QboSyncError, *, qbo_id: str | None = None) -> Change:
        """A planned failure, kept under the record's problem fingerprint."""
        return fail(self.kind, d.rec, problem, entity=self.entity, label=d.label, fp=d.problem_fp, qbo_id=qbo_id)

    # -- the loop ----------------------------------------------------------------------------------
    def plan_record(self, ctx: RunContext, rec: R) -> Change | None:
        """The five steps for one record (None: nothing to do). The record's text is cleaned first and its
        body checked before anything is sent (sync/rules/validate.py, docs/sync-engine.md "Validate
        before sending")."""
        rec, cleaned = validate.clean_record(rec)
        wid = rec.id
        d = Draft(rec, wid, self.label(rec), ctx.link(self.kind, wid))
        hold = held(ctx, self.kind).get(wid)
        if hold is not None:  # "undo and hold these records": not redone, counted (sync/undo.py)
            return Change(self.kind, wid, d.qbo_id, "skip", hold, entity=self.entity, label=d.label,
                          meta={"held": True})
        early = self.screen(ctx, d)
        if early is not None:
            return early if isinstance(early, Change) else None
        d.body, shortened = validate.fit(self.entity, self.body(ctx, d))
        d.fp = fingerprint(d.body)
        d.problem_fp = self.problem_fingerprint(ctx, d)
        if d.link is not None and d.link.fingerprint == d.fp:
            # QuickBooks already holds exactly this body (our last write sent it): nothing to write,
            # even when a problem was raised in between for another version of it - e.g. after a
            # Disconnect forgot the concept mappings and they were made again the same (issue 15).
            # A re-send would only overwrite whatever a bookkeeper changed there since.
            # A problem the proof after that very write raised (QuickBooks' total differs from
            # Work's) stays open: the write happened, but the books do not match.
            problem = ctx.open_problems(self.kind).get(wid)
            if problem is None or _raised_after_sending(problem, d.fp):
                return None
            return self.settled(d)
        if unchanged(ctx, self.kind, wid, d.fp, problem_fp=d.problem_fp):
            return None
        verdict = (validate.vet(self.kind, self.entity, d.label, d.body, today=ctx.now.date())
                   or self.check(ctx, d))
        if isinstance(verdict, Change):
            return verdict
        if verdict is not None:
            return self.fail(d, verdict, qbo_id=d.qbo_id)
        ch = self.write(ctx, d)
        notes = ([f"invisible or control characters removed from its {', '.join(cleaned)}"] if cleaned else [])
        notes += shortened
        if notes and ch.action in ("create", "update", "link"):
            said = "; ".join(notes)  # in the preview (the reason) and the audit row (meta "message")
            ch.reason = f"{ch.reason} ({said})" if ch.reason else said
            ch.meta["message"] = f"{ch.meta['message']} ({said})" if ch.meta.get("message") else ch.reason
        return ch

    def unreadable_problem(self, ctx: RunContext, u: Unreadable) -> Change | None:
        """A record Work sent that did not parse: one planned failure naming the record, the field and
        the value (None when its problem is already open for this very version: nothing to repeat)."""
        return unreadable_change(ctx, self.kind, self.entity, u)

    def iter_plan(self, ctx: RunContext, records: Iterable[R], *, first: bool = True) -> Iterator[Change]:
        """Plan ``records`` (and the unreadable ones set aside) chunk by chunk; ``first`` is False for a
        stream's second pass (the flow's per-plan state from :meth:`start` is kept)."""
        if first:
            self.start(ctx)
        for u in ctx.state.unreadable.pop(self.kind, []):
            bad = self.unreadable_problem(ctx, u)
            if bad is not None:
                yield bad
        for chunk in chunks(records, self.chunk_size):
            ctx.load_links(self.kind, (rec.id for rec in chunk))  # one query for the chunk's links
            refs: dict[str, set[str]] = {}
            for rec in chunk:
                for kind, ref in self.references(rec):
                    refs.setdefault(kind, set()).add(str(ref))
            for kind, ids in refs.items():
                ctx.load_links(kind, ids)
            self.prepare(ctx, chunk)
            keep = self.full_update and theirs.applies(self.entity) and not ctx.preview
            updates: list[Change] = []  # full updates wait until the chunk's current records are read
            for rec in chunk:
                ch = self.plan_record(ctx, rec)
                if ch is None:
                    continue
                if keep and ch.action == "update" and ch.qbo_id:
                    updates.append(ch)
                else:
                    yield ch
            self.keep_theirs(ctx, updates)
            yield from updates

    def keep_theirs(self, ctx: RunContext, updates: list[Change]) -> None:
        """Full updates carry over what a bookkeeper filled in and Work does not own (a memo, a class,
        e-mail settings; :mod:`~qbosync_desktop.sync.rules.theirs`), read from QuickBooks now: one
        query per 1,000 records updated."""
        if not updates:
            return
        ids = sorted({str(ch.qbo_id) for ch in updates}, key=lambda v: (len(v), v))
        current: dict[str, JsonObject] = {}
        for i in range(0, len(ids), THEIRS_CHUNK):
            for row in ctx.qbo.query(self.entity, where=f"Id IN {quote(tuple(ids[i:i + THEIRS_CHUNK]))}"):
                current[str(row.get("Id"))] = row
        for ch in updates:
            now = current.get(str(ch.qbo_id))
            if now is None or ch.payload is None:  # gone from QuickBooks: the update meets its own answer
                continue
            before = ch.meta.get("before")
            carried = theirs.carry_over(self.entity, ch.payload, now, before if isinstance(before, dict) else None)
            if carried:
                ch.meta["carried"] = carried

    # -- the Phase protocol, and the run's prefetch and stream hooks ----------------------------------
    def prefetch(self, ctx: RunContext) -> None:
        """Start reading this flow's Work changes in the background (see flows.base.prefetch)."""
        prefetch(ctx, self.kind, self.cursor, self.work_list(ctx.work))

    def records(self, ctx: RunContext) -> list[R]:
        """The Work records this flow must look at (see flows.base.read_changed)."""
        return read_changed(ctx, self.kind, self.cursor, self.work_list(ctx.work))

    def plan(self, ctx: RunContext) -> list[Change]:
        return list(self.iter_plan(ctx, self.records(ctx)))

    def apply(self, ctx: RunContext, changes: list[Change]) -> None:
        outbox.apply_changes(ctx, self.name, changes, total=len(changes))

    def stream(self, ctx: RunContext) -> int:
        """Plan and apply in one pass (runs only, never the preview): the Work list is read page by
        page (flows/reading.py) and each batch goes to QuickBooks as soon as its 30 changes are
        planned; nothing of a planned record is kept (a run's memory must not grow with the company).
        Records Work handed out twice while we paged, and unreadable ones, are planned in a second
        pass once the first pass's writes are applied. Returns how many changes there were."""
        reading = changed_records(ctx, self.kind, self.cursor, self.work_list(ctx.work))
        planned = [0]

        def changes(records: Iterable[R], *, first: bool) -> Iterator[Change]:
            for ch in self.iter_plan(ctx, records, first=first):
                planned[0] += 1
                yield ch

        try:
            # The progress total grows as the list is read (Work does not say how long it is).
            outbox.apply_changes(ctx, self.name, changes(reading.first_pass(), first=True),
                                 total=lambda: reading.read)
            again = reading.finish()
            if again or ctx.state.unreadable.get(self.kind):
                outbox.apply_changes(ctx, self.name, changes(again, first=False))
        finally:
            reading.close()
        return planned[0]


def _raised_after_sending(problem: Problem, fp: str) -> bool:
    """True when the problem was opened by the check after sending exactly this body."""
    details = problem.details or {}
    return bool(details.get("sent")) and details.get("fingerprint") == fp
