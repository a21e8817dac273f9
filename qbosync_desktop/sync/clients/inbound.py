"""QuickBooks customers ⇄ Work clients, the two-way half: imports, matches and merged updates.

This phase runs *before* the Work → QuickBooks ``clients`` phase. It

1. reads what changed in QuickBooks (:mod:`cdc`: all customers on the first run, then one CDC
   request per sync, a query for gaps over 30 days) and what changed in Work (its own
   ``updated_since`` cursor, ``twoway.work.clients``: the outbound phase advances ``work.clients``
   after this phase commits, so sharing it would make one of them miss changes);
2. matches unlinked customers against unlinked Work clients (on every run that sees one, not only
   at onboarding), links accepted proposals (origin ``matched``) and holds undecided ones back;
3. imports top-level customers without a link into Work (the seed's state rules apply: default
   State, or the seed's exact missing-state problem), exactly once through a persisted
   :class:`WorkWrite` with an ``Idempotency-Key``;
4. merges linked pairs where either side changed (:mod:`merge`): one-side changes flow, both-side
   changes follow the conflict policy, "ask me" records :class:`Conflict` rows and overwrites nothing.
   Work writes carry the version (409 → re-read, merge again); QuickBooks writes go through the
   outbox (exactly once).

Afterwards each examined link's ``fingerprint`` is set to what the outbound phase would compute for
the client, so the outbound phase does not push a merged (or conflicted) client back over
QuickBooks' values. The per-side merge bases live in ``Link.synced["twoway"]``: ``work`` and ``qbo``
(the values last left in step) and ``qbo_seen`` (QuickBooks' values at the last read, which stand in
for "QuickBooks now" when CDC reports no change).

Problems of customers that are not in Work yet are keyed ``work_id = "qbo:<Id>"`` (a problem needs a
record key and the Work id does not exist yet). Such customers are re-read every run until they
import, so turning "Use default state" on (no change in QuickBooks) is enough to import them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from qbosync_desktop.connectors.qbo.query import quote
from qbosync_desktop.connectors.work.models import Client, Company, Record
from qbosync_desktop.core.errors import (
    QboSyncError,
    WorkApiError,
    WorkConflict,
    WorkRecordUnreadable,
    WorkValidationError,
)
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import OutboxEntry, WorkWrite
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import audit, cdc, outbox, problems, qbo_reads, work_writes
from qbosync_desktop.sync.clients import deleted as deleted_customers
from qbosync_desktop.sync.clients import settle, stale
from qbosync_desktop.sync.clients.fields import (
    FIELDS,
    address_of,
    is_top_level,
    qbo_patch,
    qbo_values,
    too_long,
    work_patch,
    work_values,
)
from qbosync_desktop.sync.clients.merge import equivalent, merge
from qbosync_desktop.sync.clients.outbound import CURSOR as OUTBOUND_CURSOR
from qbosync_desktop.sync.clients.outbound import customer_body, problem_fingerprint, sent_name
from qbosync_desktop.sync.context import LOOKUP_CHUNK, qbo_deleted
from qbosync_desktop.sync.flows.base import after, stamp, take_unreadable, unreadable_change
from qbosync_desktop.sync.flows.reading import ReadAhead, chunks
from qbosync_desktop.sync.onboarding.matching import Candidate, Proposal
from qbosync_desktop.sync.onboarding.review import (
    decide,
    decided_unlinked,
    link_matched,
    qbo_candidate,
    store_fresh,
    waiting_for_review,
    work_candidate,
)
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules import keep
from qbosync_desktop.sync.rules.addresses import MissingState, client_address_for_work, to_work
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import check_name, clean
from qbosync_desktop.sync.rules.validate import clean_record, vet
from qbosync_desktop.sync.work_writes import canonical_body, create_idempotent, problem_key

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterable

    from qbosync_desktop.sync.context import RunContext

log = logging.getLogger(__name__)

KIND = "client"
ENTITY = "Customer"
PHASE = "customers"
WORK_CURSOR = "twoway.work.clients"
MAX_409_RETRIES = 3
#: Imported clients applied per transaction.
APPLY_CHUNK = 100
#: Above this many linked clients to fetch one by one, read the whole Work list instead.
BULK_READ_THRESHOLD = 50


@dataclass
class CustomersRun:
    """What this phase read and decided in the current run (``ctx.flow_state(CustomersRun)``); the
    sites phase reads it too, so QuickBooks' customers are read once per run."""

    #: the customers read of this run (CDC, a full read, or a query); None until read
    read: cdc.Changes | None = None
    #: every customer, for the sites phase when :attr:`read` was not a full read
    all_customers: list[dict[str, Any]] | None = None
    #: planned imports by QuickBooks id (the sites phase places sub-customers under them)
    imports: dict[str, Change] = field(default_factory=dict)
    #: new match proposals to store when the plan is applied (a preview stores none)
    fresh: list[Proposal] = field(default_factory=list)
    #: the Review answers for first merges (:func:`settle.stored`), read once per run
    settle: dict[str, Any] | None = None
    #: customers already counted as waiting for match review in this run
    counted_waiting: set[str] = field(default_factory=set)


class TooLong(WorkValidationError):
    title = "Customer field too long for Work"


def _twoway(link: Link | None) -> dict[str, Any]:
    return dict(((link.synced or {}) if link is not None else {}).get("twoway") or {})


def read_customers(ctx: RunContext) -> cdc.Changes:
    """The customers read of this run (shared with the sites phase through :class:`CustomersRun`)."""
    state = ctx.flow_state(CustomersRun)
    if state.read is None:
        since = cdc.parse_time(ctx.cursor(cdc.cursor_name(ENTITY)))
        state.read = cdc.read_changes(ctx.qbo, ENTITY, since, now=ctx.now)
    return state.read


def _seen_waiting(ctx: RunContext, customers: dict[str, dict[str, Any]], unlinked: list[Candidate]) -> set[str]:
    """The unlinked customers, waiting for match review, that this read saw again unchanged: stamped
    no later than the customers cursor the read started from (so the last run read them as they are)."""
    since = cdc.parse_time(ctx.cursor(cdc.cursor_name(ENTITY)))
    if since is None:
        return set()
    seen = set()
    for c in unlinked:
        stamped = cdc.parse_time((customers[c.id].get("MetaData") or {}).get("LastUpdatedTime"))
        if stamped is not None and stamped <= since:
            seen.add(c.id)
    return waiting_for_review(KIND, seen) if seen else set()


def unreadable_client(wid: str, qid: str, exc: WorkRecordUnreadable) -> Change:
    """A linked (or matched) client Work sends in a form the sync cannot read: one problem of the
    client naming the field and the value; it merges again once Work changes it."""
    details = exc.details
    return Change(KIND, wid, qid, "fail", exc.message, problem=exc, entity=ENTITY,
                  label=f"Client {details.get('number') or details.get('name') or wid}",
                  meta={"work_version": details.get("work_version")})


def outbound_fingerprint(ctx: RunContext, client: Client) -> str:
    """What the outbound ``clients`` phase computes for this client (its text cleaned the same way,
    sync/rules/validate.py), so it sees no change."""
    client = clean_record(client)[0]
    return fingerprint(customer_body(client, sent_name(ctx, client)))


def work_now(client: Client) -> dict[str, Any]:
    """The client's canonical values with its text cleaned as the create path cleans it (control, bidi
    and zero-width characters removed, sync/rules/validate.py): what the merge compares and what it may
    send to QuickBooks, so an invisible character neither reaches QuickBooks nor looks like a change."""
    return work_values(clean_record(client)[0])


def _sent(client: Client, display_name: str) -> dict[str, Any]:
    return customer_body(clean_record(client)[0], display_name)


class ClientsTwoWay:
    """The phase. ``plan`` reads both sides and decides; ``apply`` writes to Work, then QuickBooks."""

    name = PHASE
    kind = KIND

    # -- planning ----------------------------------------------------------------------------------
    def probe(self, ctx: RunContext) -> None:
        """At the start of an incremental run: read the first page of the Work clients changed since
        this phase's cursor in the background, while :meth:`plan` waits for QuickBooks' CDC answer."""
        since, pool = ctx.cursor(WORK_CURSOR), ctx.state.probe_pool
        if since and pool is not None and WORK_CURSOR not in ctx.state.prefetched:
            ctx.state.prefetched[WORK_CURSOR] = ReadAhead[Record](ctx.work.clients(updated_since=since)).start(pool)

    def plan(self, ctx: RunContext) -> list[Change]:
        read = read_customers(ctx)
        ctx.stage_cursor(cdc.cursor_name(ENTITY), read.next_cursor)
        return self._plan(ctx, [read.records], lambda: read.deleted)

    def _plan(self, ctx: RunContext, pages: Iterable[list[dict[str, Any]]],
              deleted: Callable[[], Iterable[str]]) -> list[Change]:
        """Plan over the customers read (``pages``: lists of QuickBooks customers, each Id once;
        ``deleted``: the Ids the read reported deleted, known once the pages were read). The
        pages are read after the changed Work clients, each let go once looked at (see
        :meth:`_customers`)."""
        s = ctx.settings
        # Links are looked up by id for the records the change feeds name (never every link: a sync
        # with nothing to do must cost the same at 100 clients and at 100,000).
        since = ctx.cursor(WORK_CURSOR)
        # The changed Work clients, read a chunk at a time: a linked one is kept whole (its pair may
        # need a merge), an unlinked one only as a match candidate (issue 18: an initial sync reads
        # every client, and 100,000 Client records held at once would dominate the run's memory).
        # An incremental run's first page was asked for at run start (``probe``), while the CDC
        # request was answered.
        probed = ctx.state.prefetched.pop(WORK_CURSOR, None)
        source = cast("Iterable[Client]", probed) if probed is not None else (
            ctx.work.clients(updated_since=since) if since else ctx.work.clients())
        work_by_id: dict[str, Client] = {}
        changed_w: dict[str, Candidate] = {}
        newest: str | None = None
        for chunk in chunks(source, LOOKUP_CHUNK):
            linked_now = ctx.linked_work_ids(KIND, (cl.id for cl in chunk))
            for cl in chunk:
                t = stamp(cl.updated_at)
                if t is not None and (newest is None or t > newest):
                    newest = t
                wid = str(cl.id)
                if wid in linked_now:
                    work_by_id[wid] = cl
                else:
                    changed_w.pop(wid, None)
                    changed_w[wid] = work_candidate(cl)
        if newest is not None:
            ctx.stage_cursor(WORK_CURSOR, after(newest))

        # Customers CDC will not report again but that need handling now: a failed import (the fix
        # may be a setting), an interrupted one, a match decided since, a rejected match's customer.
        pending = {w.qbo_id: w for w in WorkWrite.select().where((WorkWrite.kind == KIND) & (WorkWrite.state == "pending"))}
        waiting = [p.work_id[4:] for p in Problem.select(Problem.work_id).where(
            (Problem.kind == KIND) & (Problem.state == "open") & (Problem.work_id.startswith("qbo:"))
            & ~Problem.work_id.startswith("qbo:no-id:"))]
        decided = [m.qbo_id for m in decided_unlinked(KIND)]
        # Linked pairs with a conflict decision waiting to be applied ...
        resolved = {c.work_id for c in Conflict.select(Conflict.work_id).where(
            (Conflict.kind == KIND) & (Conflict.state == "resolved") & (Conflict.applied_at.is_null()))}
        # ... or a QuickBooks write of ours met a concurrent edit there (5010, sync/stale.py): that
        # edit must reach the merge even if no change feed reports the customer again.
        flagged = stale.flagged_for_recheck(KIND)
        recheck = {wid for wid, lk in flagged.items() if ((lk.synced or {}).get("twoway") or {}).get(stale.RECHECK)}
        customers, fresh_ids = self._customers(
            ctx, pages, keep_qbo={*waiting, *pending, *decided}, keep_work={*work_by_id, *resolved, *recheck})
        # Customers QuickBooks sent without their Id (issue 16: one problem each, keyed by name) are
        # read again by name: one that comes back whole closes its problem and is handled like any
        # other customer read.
        lost = qbo_reads.no_id_names(ENTITY)
        for i in range(0, len(lost), LOOKUP_CHUNK):
            where = f"DisplayName IN {quote(lost[i:i + LOOKUP_CHUNK])} AND Active IN (true, false)"
            for c in ctx.qbo.query(ENTITY, where=where, order_by="Id"):
                if is_top_level(c):
                    customers.setdefault(str(c["Id"]), c)
        by_qbo = ctx.links_by_qbo(KIND, [*customers, *waiting, *pending, *decided])
        missing = [q for q in [*waiting, *pending, *decided] if q not in customers and q not in by_qbo]
        if missing:
            for c in ctx.qbo.query(ENTITY, where=f"Id IN {quote(sorted(set(missing)))}", order_by="Id"):
                if is_top_level(c):
                    customers[str(c["Id"])] = c

        # Match review. An import interrupted after Work may have created the client is finished
        # first, with the same request (so its customer is not offered to matching, which would pair
        # it with that very client under another origin). Matching runs whenever a QuickBooks
        # customer has no link yet - not only on the onboarding run: a customer added in QuickBooks
        # later may be a Work client nobody linked, and importing it would make a second one. That
        # needs every unlinked Work client, not just the changed ones.
        # A customer CDC hands out again unchanged (``changedSince`` is inclusive: the cursor's own
        # second comes back) that already waits for review was matched against every unlinked Work
        # client when it was read at that stamp: re-reading them all would make a sync with nothing
        # to do read Work's whole client list (100,000 clients: hundreds of pages).
        unlinked_q = [qbo_candidate(c) for q, c in customers.items() if q not in by_qbo and q not in pending]
        fresh_ids -= _seen_waiting(ctx, customers, unlinked_q)
        if since is not None and any(c.id in fresh_ids or c.id in decided for c in unlinked_q):
            changed_w = {}
            for chunk in chunks(ctx.work.clients(), LOOKUP_CHUNK):
                linked_now = ctx.linked_work_ids(KIND, (cl.id for cl in chunk))
                changed_w.update((str(cl.id), work_candidate(cl)) for cl in chunk if str(cl.id) not in linked_now)
        decisions = decide(KIND, list(changed_w.values()), unlinked_q, fresh=True)
        readable_unlinked = set(changed_w)  # ids only: the candidates themselves are released here
        del changed_w
        state = ctx.flow_state(CustomersRun)
        ctx.state.holds.set(KIND, decisions.waiting_work)
        state.fresh = decisions.fresh
        matched = {q: (w, info) for w, q, info in decisions.accepted}

        changes: list[Change] = []
        company = None
        imports: dict[str, Any] = {}
        for qid, cust in sorted(customers.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            if qid in by_qbo:
                continue
            label = str(cust.get("DisplayName") or qid)
            if qid in matched and qid not in pending:
                wid, info = matched[qid]
                try:
                    client = work_by_id.get(wid) or ctx.work.get_client(wid)  # unlinked: read again
                except WorkRecordUnreadable as exc:
                    changes.append(unreadable_client(wid, qid, exc))
                    continue
                changes += self._link_changes(ctx, client, cust, info)
                continue
            if qid in decisions.waiting_qbo:
                changes.append(Change(KIND, None, qid, "skip", decisions.waiting_qbo[qid], entity=ENTITY, label=label,
                                      meta={"qbo_only": True, "waiting": True}))
                continue
            if company is None:
                company = ctx.company()
            ch = self._import_change(ctx, cust, company, pending.get(qid))
            imports[qid] = ch
            changes.append(ch)
        state.imports = imports

        # Linked pairs where either side changed, or a conflict decision waits to be applied (or a
        # recheck, above).
        links = {lk.work_id: lk for lk in by_qbo.values()}
        # (not a preview's links planned above by this very plan: those pairs are merged already)
        links.update((w, lk) for w, lk in ctx.load_links(KIND, [*work_by_id, *resolved]).items() if lk.id is not None)
        links.update((wid, flagged[wid]) for wid in recheck if wid not in links)
        pairs: dict[str, str] = {}
        for qid in customers:
            if qid in by_qbo:
                pairs[by_qbo[qid].work_id] = qid
        for wid in [*work_by_id, *resolved, *recheck]:
            if wid in links and wid not in pairs:
                pairs[wid] = links[wid].qbo_id
        # Versions we wrote (or last merged) ourselves are no change: the customers the outbound
        # phase just created, our own updates read back by CDC, clients we just wrote in Work. They
        # cost nothing - no request, no write - so the sync after a busy one is a no-op again.
        # A customer QuickBooks reported deleted (merged) is never written to, nor its changes merged:
        # the client's one problem says so (deleted.py) until the link is fixed.
        gone = set(deleted())
        for wid in list(pairs):
            if qbo_deleted(links[wid]) or links[wid].qbo_id in gone:
                del pairs[wid]
                continue
            if wid in resolved or wid in recheck:
                continue
            link, read_cust, read_client = links[wid], customers.get(pairs[wid]), work_by_id.get(wid)
            qbo_known = read_cust is None or str(read_cust.get("SyncToken")) == str(link.qbo_sync_token)
            work_known = read_client is None or str(read_client.version) == str(link.work_version)
            if qbo_known and work_known:
                del pairs[wid]
        # Work clients the reads above met that did not parse: one problem each (issue 16), naming the
        # client, the field and the value; every other client syncs, this one when Work changes it.
        for u in take_unreadable(ctx, "clients"):
            if u.id not in work_by_id and u.id not in readable_unlinked and (bad := unreadable_change(ctx, KIND, ENTITY, u)):
                changes.append(bad)
        need = [w for w in pairs if w not in work_by_id]
        if len(need) > BULK_READ_THRESHOLD:
            # Many QuickBooks-side changes (e.g. a bulk edit): one paged list beats a GET per client.
            work_by_id.update({str(c.id): c for c in ctx.work.clients()})
        for wid, qid in sorted(pairs.items()):
            link = links[wid]
            try:
                client = work_by_id.get(wid) or ctx.work.get_client(wid)
            except WorkRecordUnreadable as exc:
                changes.append(unreadable_client(wid, qid, exc))
                continue
            changes.append(self._merge_change(ctx, link, client, customers.get(qid), s.conflict_policy))
        changes += deleted_customers.changes(ctx, gone)
        return changes

    @staticmethod
    def _customers(ctx: RunContext, pages: Iterable[list[dict[str, Any]]], *, keep_qbo: set[str],
                   keep_work: set[str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """The top-level customers read that the plan needs, by Id, and those Ids.

        Left out, page by page, is a linked customer read at the very version its link holds
        (``SyncToken``) whose Work client has not changed (not among ``keep_work``, the changed Work
        clients read and the pairs a decision or a recheck brings back) and that no pending import,
        open problem or match decision names (``keep_qbo``): the plan would find nothing to do with
        it (see "Versions we wrote ..." in :meth:`_plan`). Those are the run's own writes read back
        (:meth:`settle`: 20,000 after a 20,000-client initial sync), so the settle step holds a page
        of customers at a time instead of all of them (issue 18). The links are looked up as three
        plain columns, one query per 500 Ids. A preview keeps every customer (its planned links are
        not in the table).
        """
        customers: dict[str, dict[str, Any]] = {}
        for page in pages:
            top = {str(c["Id"]): c for c in page if is_top_level(c)}
            known: dict[str, tuple[str, str | None]] = {}
            if not ctx.preview:
                ids = [q for q in top if q not in keep_qbo]
                for i in range(0, len(ids), LOOKUP_CHUNK):
                    chunk = ids[i:i + LOOKUP_CHUNK]
                    known.update((str(q), (str(w), t)) for q, w, t in database.execute_sql(
                        "SELECT qbo_id, work_id, qbo_sync_token FROM sync_link WHERE kind = ? AND qbo_id IN "
                        f"({', '.join('?' * len(chunk))})", (KIND, *chunk)))
            for qid, cust in top.items():
                link = known.get(qid)
                if link is not None and link[0] not in keep_work and str(cust.get("SyncToken")) == str(link[1]):
                    continue
                customers[qid] = cust
        return customers, set(customers)

    def _link_changes(self, ctx: RunContext, client: Client, cust: dict[str, Any], info: dict[str, Any]) -> list[Change]:
        """An accepted match: the link, then (as its own change, so the preview counts what the run
        does) the first merge of the pair - gaps filled, real differences by the policy."""
        wid, qid = str(client.id), str(cust["Id"])
        label = str(client.name)
        reason = f"Matched with QuickBooks customer \u201c{cust.get('DisplayName')}\u201d: {info.get('reason', '')}"
        link_ch = Change(KIND, wid, qid, "link", reason.rstrip(": "), entity=ENTITY, label=label,
                         meta={"match": info, "sync_token": cust.get("SyncToken")})
        lk = Link(kind=KIND, work_id=wid, qbo_id=qid, qbo_sync_token=cust.get("SyncToken"), origin="matched")
        first = self._merge_change(ctx, lk, client, cust, ctx.settings.conflict_policy)
        first.meta["first_merge"] = True  # Review lists the pair if its fields differ (preview.differing_clients)
        to_qbo, q_now = first.meta.get("to_qbo") or {}, first.meta.get("qbo_now") or {}
        if to_qbo:
            # An existing QuickBooks customer the first sync would change: listed field by field in
            # the preview (``--keep-qbo client:ID`` settles this record with QuickBooks' values).
            first.meta["changes"] = [{"field": f, "before": q_now.get(f), "after": v} for f, v in to_qbo.items()]
        elif keep.kept(KIND, qid):
            # Kept by the person: still listed (as kept) with what the group answers would have sent.
            answers = self._settle_for(ctx, wid)
            w_now = work_now(client)
            first.meta["kept"] = True
            first.meta["changes"] = [{"field": f, "before": q_now.get(f), "after": w_now.get(f)} for f in FIELDS
                                     if settle.group_answer(f) == "work" and not equivalent(f, w_now.get(f), q_now.get(f))
                                     and answers.get(f) == "quickbooks"]
        return [link_ch, first]

    def _import_change(self, ctx: RunContext, cust: dict[str, Any], company: Company, pending: WorkWrite | None) -> Change:
        qid = str(cust["Id"])
        label = str(cust.get("DisplayName") or qid)
        key = problem_key(qid)
        if pending is not None:  # a create that may have reached Work: re-send it identically
            return Change(KIND, key, qid, "import", "new in QuickBooks (finishing an interrupted import)",
                          payload=pending.body, entity=ENTITY, label=label,
                          meta={"write_id": pending.id, "qbo": qbo_values(cust), "sync_token": cust.get("SyncToken")})
        values = qbo_values(cust)
        s = ctx.settings
        try:
            addr = client_address_for_work(
                address_of(values), use_default_state=s.use_default_state,
                default_state=company.default_state, default_country=company.default_country,
                qbo_id=qid)
        except MissingState as exc:
            return Change(KIND, key, qid, "fail", exc.message, problem=exc, entity=ENTITY, label=label)
        field = too_long(values)
        if field is not None:
            err = TooLong(f"The customer \u201c{label[:60]}\u2026\u201d has a {field.replace('_', ' ')} longer than "
                          "Work allows.", hint="Shorten it in QuickBooks, then press Sync now.",
                          details={"field": field, "qbo_id": qid})
            return Change(KIND, key, qid, "fail", err.message, problem=err, entity=ENTITY, label=label)
        body: dict[str, Any] = {f: values[f] or None for f in ("name", "first_name", "last_name", "company_name",
                                                                "email", "phone")}
        body["name"] = values["name"]
        body["billing_address"] = to_work(addr)
        body["active"] = values["active"]
        reason = "new in QuickBooks"
        if addr.state != address_of(values).state:
            reason += f" (State {addr.state} from the Work company's default)"
        return Change(KIND, key, qid, "import", reason, payload=body, entity=ENTITY, label=label,
                      meta={"qbo": values, "sync_token": cust.get("SyncToken")})

    def _merge_meta(self, client: Client, cust: dict[str, Any] | None, res: Any, qbo_now: dict[str, Any] | None
                    ) -> dict[str, Any]:
        return {
            "to_work": res.to_work,
            "to_qbo": res.to_qbo,
            "conflicts": [c.__dict__ for c in res.conflicts],
            "decided": res.decided,
            "base_work": res.base_work,
            "base_qbo": res.base_qbo,
            "qbo_now": qbo_now if qbo_now is not None else qbo_values(cust or {}),
            "sync_token": (cust or {}).get("SyncToken"),
            "work_version": client.version,
            "client": client,
        }

    def _merge_change(self, ctx: RunContext, link: Link, client: Client, cust: dict[str, Any] | None, policy: str
                      ) -> Change:
        tw = _twoway(link)
        w_now = work_now(client)
        q_now = qbo_values(cust) if cust is not None else (tw.get("qbo_seen") or None)
        label = str(client.name)
        if q_now is None:
            # Linked by the outbound phase and never read back: QuickBooks holds what was sent.
            sent = (link.synced or {}).get("sent")
            q_now = qbo_values(sent) if sent else dict(w_now)
        bw, bq = tw.get("work"), tw.get("qbo")
        sent = (link.synced or {}).get("sent")
        if bw is None and bq is None and sent and not settle.linked_by_name(link):
            # Created in QuickBooks from Work by the outbound phase: both sides agreed on what was sent.
            # (Not a customer the outbound phase linked by name: nothing was sent to it, and treating
            # Work's values as the base would carry QuickBooks' differing values into Work unasked.)
            bw = bq = qbo_values(sent)
        bw, bq = self._apply_resolutions(link, bw, bq, w_now, q_now)
        res = merge(w_now, q_now, base_work=bw, base_qbo=bq, policy=policy, fields=FIELDS,
                    settle=self._settle_for(ctx, link.work_id, link))
        meta = self._merge_meta(client, cust, res, q_now)
        meta["used_bases"] = (bw, bq)  # what a deferred QuickBooks write puts back (sync/stale.py)
        if cust is None:
            meta["sync_token"] = link.qbo_sync_token
        parts = []
        if res.to_qbo:
            parts.append("to QuickBooks: " + ", ".join(sorted(res.to_qbo)))
        if res.to_work:
            parts.append("to Work: " + ", ".join(sorted(res.to_work)))
        if res.conflicts:
            parts.append("changed in both places, waiting for your decision: "
                         + ", ".join(c.field for c in res.conflicts))
        action = "update" if res.changed else "skip"
        reason = "; ".join(parts) or "no change"
        if "name" in res.to_qbo:
            bad = check_name(str(res.to_qbo["name"]), what="client")
            if bad is not None:
                # QuickBooks would refuse the new name (2040/2050): say so before sending anything;
                # the record syncs once the name is fixed in Work.
                return Change(KIND, link.work_id, link.qbo_id, "fail", bad.message, problem=bad, entity=ENTITY,
                              label=label, meta={"work_version": client.version})
        payload = None
        if res.to_qbo:
            payload = qbo_patch(res.to_qbo, q_now, qbo_id=link.qbo_id, sync_token=meta["sync_token"])
            # The same checks as the create path (sync/rules/validate.py): a value QuickBooks would
            # refuse (2050) or should not hold - a field longer than Intuit allows, an invalid e-mail
            # address - is the client's one problem, before anything is sent; it syncs once fixed in Work.
            cleaned = clean_record(client)[0]
            refused = vet(KIND, ENTITY, clean(cleaned.name), payload, today=ctx.now.date())
            if refused is not None:
                refused.details["fields"] = sorted(res.to_qbo)
                # kept under the outbound phase's fingerprint: that phase sees the problem raised for
                # this version already (one problem, counted once per run)
                fp = problem_fingerprint(ctx, cleaned, customer_body(cleaned, sent_name(ctx, cleaned)))
                return Change(KIND, link.work_id, link.qbo_id, "fail", refused.message, problem=refused,
                              entity=ENTITY, label=label, meta={"work_version": client.version, "fingerprint": fp,
                                                                 "work_updated_at": stamp(client.updated_at)})
        if ctx.preview:
            # The run sets the link's outbound fingerprint after this merge (see the module doc); an
            # unsaved copy in the preview's cache lets the outbound phase plan exactly as it will then.
            ghost = Link(**{**link.__data__, "synced": {**(link.synced or {}),
                                                        "sent": _sent(client, q_now.get("name") or label)}})
            ghost.fingerprint = outbound_fingerprint(ctx, client)
            ctx.put_link(ghost)
        return Change(KIND, link.work_id, link.qbo_id, action, reason[:1].upper() + reason[1:], payload=payload,
                      entity=ENTITY, label=label, meta=meta)

    @staticmethod
    def _settle_for(ctx: RunContext, work_id: str, link: Link | None = None) -> dict[str, str]:
        """The Review answers for a field without a base (:mod:`settle`), read once per run. A client
        the outbound phase linked by name was never shown at Review: only an answer given for that
        very record counts (``--settle-record``); its other differing fields become conflicts."""
        state = ctx.flow_state(CustomersRun)
        if state.settle is None:
            state.settle = settle.stored()
        if link is not None and settle.linked_by_name(link):
            return settle.record_answers(work_id, state.settle)
        return settle.for_record(work_id, state.settle)

    @staticmethod
    def _apply_resolutions(link: Link, bw: dict | None, bq: dict | None, w_now: dict, q_now: dict
                           ) -> tuple[dict | None, dict | None]:
        """Turn each decided conflict into bases that make the kept value flow by the normal merge:
        keep Work → both bases = QuickBooks' value (so only Work looks changed), and vice versa."""
        rows = list(Conflict.select().where((Conflict.kind == KIND) & (Conflict.work_id == link.work_id)
                                            & (Conflict.state == "resolved") & (Conflict.applied_at.is_null())))
        if not rows:
            return bw, bq
        bw, bq = dict(bw or w_now), dict(bq or q_now)
        for c in rows:
            if c.resolution == "work":
                bw[c.field] = bq[c.field] = q_now.get(c.field)
            else:
                bw[c.field] = bq[c.field] = w_now.get(c.field)
        return bw, bq

    # -- applying ----------------------------------------------------------------------------------
    def apply(self, ctx: RunContext, changes: list[Change]) -> None:
        for ch in changes:
            ch.meta.setdefault("phase", PHASE)
        state = ctx.flow_state(CustomersRun)
        # Failures, and the customers match review holds (counted once per run: settle plans again).
        local = [c for c in changes if c.action == "fail" or (
            c.action == "skip" and c.meta.get("waiting") and str(c.qbo_id) not in state.counted_waiting)]
        state.counted_waiting.update(str(c.qbo_id) for c in local if c.action == "skip")
        with database.atomic():
            deleted_customers.close_fixed(ctx)  # a link fixed since: its "deleted in QuickBooks" problem closes
            deleted_customers.mark(ctx, local)
        outbox.apply_local(ctx, PHASE, local)
        ctx.state.open_problems.clear()  # later phases must see the problems just opened
        self._apply_imports(ctx, [c for c in changes if c.action == "import"])
        for ch in changes:
            if ch.action == "link":
                with database.atomic():
                    lk = link_matched(KIND, str(ch.work_id), str(ch.qbo_id), run_id=ctx.run_id, message=ch.reason,
                                      sync_token=ch.meta.get("sync_token"))
                    problems.close_problem(KIND, str(ch.work_id))
                if lk is not None:
                    ctx.remember_link(lk)
                ctx.count(PHASE, "linked")
                ctx.observer.record(PHASE, ch.work_id, "linked", ch.reason)
        qbo_writes: list[Change] = []
        for ch in changes:
            if ch.action in ("update", "skip") and ch.work_id and "to_work" in ch.meta:
                ctx.check_cancel()
                w = self._apply_merge(ctx, ch)
                if w is not None:
                    qbo_writes.append(w)
        fresh = ctx.flow_state(CustomersRun).fresh
        if fresh:
            with database.atomic():
                store_fresh(KIND, fresh)
        if any(c.action == "import" or c.meta.get("to_work") for c in changes):
            # The engine may have prefetched the outbound phase's Work client list at run start,
            # before these Work writes: such a stale copy would look changed against the fingerprint
            # set here and push the old values over QuickBooks. Make that phase read Work again.
            ctx.state.drop_prefetch(OUTBOUND_CURSOR)
        outbox.submit(ctx, qbo_writes)

    # -- the settle hook (called by the engine once every phase has applied) -------------------------
    def settle(self, ctx: RunContext) -> bool:
        """Read back, within this run, the QuickBooks customers this run wrote. Returns True when it
        did (the engine then commits the cursors it staged).

        This phase reads QuickBooks' changes *before* the outbound phases write. Without this step
        the next sync's CDC window would hold this run's own writes - 5,000 customers after a large
        initial sync, over CDC's 1,000-object cap, so a sync with no changes would cost several
        requests and seconds of merging. Reading them now moves that cost into the run that caused
        it, still merges any edit a person made in QuickBooks meanwhile (the read starts at the
        cursor staged before the writes, so nothing is skipped), and leaves the cursor past them.
        The engine calls it only for a run whose outbox work is all finished.
        """
        if ctx.run is None:
            return False
        wrote = OutboxEntry.select().where(
            (OutboxEntry.run_id == ctx.run.id) & (OutboxEntry.entity == ENTITY)
        ).exists()
        if not wrote:
            return False
        ctx.check_cancel()
        state = ctx.flow_state(CustomersRun)
        state.read = state.all_customers = None  # the phase's own read: let it go
        ctx.state.drop_prefetch(WORK_CURSOR)  # read Work again, after this run's writes
        # A page of customers at a time (issue 18): the plan keeps only those it has something to do
        # with, and the run's own writes read back are not among them.
        pages = cdc.ChangePages(ctx.qbo, ENTITY, cdc.parse_time(ctx.cursor(cdc.cursor_name(ENTITY))), now=ctx.now)
        changes = self._plan(ctx, pages, lambda: pages.deleted)
        ctx.stage_cursor(cdc.cursor_name(ENTITY), pages.next_cursor)
        self.apply(ctx, changes)
        log.info("Run %s read back its own customer writes: %d further changes", ctx.run.id, len(changes))
        return True

    def _apply_imports(self, ctx: RunContext, imports: list[Change]) -> None:
        """Intents committed first (one transaction), creates sent a few at a time, results applied
        in chunks (one transaction each: link, audit, problem closed, intent done)."""
        if not imports:
            return
        ctx.check_cancel()
        with database.atomic():
            writes = [
                WorkWrite.get_by_id(ch.meta["write_id"]) if ch.meta.get("write_id") is not None
                else work_writes.intent(ctx, KIND, str(ch.qbo_id), dict(ch.payload or {}),
                                        meta={"qbo": ch.meta.get("qbo")})
                for ch in imports
            ]
        results, stop = work_writes.send_all(ctx, writes, lambda work: work.create_client)
        by_write = {id(ww): ch for ww, ch in zip(writes, imports, strict=True)}
        for i in range(0, len(results), APPLY_CHUNK):
            done: list[tuple[str, Change]] = []
            with database.atomic():
                for ww, client, exc in results[i:i + APPLY_CHUNK]:
                    ch = by_write[id(ww)]
                    if client is None:  # not created: Work refused it, or the run stops (``exc`` says which)
                        if exc is not None and not (exc.fatal or exc.transient or exc is stop):
                            work_writes.refused(ctx, ww, exc, phase=PHASE, label=ch.label)
                        continue
                    done.append((self._link_import(ctx, ch, ww, client), ch))
            for wid, ch in done:
                ctx.count(PHASE, "imported")
                ctx.observer.record(PHASE, wid, "imported", ch.reason)
        if stop is not None:
            raise stop

    def _link_import(self, ctx: RunContext, ch: Change, ww: WorkWrite, client: Client) -> str:
        """Apply one created client (inside the caller's transaction). Returns its Work id."""
        qid = str(ch.qbo_id)
        wid = str(client.id)
        w_vals, q_vals = work_now(client), ch.meta.get("qbo") or (ww.meta or {}).get("qbo") or {}
        work_writes.mark_done(ww, wid)
        link = Link.get_or_none((Link.kind == KIND) & (Link.qbo_id == qid))
        if link is None:
            link = Link.create(kind=KIND, work_id=wid, qbo_id=qid, qbo_sync_token=ch.meta.get("sync_token"),
                               work_version=str(client.version), origin="imported", updated_at=utcnow())
        link.synced = {"sent": _sent(client, q_vals.get("name") or client.name),
                       "twoway": {"work": w_vals, "qbo": q_vals, "qbo_seen": q_vals}}
        ctx.remember_link(link)
        link.fingerprint = outbound_fingerprint(ctx, client)
        link.save()
        audit.record("import", KIND, wid, qid, run_id=ctx.run_id, after=ww.body, message=ch.reason)
        problems.close_problem(KIND, problem_key(qid))
        return wid

    @staticmethod
    def _merge_failed(ctx: RunContext, ch: Change, exc: QboSyncError, to_work: dict[str, Any]) -> None:
        """Work refused (or could not give) what a merge needs: the client's one problem."""
        wid = str(ch.work_id)
        with database.atomic():
            p = problems.open_problem(KIND, wid, exc, run_id=ctx.run_id, qbo_id=str(ch.qbo_id),
                                      extra={"record": ch.label, "fields": sorted(to_work)})
        ctx.count(PHASE, "failed")
        ctx.observer.problem(problems.problem_dict(p))
        ctx.observer.record(PHASE, wid, "failed", exc.message)

    def _apply_merge(self, ctx: RunContext, ch: Change) -> Change | None:
        """Work write (with 409 → re-read and merge again), conflicts, link bases; returns the QBO
        write for the outbox (or None)."""
        meta = ch.meta
        client = meta["client"]
        q_now = meta["qbo_now"]
        wid, qid = str(ch.work_id), str(ch.qbo_id)
        to_work, to_qbo = dict(meta["to_work"]), dict(meta["to_qbo"])
        base_w, base_q = meta["base_work"], meta["base_qbo"]
        conflicts = meta["conflicts"]
        used_bw, used_bq = meta.get("used_bases") or (None, None)
        attempts = 0
        #: Work's values right before the write that succeeded: the audit row's ``before`` (what an
        #: undo of this run puts back in Work)
        prior: dict[str, Any] = {}
        while to_work:
            try:
                prior = work_values(client)
                patch = work_patch(to_work, prior)
                client = ctx.work.update_client(wid, client.version, **patch)
                break
            except WorkConflict:
                attempts += 1
                if attempts > MAX_409_RETRIES:
                    raise
                try:
                    client = ctx.work.get_client(wid)
                except WorkRecordUnreadable as exc:  # changed meanwhile into a form the sync cannot read
                    self._merge_failed(ctx, ch, exc, to_work)
                    return None
                link = ctx.link(KIND, wid)
                tw = _twoway(link)
                res = merge(work_now(client), q_now, base_work=tw.get("work"), base_qbo=tw.get("qbo"),
                            policy=ctx.settings.conflict_policy, fields=FIELDS,
                            settle=self._settle_for(ctx, wid, link))
                to_work, to_qbo = res.to_work, res.to_qbo
                base_w, base_q = res.base_work, res.base_qbo
                used_bw, used_bq = tw.get("work"), tw.get("qbo")
                conflicts = [c.__dict__ for c in res.conflicts]
            except WorkApiError as exc:
                if exc.fatal or exc.transient:
                    raise
                self._merge_failed(ctx, ch, exc, to_work)
                return None
        if to_work:
            base_w = {**base_w, **{f: work_now(client)[f] for f in to_work}}
        synced_twoway = {"work": base_w, "qbo": base_q, "qbo_seen": {**q_now, **to_qbo}}
        with database.atomic():
            link = Link.get((Link.kind == KIND) & (Link.work_id == wid))
            before = (link.synced, link.work_version, link.qbo_sync_token, link.fingerprint)
            display = to_qbo.get("name") or q_now.get("name") or client.name
            link.synced = {**(link.synced or {}), "sent": _sent(client, display), "twoway": synced_twoway}
            link.work_version = str(client.version)
            if meta.get("sync_token") is not None and not to_qbo:
                link.qbo_sync_token = str(meta["sync_token"])
            ctx.remember_link(link)
            link.fingerprint = outbound_fingerprint(ctx, client)
            if (link.synced, link.work_version, link.qbo_sync_token, link.fingerprint) != before:
                # Only a real difference is written: a sync that finds nothing new writes nothing.
                link.updated_at = utcnow()
                link.save()
            self._record_conflicts(ctx, wid, qid, ch.label, conflicts)
            # A field open as a conflict that this merge settled (values now equivalent, a policy or
            # the Review answer decided it): the conflict is over.
            Conflict.update(state="resolved", resolution="settled", resolved_at=utcnow(), applied_at=utcnow()).where(
                (Conflict.kind == KIND) & (Conflict.work_id == wid) & (Conflict.state == "open")
                & Conflict.field.not_in([c["field"] for c in conflicts] or [""])).execute()
            Conflict.update(applied_at=utcnow()).where(
                (Conflict.kind == KIND) & (Conflict.work_id == wid) & (Conflict.state == "resolved")
                & (Conflict.applied_at.is_null())).execute()
            if to_work:
                audit.record("update", KIND, wid, qid, run_id=ctx.run_id,
                             before={f: prior.get(f) for f in to_work},
                             after=to_work, message="Changed in QuickBooks: " + ", ".join(sorted(to_work)))
            if not to_qbo and ch.action != "link":
                problems.close_problem(KIND, wid)
        if ch.action == "update" and to_work and not to_qbo:
            ctx.count(PHASE, "updated")
            ctx.observer.record(PHASE, wid, "updated", ch.reason)
        if not to_qbo:
            return None
        payload = qbo_patch(to_qbo, q_now, qbo_id=qid, sync_token=link.qbo_sync_token if meta.get("sync_token") is None
                            else meta["sync_token"])
        out_meta = {
            "phase": PHASE,
            "synced": link.synced,
            "fingerprint": link.fingerprint,
            "work_version": client.version,
            "before": {f: q_now.get(f) for f in to_qbo},
            "after": to_qbo,
            "message": "Changed in Work: " + ", ".join(sorted(to_qbo)),
            "label": ch.label,
            # A 5010 on this update is decided field by field (sync/stale.py): what the merge saw in
            # QuickBooks for the fields written, and the bases it started from (put back on deferral).
            "twoway": {
                "fields": sorted(to_qbo),
                "seen": {f: q_now.get(f) for f in to_qbo},
                "base_work": None if used_bw is None else {f: used_bw[f] for f in to_qbo if f in used_bw},
                "base_qbo": None if used_bq is None else {f: used_bq[f] for f in to_qbo if f in used_bq},
            },
        }
        return Change(KIND, wid, qid, "update", ch.reason, payload=payload, entity=ENTITY, label=ch.label,
                      meta=out_meta)

    @staticmethod
    def _record_conflicts(ctx: RunContext, wid: str, qid: str, label: str, conflicts: list[dict[str, Any]]) -> None:
        """One open conflict per field: refreshed when seen again (values may have moved on)."""
        for c in conflicts:
            row = Conflict.get_or_none((Conflict.kind == KIND) & (Conflict.work_id == wid)
                                       & (Conflict.field == c["field"]) & (Conflict.state == "open"))
            if row is None:
                Conflict.create(kind=KIND, work_id=wid, qbo_id=qid, label=label, field=c["field"],
                                work_value=c["work_value"], qbo_value=c["qbo_value"], base_value=c["base_value"],
                                first_seen_run=ctx.run_id, created_at=utcnow())
                audit.record("conflict", KIND, wid, qid, run_id=ctx.run_id,
                             before={"field": c["field"], "base": c["base_value"]},
                             after={"work": c["work_value"], "quickbooks": c["qbo_value"]},
                             message=f"{c['field']} changed in both places")
                ctx.count(PHASE, "conflicts")
            elif (row.work_value, row.qbo_value) != (c["work_value"], c["qbo_value"]):
                row.work_value, row.qbo_value = c["work_value"], c["qbo_value"]
                row.save()


def phase(ctx: RunContext) -> ClientsTwoWay | None:
    return ClientsTwoWay() if ctx.settings.clients else None


__all__ = ["ClientsTwoWay", "CustomersRun", "QboSyncError", "canonical_body", "create_idempotent", "phase",
           "problem_key"]
