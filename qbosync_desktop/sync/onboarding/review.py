"""Match review: proposals stored, decided by the person, and turned into links.

The pure scoring lives in :mod:`matching`; this module is its memory. Why proposals are stored at
all: the person reviews them (in the wizard or with ``qbosync matches``) possibly hours before
pressing Enable, and their decisions must hold across runs and restarts:

* an *accepted* proposal becomes a ``Link`` (origin ``matched``) - for clients in the next run's
  customers phase, together with the pair's first merge (so the preview counts it), for vendors at
  once - so no phase of the first sync ever creates a second "Ann Lee";
* a *rejected* proposal is never proposed again; both records then sync on their own;
* an undecided (*proposed*) one holds both records back (a skip with the reason "waiting for match
  review"), because importing or creating either would make the duplicate the person has not ruled
  out yet.

Unambiguous exact matches are pre-accepted (``decided_by = "auto"``); the person can still reject
them, which removes the link as long as it is only a match that never synced (origin ``matched``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.onboarding import MatchProposal
from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync import audit
from qbosync_desktop.sync.clients import settle
from qbosync_desktop.sync.clients.fields import is_top_level
from qbosync_desktop.sync.onboarding.matching import Candidate, Proposal, check_accept, propose
from qbosync_desktop.sync.rules import keep as keep_mod

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.connectors.work.models import Client, Contractor
    from qbosync_desktop.sync.engine import SyncEngine

#: Work kind → QuickBooks entity.
ENTITIES = {"client": "Customer", "vendor": "Vendor"}
#: Clients are linked by the customers phase (together with their first merge, so the preview counts
#: it); vendors have no inbound phase, so their accepted matches become links at once.
LINK_ON_ACCEPT = ("vendor",)
#: The cursor of the outbound phase that skips held records, per kind.
OUTBOUND_CURSORS = {"client": "work.clients", "vendor": "work.contractors"}


def work_candidate(record: Client | Contractor) -> Candidate:
    return Candidate(
        id=str(record.id),
        name=str(record.name or ""),
        email=record.email,
        phone=record.phone,
        company_name=record.company_name,
    )


def qbo_candidate(obj: dict[str, Any]) -> Candidate:
    return Candidate(
        id=str(obj.get("Id")),
        name=str(obj.get("DisplayName") or ""),
        email=(obj.get("PrimaryEmailAddr") or {}).get("Address"),
        phone=(obj.get("PrimaryPhone") or {}).get("FreeFormNumber"),
        company_name=obj.get("CompanyName"),
    )


@dataclass
class Decisions:
    """The match state of one kind for one plan: who is linked by a match, who waits."""

    #: (work_id, qbo_id, origin proposal) accepted but not linked yet
    accepted: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    waiting_work: dict[str, str] = field(default_factory=dict)  # work_id → reason
    waiting_qbo: dict[str, str] = field(default_factory=dict)  # qbo_id → reason
    #: freshly computed proposals (not stored yet); a run stores them, a preview does not
    fresh: list[Proposal] = field(default_factory=list)


def _stored(kind: str) -> list[MatchProposal]:
    return list(MatchProposal.select().where(MatchProposal.kind == kind).order_by(MatchProposal.id))


def _present(column: Any, ids: Iterable[str], where: Any) -> set[str]:
    """Those of ``ids`` found in ``column`` among the rows ``where`` selects (500 ids a query)."""
    found: set[str] = set()
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), 500):
        found.update(str(getattr(row, column.name)) for row in
                     column.model.select(column).where(where & column.in_(wanted[i:i + 500])))
    return found


def _linked(kind: str, column: Any, ids: set[str]) -> set[str]:
    """Those of ``ids`` that have a link of ``kind`` in ``column`` (Link.work_id or Link.qbo_id)."""
    return _present(column, ids, Link.kind == kind)


def decide(
    kind: str,
    work: Iterable[Candidate],
    qbo: Iterable[Candidate],
    *,
    fresh: bool,
) -> Decisions:
    """Combine stored decisions with (when ``fresh``) new proposals among unlinked records."""
    work, qbo = list(work), list(qbo)
    stored = _stored(kind)
    # Which of the records in question are linked, looked up by id (not every link of the kind: the
    # customers phase decides on every run, and its cost must follow the change, not the company).
    linked_w = _linked(kind, Link.work_id, {w.id for w in work} | {m.work_id for m in stored})
    linked_q = _linked(kind, Link.qbo_id, {q.id for q in qbo} | {m.qbo_id for m in stored})
    work = [w for w in work if w.id not in linked_w]
    qbo = [q for q in qbo if q.id not in linked_q]
    out = Decisions()
    known_pairs = {(m.work_id, m.qbo_id) for m in stored}
    taken_w: set[str] = set(linked_w)
    taken_q: set[str] = set(linked_q)
    for m in stored:
        if m.state == "accepted" and m.work_id not in taken_w and m.qbo_id not in taken_q:
            out.accepted.append((m.work_id, m.qbo_id, m.to_dict()))
            taken_w.add(m.work_id)
            taken_q.add(m.qbo_id)
    for m in stored:
        if m.state == "proposed" and m.work_id not in taken_w and m.qbo_id not in taken_q:
            why = f"Waiting for match review: \u201c{m.work_name}\u201d may be \u201c{m.qbo_name}\u201d"
            out.waiting_work.setdefault(m.work_id, why)
            out.waiting_qbo.setdefault(m.qbo_id, why)
    if fresh:
        for p in propose(work, qbo, linked_work=taken_w, linked_qbo=taken_q):
            if (p.work_id, p.qbo_id) in known_pairs:
                continue
            out.fresh.append(p)
            if p.accepted and p.work_id not in taken_w and p.qbo_id not in taken_q:
                out.accepted.append((p.work_id, p.qbo_id, {"reason": p.reason, "score": p.score, "auto": True}))
                taken_w.add(p.work_id)
                taken_q.add(p.qbo_id)
        for p in out.fresh:
            if not p.accepted and p.work_id not in taken_w and p.qbo_id not in taken_q:
                why = f"Waiting for match review: \u201c{p.work_name}\u201d may be \u201c{p.qbo_name}\u201d"
                out.waiting_work.setdefault(p.work_id, why)
                out.waiting_qbo.setdefault(p.qbo_id, why)
    return out


def held_work(kind: str) -> dict[str, str]:
    """Work ids held back by an undecided proposal (neither record linked yet) → the reason."""
    linked_w = Link.select(Link.work_id).where(Link.kind == kind)
    linked_q = Link.select(Link.qbo_id).where(Link.kind == kind)
    rows = MatchProposal.select().where((MatchProposal.kind == kind) & (MatchProposal.state == "proposed")
                                        & MatchProposal.work_id.not_in(linked_w)
                                        & MatchProposal.qbo_id.not_in(linked_q))
    return {m.work_id: f"Waiting for match review: \u201c{m.work_name}\u201d may be \u201c{m.qbo_name}\u201d"
            for m in rows}


def waiting_for_review(kind: str, qbo_ids: Iterable[str]) -> set[str]:
    """Those of ``qbo_ids`` with a proposal still waiting for the user's review."""
    return _present(MatchProposal.qbo_id, qbo_ids,
                    (MatchProposal.kind == kind) & (MatchProposal.state == "proposed"))


def decided_unlinked(kind: str) -> list[MatchProposal]:
    """Accepted or rejected proposals whose QuickBooks record has no link yet: the next run must
    link it (accepted) or let it sync on its own (rejected), even if it did not change."""
    linked = Link.select(Link.qbo_id).where(Link.kind == kind)
    return list(MatchProposal.select().where((MatchProposal.kind == kind)
                                             & MatchProposal.state.in_(("accepted", "rejected"))
                                             & MatchProposal.qbo_id.not_in(linked)))


def store_fresh(kind: str, proposals: Iterable[Proposal]) -> list[MatchProposal]:
    """Persist new proposals (pre-accepted ones as accepted by "auto"). Call in a transaction."""
    rows = []
    for p in proposals:
        if MatchProposal.get_or_none(
            (MatchProposal.kind == kind) & (MatchProposal.work_id == p.work_id) & (MatchProposal.qbo_id == p.qbo_id)
        ):
            continue
        taken = p.accepted and MatchProposal.select().where(
            (MatchProposal.kind == kind)
            & (MatchProposal.state == "accepted")
            & ((MatchProposal.qbo_id == p.qbo_id) | (MatchProposal.work_id == p.work_id))
        ).exists()
        accepted = p.accepted and not taken
        rows.append(
            MatchProposal.create(
                kind=kind, work_id=p.work_id, qbo_id=p.qbo_id, work_name=p.work_name, qbo_name=p.qbo_name,
                score=p.score, reason=p.reason, exact=p.exact, state="accepted" if accepted else "proposed",
                decided_by="auto" if accepted else None, decided_at=utcnow() if accepted else None,
            )
        )
    return rows


def link_matched(kind: str, work_id: str, qbo_id: str, *, run_id: int | None, message: str,
                 sync_token: str | None = None) -> Link | None:
    """Create the link of an accepted match (origin ``matched``). Call in a transaction."""
    if Link.get_or_none((Link.kind == kind) & (Link.work_id == work_id)) is not None:
        return None
    if Link.get_or_none((Link.kind == kind) & (Link.qbo_id == qbo_id)) is not None:
        return None
    link = Link.create(kind=kind, work_id=work_id, qbo_id=qbo_id, qbo_sync_token=sync_token, origin="matched",
                       updated_at=utcnow())
    audit.record("link", kind, work_id, qbo_id, run_id=run_id, message=message)
    return link


# ---------------------------------------------------------------------------------------------------
# The engine's match-review API (SyncEngine.matches / accept_match / reject_match delegate here)


def _read_candidates(engine: SyncEngine, kind: str) -> tuple[list[Candidate], list[Candidate]]:
    qbo, work = engine.workspace.qbo_client(), engine.workspace.work_client()
    entity = ENTITIES[kind]
    objs = list(qbo.query(entity, where="Active IN (true, false)", order_by="Id"))
    records: list[Client | Contractor]
    if kind == "client":
        objs = [o for o in objs if is_top_level(o)]
        records = list(work.clients())
    else:
        records = [c for c in work.contractors() if has_active_contract(c)]
    return [work_candidate(r) for r in records], [qbo_candidate(o) for o in objs]


def has_active_contract(contractor: Contractor) -> bool:
    """Only contractors with an active contract become QuickBooks vendors (and take part in matching)."""
    return any(c.status == "active" for c in contractor.contracts)


def refresh(engine: SyncEngine, kinds: Iterable[str] = ("client", "vendor")) -> list[MatchProposal]:
    """Read both sides, store new proposals, link the pre-accepted ones; return every proposal.

    Decided proposals keep their state: the person's answers are never overwritten by a refresh.
    """
    settings = engine.workspace.settings()
    for kind in kinds:
        if kind == "client" and not settings.clients:
            continue
        if kind == "vendor" and not settings.bills:
            continue
        work, qbo = _read_candidates(engine, kind)
        d = decide(kind, work, qbo, fresh=True)
        with database.atomic():
            store_fresh(kind, d.fresh)
            if kind in LINK_ON_ACCEPT:
                for m in MatchProposal.select().where((MatchProposal.kind == kind) & (MatchProposal.state == "accepted")):
                    link_matched(kind, m.work_id, m.qbo_id, run_id=None, message=f"Matched: {m.reason}")
    return stored()


def stored() -> list[MatchProposal]:
    """Every stored proposal, best first per kind (no reading of either system)."""
    return list(MatchProposal.select().order_by(MatchProposal.kind, MatchProposal.score.desc(), MatchProposal.id))


def proposals(engine: SyncEngine) -> list[MatchProposal]:
    """``SyncEngine.matches()``: refresh when connected, then every proposal (best first)."""
    return refresh(engine)


def _get(match_id: int) -> MatchProposal:
    m = MatchProposal.get_or_none(MatchProposal.id == int(match_id))
    if m is None:
        raise ConfigurationError(
            f"There is no match proposal number {match_id}.",
            hint="Run 'qbosync matches' to see the proposals and their numbers.",
            field="match",
        )
    return m


def accept(engine: SyncEngine, match_id: int) -> MatchProposal:
    """Accept one proposal: its records become one linked pair (the other proposals of either record
    are rejected, as one record can only be linked once)."""
    m = _get(match_id)
    with database.atomic():
        linked = [(lk.work_id, lk.qbo_id) for lk in Link.select().where(Link.kind == m.kind)]
        accepted = [(a.work_id, a.qbo_id) for a in MatchProposal.select().where(
            (MatchProposal.kind == m.kind) & (MatchProposal.state == "accepted"))]
        check_accept(m.work_id, m.qbo_id, linked + accepted)
        MatchProposal.update(state="rejected", decided_by="user", decided_at=utcnow()).where(
            (MatchProposal.kind == m.kind) & (MatchProposal.id != m.id) & (MatchProposal.state == "proposed")
            & ((MatchProposal.work_id == m.work_id) | (MatchProposal.qbo_id == m.qbo_id))
        ).execute()
        m.state, m.decided_by, m.decided_at = "accepted", "user", utcnow()
        m.save()
        if m.kind in LINK_ON_ACCEPT:
            link_matched(m.kind, m.work_id, m.qbo_id, run_id=None, message=f"Matched by you: {m.reason}")
    return m


def reject(engine: SyncEngine, match_id: int) -> MatchProposal:
    """Reject one proposal. An accepted one's link is removed if it is only a match so far."""
    m = _get(match_id)
    with database.atomic():
        if m.state == "accepted":
            Link.delete().where(
                (Link.kind == m.kind) & (Link.work_id == m.work_id) & (Link.qbo_id == m.qbo_id)
                & (Link.origin == "matched") & (Link.synced.is_null())
            ).execute()
        m.state, m.decided_by, m.decided_at = "rejected", "user", utcnow()
        m.save()
        _reread_from_start(m.kind)
    return m


def _reread_from_start(kind: str) -> None:
    """The outbound phase skipped the held Work record and moved its cursor past it; now that the
    record is free to sync on its own, make that phase read its list from the start once more
    (cheap: unchanged records are skipped by fingerprint without any QuickBooks request)."""
    Cursor.delete().where(Cursor.name == OUTBOUND_CURSORS[kind]).execute()


def keep_quickbooks_values(specs: Iterable[str], *, keep: bool = True) -> None:
    """The person's "keep QuickBooks' value" for existing records (``["item:12", "client:7"]``, QuickBooks
    Ids). An item is then linked without the update; a matched client's first merge takes every
    differing field from QuickBooks (its per-record Review answer, :mod:`settle`)."""
    pairs = keep_mod.parse(specs)
    with database.atomic():
        keep_mod.save(pairs, keep=keep)
        for kind, qbo_id in pairs:
            if kind != "client":
                continue
            m = MatchProposal.get_or_none((MatchProposal.kind == "client") & (MatchProposal.qbo_id == qbo_id)
                                          & (MatchProposal.state == "accepted"))
            if m is None:
                raise ConfigurationError(
                    f"QuickBooks customer {qbo_id} is not matched with a Work client.",
                    hint="Accept its match first ('qbosync matches --accept ID'), then keep its values.",
                    field="keep_qbo")
            settle.save(records={m.work_id: settle.QUICKBOOKS if keep else dict(settle.groups())})
