"""What every Work → QBO flow shares: reading changes by cursor, the decision create/update/skip,
the QBO name index, and the helpers the flows' checks use. The plan loop itself is the template in
:mod:`qbosync_desktop.sync.flows.outbound`.

Reading: each flow reads its Work list with ``updated_since`` = its cursor. Records with an open
problem are read again too (from the oldest such record's ``updated_at``), because a problem can be
fixed without the record changing - e.g. a concept mapped in Sync Settings, or "Retry" pressed. The
new cursor (the newest ``updated_at`` + 1 µs: Work's filter is inclusive and its timestamps strictly
increase) is only *staged*; the engine commits it after the phase's writes are all confirmed.

Deciding: a linked record whose payload fingerprint did not change is left alone without any
request; a record whose last attempt QuickBooks rejected is not re-sent until it changes or the
person presses Retry (re-sending a refused payload would only repeat the refusal on every run).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from qbosync_desktop.connectors.work.models import Record, Unreadable
from qbosync_desktop.core import qbo_limits
from qbosync_desktop.core.errors import QboSyncError, QboValidationError, WorkRecordUnreadable
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.core.money import round_cents
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync.context import QBO_DELETED_CODE, NameIndex
from qbosync_desktop.sync.flows.reading import CHUNK, ReadAhead, SeenIds, chunks
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import check_name, clean, collision_problem, normalise, renamed

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext


#: A Work list method (a bound method of the Work client, e.g. ``work.invoices``): called with no
#: argument for everything, or ``updated_since=<cursor>`` for what changed since.
R = TypeVar("R", bound=Record)
Lister = Callable[..., Iterable[R]]


def money(value: object) -> float:
    """QBO amounts are JSON numbers; Work sends decimal strings. Round half up to cents first."""
    return float(round_cents(Decimal(str(value or 0))))


def qty(value: object) -> float:
    d = Decimal(str(value or 0))
    return int(d) if d == d.to_integral_value() else float(d)


def iso_date(value: object) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    return str(value)[:10]


def stamp(value: object) -> str | None:
    """A Work ``updated_at`` as a fixed-width UTC ISO string (sorts as text)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def after(value: str) -> str:
    """``value`` + 1 µs: the next cursor (Work's ``updated_since`` is inclusive)."""
    dt = _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ") + _dt.timedelta(microseconds=1)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def changed_since(ctx: RunContext, kind: str, cursor_name: str) -> str | None:
    """Where to start reading: the cursor, or earlier if a record with an open problem is older, or
    from the beginning when a phase asked for a full re-read (``ctx.state.reread``)."""
    if cursor_name in ctx.state.reread:
        return None
    since = ctx.cursor(cursor_name)
    problem_since = [
        str(stamp_at)
        for p in Problem.select(Problem.details).where((Problem.kind == kind) & (Problem.state == "open"))
        if (stamp_at := (p.details or {}).get("work_updated_at"))
    ]
    if problem_since and since is not None:
        since = min([since, *problem_since])
    return since


def _take_unreadable(ctx: RunContext, lister: Lister[R]) -> list[Unreadable]:
    """The records of this list the Work client set aside as unreadable (issue 16)."""
    resource = getattr(lister, "__name__", "").replace("_", "-")
    take = getattr(ctx.work, "take_unreadable", None)
    return take(resource) if take is not None and resource else []


def _reader(ctx: RunContext, kind: str, cursor_name: str, lister: Lister[R]) -> ReadAhead[R]:
    """This phase's Work list as a :class:`~qbosync_desktop.sync.flows.reading.ReadAhead` (started on the
    run's read pool, else read inline as it is iterated)."""
    since = changed_since(ctx, kind, cursor_name)
    return ReadAhead(lister(updated_since=since) if since else lister())


def prefetch(ctx: RunContext, kind: str, cursor_name: str, lister: Lister[Record]) -> None:
    """Start reading this phase's Work changes on a background thread (Work reads do not depend on
    QuickBooks writes, so invoices can download while clients are being written: at 40,000 records
    that overlap is the difference between the throttle floor and twice it). The reader stays a
    bounded number of records ahead of its phase (flows/reading.py): a list waiting for its phase
    holds a few pages, not the whole list. At the start of an incremental run every phase's reader
    starts at once, on the run's probe pool (engine: with little changed, one round of reads)."""
    pool = ctx.state.probe_pool or ctx.state.prefetch_pool
    if pool is None or cursor_name in ctx.state.prefetched:
        return
    ctx.state.prefetched[cursor_name] = _reader(ctx, kind, cursor_name, lister).start(pool)


def _source(ctx: RunContext, kind: str, cursor_name: str, lister: Lister[R]) -> ReadAhead[R]:
    fetched = ctx.state.prefetched.pop(cursor_name, None)
    # prefetched under this cursor name by the same flow with the same lister
    return cast("ReadAhead[R]", fetched) if fetched is not None else _reader(ctx, kind, cursor_name, lister)


def read_changed(ctx: RunContext, kind: str, cursor_name: str, lister: Lister[R]) -> list[R]:
    """Work records changed since the cursor, plus those with an open problem, as one list (the
    preview's plan; a run streams them with :func:`changed_records`). Stages the new cursor.

    Records the list met that did not parse are kept in ``ctx.state.unreadable[kind]`` (the flow turns
    each into one problem); the cursor moves past them too - their problem keeps them read again
    until Work changes them (see :func:`changed_since`)."""
    records: list[R] = list(_source(ctx, kind, cursor_name, lister))
    # A record changed while we paged comes again at the end (Work's keyset paging moves it behind the
    # cursor): keep only its newest version, or one record would be planned - and created - twice.
    newest_by_id: dict[str, R] = {}
    for rec in records:
        newest_by_id.pop(rec.id, None)
        newest_by_id[rec.id] = rec
    records = list(newest_by_id.values())
    bad = _take_unreadable(ctx, lister)
    readable = set(newest_by_id)
    ctx.state.unreadable[kind] = [u for u in bad if u.id not in readable]  # a newer copy parsed: use it
    stamps = [stamp(r.updated_at) for r in records] + [stamp(u.updated_at) for u in bad if u.updated_at]
    _stage_after(ctx, cursor_name, max((s for s in stamps if s), default=None))
    return records


def _stage_after(ctx: RunContext, cursor_name: str, newest: str | None) -> None:
    """Stage the cursor just past ``newest`` (the newest ``updated_at`` read), never backwards."""
    if newest is None:
        return
    current = ctx.cursor(cursor_name)
    nxt = after(newest)
    if current is None or nxt > current:
        ctx.stage_cursor(cursor_name, nxt)


def changed_records(ctx: RunContext, kind: str, cursor_name: str, lister: Lister[R]) -> ChangedRecords[R]:
    """The same records as :func:`read_changed`, streamed (a run's phase loop, flows/reading.py)."""
    return ChangedRecords(ctx, kind, cursor_name, _source(ctx, kind, cursor_name, lister),
                          lambda: _take_unreadable(ctx, lister))


class ChangedRecords(Generic[R]):
    """One phase's changed Work records as a stream (flows/reading.py says why and how).

    Iterate :meth:`first_pass` (each record is planned as it comes), then call :meth:`finish` once the
    first pass's writes are applied: it stages the cursor, sets the unreadable records aside for the
    flow (``ctx.state.unreadable[kind]``) and returns the records to plan in the second pass."""

    def __init__(self, ctx: RunContext, kind: str, cursor_name: str, source: ReadAhead[R],
                 take_unreadable: Callable[[], list[Unreadable]]) -> None:
        self.ctx = ctx
        self.kind = kind
        self.cursor_name = cursor_name
        self.source = source
        self._take_unreadable = take_unreadable
        self._seen = SeenIds(kind)
        #: records met again: their newest copy, planned in the second pass
        self._again: dict[str, R] = {}
        self._newest: str | None = None

    @property
    def read(self) -> int:
        return self.source.read

    def first_pass(self) -> Iterator[R]:
        for chunk in chunks(self.source, CHUNK):
            met = self._seen.add(rec.id for rec in chunk)
            now: set[str] = set()
            for rec in chunk:
                self._note(rec)
                if rec.id in met or rec.id in now or rec.id in self._again:
                    self._again.pop(rec.id, None)
                    self._again[rec.id] = rec
                    continue
                now.add(rec.id)
                yield rec

    def _note(self, rec: Record) -> None:
        s = stamp(rec.updated_at)
        if s is not None and (self._newest is None or s > self._newest):
            self._newest = s

    def finish(self) -> list[R]:
        """After the first pass is applied: stage the cursor, set unreadable records aside, and return
        the records met more than once (their newest copy each, in the order last met)."""
        bad = self._take_unreadable()
        readable = self._seen.present(u.id for u in bad if u.id is not None)
        self.ctx.state.unreadable[self.kind] = [u for u in bad if u.id not in readable]
        for u in bad:
            s = stamp(u.updated_at)
            if s is not None and (self._newest is None or s > self._newest):
                self._newest = s
        self._seen.close()
        _stage_after(self.ctx, self.cursor_name, self._newest)
        again = list(self._again.values())
        self._again.clear()
        return again

    def close(self) -> None:
        self.source.close()


def name_index(ctx: RunContext) -> NameIndex:
    """Every QBO customer and vendor DisplayName (one namespace in QBO), loaded once per run with one
    paged query per entity, and only when a flow is about to create or rename something."""

    if ctx.state.names is None:
        idx = NameIndex()
        for entity in ("Customer", "Vendor"):
            for row in ctx.qbo.query(entity, where="Active IN (true, false)", order_by="Id"):
                email = ((row.get("PrimaryEmailAddr") or {}).get("Address") or "").casefold()
                idx.add(normalise(row.get("DisplayName", "")), {
                    "entity": entity, "Id": str(row.get("Id")), "SyncToken": row.get("SyncToken"),
                    "DisplayName": row.get("DisplayName"), "email": email, "Active": row.get("Active", True),
                })
        ctx.state.names = idx
    return ctx.state.names


def open_problem_map(ctx: RunContext, kind: str) -> dict[str, Problem]:
    return ctx.open_problems(kind)


def unchanged(ctx: RunContext, kind: str, work_id: str, fp: str, problem_fp: str | None = None) -> bool:
    """True when nothing needs doing: linked with the same fingerprint and no open problem, or an
    open problem raised for this very fingerprint (the record did not change, no Retry pressed).

    The second case is what keeps a no-op run free of requests even with open problems: a refused
    payload is not re-sent, and a name collision is not re-checked against QBO's name list, until the
    record (or a setting folded into ``fp``) changes or the person presses Retry.
    """
    link = ctx.link(kind, work_id)
    problem = open_problem_map(ctx, kind).get(work_id)
    if problem is not None:
        if problem.retry_requested:
            return False
        return (problem.details or {}).get("fingerprint") == (problem_fp or fp)
    return link is not None and link.fingerprint == fp


def last_sent(kind: str, work_id: str) -> JsonObject | None:
    """What the last create/update of a record sent (its audit row): the "before" of an update."""
    row = (AuditEntry.select(AuditEntry.after)
           .where((AuditEntry.kind == kind) & (AuditEntry.work_id == str(work_id))
                  & (AuditEntry.action.in_(("create", "update"))))
           .order_by(AuditEntry.id.desc()).first())
    if row is None or not isinstance(row.after, dict):
        return None
    return {k: v for k, v in row.after.items() if k not in ("Id", "SyncToken", "sparse")}


def write_change(
    ctx: RunContext,
    *,
    kind: str,
    entity: str,
    work_id: str,
    label: str,
    body: JsonObject,
    rec: Record,
    full_update: bool,
    reason_create: str,
    reason_update: str,
    fp: str | None = None,
) -> Change:
    """Create or update ``body`` for a Work record, keeping what applying the response needs
    (``fp``: the body's fingerprint when the caller has it already)."""
    fp = fingerprint(body) if fp is None else fp
    meta: JsonObject = {
        "fingerprint": fp,
        "work_version": rec.version,
        "work_updated_at": stamp(rec.updated_at),
    }
    link = ctx.link(kind, work_id)
    if link is None:
        meta["origin"] = "created"
        return Change(kind, work_id, None, "create", reason_create, dict(body), entity=entity, label=label, meta=meta)
    payload = dict(body)
    payload["Id"] = link.qbo_id
    payload["SyncToken"] = link.qbo_sync_token
    if not full_update:
        payload["sparse"] = True
    meta["before"] = (link.synced or {}).get("sent") or last_sent(kind, work_id)
    if set(link.synced or {}) - {"sent"}:  # keep what other areas store there (issue 7's merge base)
        meta["synced"] = {**(link.synced or {}), "sent": body}
    return Change(kind, work_id, link.qbo_id, "update", reason_update, payload, entity=entity, label=label, meta=meta)


def resolve_display_name(
    ctx: RunContext,
    name: str,
    *,
    kind: str,
    work_id: str,
    what: str,
    link_entity: str,
    email: str | None = None,
) -> tuple[str, str, JsonObject | None, QboSyncError | None]:
    """Decide the DisplayName of a record about to be created (or renamed) in QBO.

    Returns ``(decision, display_name, qbo_record, problem)`` where decision is:

    * ``"use"``  - send ``display_name`` (possibly the deterministic rename);
    * ``"link"`` - an unlinked QBO ``link_entity`` with the same normalised name (or, for vendors,
      the same e-mail) exists: link it instead of creating a duplicate;
    * ``"fail"`` - ``problem`` says why and what to do.

    ``qbo_record`` is set exactly for "link" and ``problem`` exactly for "fail", so callers narrow on them.

    The chosen name is reserved in the index, so a second Work record with the same name in the
    same run collides instead of being sent (QBO would refuse it with 6240 anyway).
    """
    bad = check_name(name, what=what)
    if bad is not None:
        return "fail", clean(name), None, bad
    idx = name_index(ctx)
    own = ctx.link(kind, work_id)
    linked_ids = ctx.linked_qbo_ids(kind)
    norm = normalise(name)
    hits = [h for h in idx.get(norm) if not (own is not None and h.get("Id") == own.qbo_id)]
    if own is None:
        candidates = [h for h in hits if h["entity"] == link_entity and h["Id"] not in linked_ids]
        if not candidates and email:
            candidates = [
                h for rows in idx.by_name.values() for h in rows
                if h["entity"] == link_entity and h.get("email") == email.casefold() and h["Id"] not in linked_ids
            ]
        if len(candidates) == 1:
            found = candidates[0]
            # Claim it so a second Work record cannot link the same QBO record in this run.
            linked_ids.add(found["Id"])
            found_copy = dict(found)
            found["entity"] = f"{link_entity}:claimed"
            return "link", found_copy["DisplayName"], found_copy, None
    if hits:
        hit = hits[0]
        entity = hit["entity"].split(":")[0] if hit["entity"] != "planned" else hit["as"]
        other = {"Customer": "customer", "Vendor": "vendor"}[entity]
        same_run = hit["entity"] == "planned" and entity == link_entity
        if same_run:
            other = what
        if ctx.settings.rename_on_collision:
            new = renamed(name, work_id)
            if not idx.get(normalise(new)):
                idx.plan(normalise(new), link_entity)
                return "use", new, None, None
        return "fail", clean(name), None, collision_problem(name, what=what, other=other, same_run=same_run)
    idx.plan(norm, link_entity)
    return "use", clean(name), None, None


def is_fresh(ctx: RunContext, cursor_name: str, rec: Record) -> bool:
    """True when the record came in because it changed (not because a problem made us re-read):
    only fresh records get a "skip" audit row, so re-reading never repeats the same skip."""
    cur = ctx.cursor(cursor_name)
    s = stamp(rec.updated_at)
    return cur is None or s is None or s >= cur


def skip(kind: str, rec: Record, reason: str, *, entity: str, label: str, audit: bool, why: str) -> Change:
    """A skip on purpose; ``why`` is its key in :data:`qbosync_desktop.sync.skips.REASONS` (the run
    summary counts it under that key when it is audited, i.e. once per change of the record)."""
    return Change(kind, rec.id, None, "skip", reason, entity=entity, label=label,
                  meta={"audit": audit, "close_problem": True, "skip_reason": why})


def name_fingerprint(ctx: RunContext, body: JsonObject) -> str:
    """The fingerprint a name problem is kept under: the body plus the setting that can fix it."""
    return fingerprint({**body, "_rename_on_collision": bool(ctx.settings.rename_on_collision)})


def fail(kind: str, rec: Record, problem: QboSyncError, *, entity: str, label: str, fp: str, qbo_id: str | None = None) -> Change:
    """A planned failure. ``fp`` is the fingerprint the record had, so it is not re-evaluated until it
    changes (see :func:`unchanged`)."""
    meta: JsonObject = {"work_updated_at": stamp(rec.updated_at), "work_version": rec.version, "fingerprint": fp}
    return Change(kind, rec.id, qbo_id, "fail", problem.message, problem=problem, entity=entity,
                  label=label, meta=meta)


#: QBO: DocNumber at most 21 characters (invoices and bills).
MAX_DOC_NUMBER = qbo_limits.DOC_NUMBER


def doc_number_problem(number: str, *, what: str) -> QboValidationError | None:
    """A too-long number is a problem, never a truncation: a truncated number could collide with
    another invoice's and would no longer match the paper the customer holds."""
    if len(number) <= MAX_DOC_NUMBER:
        return None
    return QboValidationError(
        f"The {what} number '{number}' is {len(number)} characters long; QuickBooks allows at most "
        f"{MAX_DOC_NUMBER}.",
        title="Number too long for QuickBooks",
        hint=f"Give the {what} a number of {MAX_DOC_NUMBER} characters or fewer in Work, then press Retry.",
        details={"rule": f"DocNumber at most {MAX_DOC_NUMBER} characters", "code": "2050", "length": len(number)},
    )


#: Where match review happens once the integration is enabled: the window's Matches tab (the wizard's
#: Review page is gone by then) or the CLI.
MATCH_REVIEW_HINT = ("Decide whether they are the same in the Matches tab of the QBO Sync window (or with "
                     "'qbosync matches'); this {what} then syncs by itself.")


def missing_reference(ctx: RunContext, what: str, label: str, ref_kind: str, ref_id: str,
                      ref_what: str | None = None) -> QboValidationError:
    """The record refers to one that is not in QuickBooks (it failed, is not synced, or waits for match
    review). Names the referenced record as its own problem does, so the person sees which one to fix
    first - or, when match review holds it, says so instead of pointing at a problem that does not
    exist."""
    ref_what = ref_what or ref_kind
    details = {"rule": "references must exist in QuickBooks first", "depends_on": f"{ref_kind} {ref_id}"}
    ref_problem = open_problem_map(ctx, ref_kind).get(str(ref_id))
    held = ctx.state.holds.of(ref_kind).get(str(ref_id)) if ref_problem is None else None
    if held:
        pair = held.split(": ", 1)[-1]  # "Waiting for match review: “A” may be “B”" → "“A” may be “B”"
        return QboValidationError(
            f"The {what} '{label}' waits for match review: its {ref_what} {pair} in QuickBooks.",
            title="Waiting for match review",
            hint=MATCH_REVIEW_HINT.format(what=what),
            details=details,
        )
    ref_label = ((ref_problem.details or {}).get("record") if ref_problem is not None
                 else ctx.planned_failures.get((ref_kind, str(ref_id))))
    ref_label = f"'{ref_label}'" if ref_label else f"(Work id {ref_id})"
    if ref_problem is not None and ref_problem.code == QBO_DELETED_CODE:
        # its customer was deleted (merged) in QuickBooks: a form naming it would earn 2500
        customer = (ref_problem.details or {}).get("customer")
        return QboValidationError(
            f"The {what} '{label}' cannot be sent because the QuickBooks customer of its {ref_what} {ref_label}"
            f"{f' (“{customer}”)' if customer else ''} was deleted or merged in QuickBooks.",
            title=f"{ref_what.capitalize()}'s customer deleted in QuickBooks",
            hint=f"Fix the {ref_what}'s own problem first (see the list: re-link or re-create it); this {what} "
                 "then syncs by itself.",
            details={**details, "code": QBO_DELETED_CODE})
    return QboValidationError(
        f"The {what} '{label}' cannot be sent because its {ref_what} {ref_label} is not in QuickBooks yet.",
        title=f"{ref_what.capitalize()} not in QuickBooks yet",
        hint=f"Fix the {ref_what}'s own problem first (see the list); this {what} then syncs by itself.",
        details=details,
    )


def unreadable_change(ctx: RunContext, kind: str, entity: str, u: Unreadable, *,
                      then: str = "it syncs by itself once it is saved there") -> Change | None:
    """A record Work sent that did not parse (issue 16): one planned failure of ``kind`` naming the
    record, the field and the value, with what to do in Work; None when its problem is already open
    for this very version (nothing to repeat). Its fingerprint is the record's version,
    ``updated_at``, field and value, so it is reported again only when Work changes it."""
    word = kind.replace("_", " ")
    who = f"{word} {u.number}" if u.number else (f"{word} “{u.name}”" if u.name else f"a {word}")
    where = f" (Work id {u.id})" if u.id else ""
    value = "missing" if u.value is None else repr(u.value)
    problem = WorkRecordUnreadable(
        f"The {who}{where} has a value the sync cannot read: {u.field} is {value} ({u.reason}). "
        "It was not sent to QuickBooks; everything else syncs.",
        title=f"{word.capitalize()} with an unreadable {u.field} in Work",
        hint=f"Open the {who} in Work and correct its {u.field}; {then}.",
        details={"resource": u.resource, "work_id": u.id, "number": u.number, "field": u.field,
                 "value": None if u.value is None else str(u.value)[:200], "reason": u.reason,
                 "work_version": u.version})
    fp = fingerprint({"unreadable": u.resource, "version": u.version, "updated_at": stamp(u.updated_at),
                      "field": u.field, "value": None if u.value is None else str(u.value)})
    work_id = u.id or f"(no id) {u.number or ''}".strip()
    open_now = ctx.open_problems(kind).get(work_id)
    if open_now is not None and (open_now.details or {}).get("fingerprint") == fp:
        return None
    meta: JsonObject = {"work_updated_at": stamp(u.updated_at), "work_version": u.version, "fingerprint": fp}
    return Change(kind, work_id, None, "fail", problem.message, problem=problem, entity=entity,
                  label=who[0].upper() + who[1:], meta=meta)


def take_unreadable(ctx: RunContext, resource: str) -> list[Unreadable]:
    """The records of a Work list read outside :func:`read_changed` that did not parse (connectors
    that cannot set records aside give none)."""
    take = getattr(ctx.work, "take_unreadable", None)
    return list(take(resource)) if take is not None else []
