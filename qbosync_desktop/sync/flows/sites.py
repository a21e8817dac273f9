"""QuickBooks sub-customers ⇄ Work sites, during onboarding only (the seed: "The two-way sync for sites
will ONLY be available during the initial onboarding sync").

So this phase exists only in the initial run with "Create Work Sites from QuickBooks Sub-Customers
during onboarding" on; every later run has no sites phase at all, and sites stop syncing.

* A sub-customer (``Job: true`` with a ``ParentRef``) whose parent is (or is about to be) a linked
  Work client becomes a Work site of that client - or is linked to the client's existing site with
  the same name. Its address follows the seed's rule: with "Use Client state/country when creating
  Client Sites in Work" on, a missing State/Country comes from the parent QuickBooks customer (and,
  if that has none either, from the parent as it is in Work); off, a clear problem.
* A Work site of a linked client with no QuickBooks counterpart becomes a sub-customer of the
  client's customer (``ParentRef``, ``Job: true``, billed with the parent), through the outbox.
  Its DisplayName is "Site (Client)", because DisplayName is unique across *all* customers and
  "Main Office" would collide at once.
* A sub-customer of a sub-customer has no place in Work (sites belong to clients): skipped, with the
  reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qbosync_desktop.connectors.qbo.query import in_list
from qbosync_desktop.connectors.work.models import Client, Site
from qbosync_desktop.core.errors import QboValidationError, WorkApiError, WorkRecordUnreadable
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.sync import audit, outbox, problems, undo_apply, work_writes
from qbosync_desktop.sync.clients.fields import is_top_level
from qbosync_desktop.sync.clients.inbound import CustomersRun
from qbosync_desktop.sync.flows.base import take_unreadable, unreadable_change
from qbosync_desktop.sync.onboarding.matching import name_key
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.addresses import (
    MissingSiteState,
    from_qbo,
    from_work,
    site_address_for_work,
    to_qbo,
    to_work,
)
from qbosync_desktop.sync.rules.validate import clean_record, vet
from qbosync_desktop.sync.work_writes import problem_key

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

KIND = "site"
PHASE = "sites"
ENTITY = "Customer"


def _all_customers(ctx: RunContext) -> list[dict[str, Any]]:
    state = ctx.flow_state(CustomersRun)
    read = state.read
    if read is not None and read.method == "full":
        return read.records
    if state.all_customers is None:
        state.all_customers = list(ctx.qbo.query(ENTITY, where="Active IN (true, false)", order_by="Id"))
    return state.all_customers


def display_name(site: str, client: str) -> str:
    """"Clubhouse (Green Valley H.O.A.)"; QuickBooks forbids ':' in names, so it becomes '-'."""
    name = site if name_key(client) and name_key(client) in name_key(site) else f"{site} ({client})"
    return " ".join(name.replace(":", "-").split())[:500]


class SitesOnboarding:
    name = PHASE
    kind = KIND

    def plan(self, ctx: RunContext) -> list[Change]:
        customers = _all_customers(ctx)
        by_id = {str(c["Id"]): c for c in customers}
        client_links = {lk.qbo_id: lk for lk in ctx.links("client").values()}
        site_links = ctx.links(KIND)
        site_by_qbo = {lk.qbo_id for lk in site_links.values()}
        planned_imports: dict[str, Change] = ctx.flow_state(CustomersRun).imports
        work_sites = list(ctx.work.sites())
        changes: list[Change] = []
        # A Work site that does not parse is one problem naming it (issue 16); the rest sync.
        for u in take_unreadable(ctx, "sites"):
            bad = unreadable_change(ctx, KIND, ENTITY, u, then=(
                "sites sync only during the first sync, so then add it in QuickBooks by hand, as a "
                "sub-customer of its client's customer"))
            if bad is not None:
                changes.append(bad)
        sites_by_client: dict[str, list[Site]] = {}
        for site in work_sites:
            sites_by_client.setdefault(str(site.client_id), []).append(site)
        claimed: set[str] = set()
        work_clients: dict[str, Client] = {}

        def work_client(wid: str) -> Client:
            if wid not in work_clients:
                work_clients[wid] = ctx.work.get_client(wid)
            return work_clients[wid]

        for qid, sub in sorted(by_id.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            if is_top_level(sub) or qid in site_by_qbo:
                continue
            label = str(sub.get("DisplayName") or qid)
            key = problem_key(qid)
            parent_id = str((sub.get("ParentRef") or {}).get("value") or "")
            parent = by_id.get(parent_id)
            if parent is None or not is_top_level(parent):
                changes.append(Change(KIND, None, qid, "skip", "A sub-customer of a sub-customer: Work sites belong "
                                      "to a client, so it stays in QuickBooks only", entity=ENTITY, label=label,
                                      meta={"audit": True, "skip_reason": "sub_sub_customer"}))
                continue
            plink = client_links.get(parent_id)
            planned = planned_imports.get(parent_id)
            if plink is None and (planned is None or planned.action != "import"):
                changes.append(Change(KIND, None, qid, "skip", f"Its customer \u201c{parent.get('DisplayName')}\u201d "
                                      "is not in Work, so the site has no client to belong to", entity=ENTITY,
                                      label=label, meta={"audit": True, "skip_reason": "parent_not_in_work"}))
                continue
            # The parent's address: QuickBooks' record first (the seed), then the client as in Work.
            parent_addr = from_qbo(parent.get("BillAddr"))
            if plink is not None:
                try:
                    work_addr = from_work(work_client(plink.work_id).billing_address)
                except WorkRecordUnreadable as exc:  # the client's own problem names the bad value
                    changes.append(self._client_unreadable(key, label, exc, qbo_id=qid))
                    continue
                client_id = plink.work_id
            else:
                imported = planned.payload if planned is not None else None
                work_addr = from_work((imported or {}).get("billing_address"))
                client_id = None
            if not parent_addr.state and parent_addr.country in ("", work_addr.country):
                parent_addr = parent_addr.__class__(**{**parent_addr.as_dict(), "state": work_addr.state,
                                                      "country": parent_addr.country or work_addr.country})
            # An existing Work site of that client with the same name is the same site.
            if client_id is not None:
                same = [s for s in sites_by_client.get(client_id, [])
                        if name_key(s.name) == name_key(label) and str(s.id) not in claimed
                        and str(s.id) not in site_links]
                if len(same) == 1:
                    sid = str(same[0].id)
                    claimed.add(sid)
                    changes.append(Change(KIND, sid, qid, "link", f"Work already has the site \u201c{same[0].name}"
                                          "\u201d for this client: linked, not duplicated", entity=ENTITY, label=label,
                                          meta={"origin": "matched", "sync_token": sub.get("SyncToken")}))
                    continue
            try:
                addr = site_address_for_work(from_qbo(sub.get("BillAddr")), parent_addr,
                                             use_client_address=ctx.settings.sites_use_client_address, name=label,
                                             parent_name=str(parent.get("DisplayName")), qbo_id=qid)
            except MissingSiteState as exc:
                changes.append(Change(KIND, key, qid, "fail", exc.message, problem=exc, entity=ENTITY, label=label))
                continue
            body: JsonObject = {"client_id": client_id, "name": label[:255], "address": to_work(addr),
                                "active": bool(sub.get("Active", True))}
            reason = "sub-customer in QuickBooks"
            if addr.state != from_qbo(sub.get("BillAddr")).state:
                reason += f" (State {addr.state} from its customer)"
            changes.append(Change(KIND, key, qid, "import", reason, payload=body, entity=ENTITY, label=label,
                                  meta={"parent_qbo_id": parent_id}))

        # Work sites of linked (or about-to-be-created) clients that QuickBooks does not have yet.
        names = {name_key(c.get("DisplayName")) for c in customers}
        for site in work_sites:
            sid, cid = str(site.id), str(site.client_id)
            if sid in site_links or sid in claimed:
                continue
            if not ctx.will_exist("client", cid):
                # Its client is not in QuickBooks (its own problem, skip or match review says why):
                # a sub-customer needs its customer first.
                changes.append(Change(KIND, sid, None, "skip", "Its client is not in QuickBooks, so the site has "
                                      "no customer to belong to there", entity=ENTITY, label=str(site.name),
                                      meta={"audit": True, "skip_reason": "client_not_synced"}))
                continue
            try:
                client = work_client(cid)
            except WorkRecordUnreadable as exc:  # the client's own problem names the bad value
                changes.append(self._client_unreadable(sid, str(site.name), exc))
                continue
            site, cleaned = clean_record(site)  # issue 16: as every outbound record (sync/rules/validate.py)
            client = clean_record(client)[0]
            label = str(site.name)
            display = display_name(label, str(client.name))
            if name_key(display) in names:
                err = QboValidationError(
                    f"QuickBooks already has a customer named \u201c{display}\u201d, so the site \u201c{label}\u201d "
                    "cannot be added as its sub-customer.",
                    title="Name already used in QuickBooks",
                    hint="Rename the site in Work (or the other customer in QuickBooks), then press Retry.",
                    details={"display_name": display},
                )
                changes.append(Change(KIND, sid, None, "fail", err.message, problem=err, entity=ENTITY, label=label))
                continue
            names.add(name_key(display))
            addr = from_work(site.address)
            parent_qid = ctx.qbo_id("client", cid)
            body = {"DisplayName": display, "Job": True, "BillWithParent": True,
                    "ParentRef": {"value": parent_qid}, "Active": bool(site.active)}
            if not addr.is_empty():
                body["BillAddr"] = to_qbo(addr)
            refused = vet(KIND, ENTITY, label, body, today=ctx.now.date())
            if refused is not None:
                changes.append(Change(KIND, sid, None, "fail", refused.message, problem=refused, entity=ENTITY,
                                      label=label))
                continue
            reason = "new site in Work" + (f" (invisible or control characters removed from its {', '.join(cleaned)})"
                                           if cleaned else "")
            changes.append(Change(KIND, sid, None, "create", reason, payload=body, entity=ENTITY,
                                  label=label, meta={"origin": "created", "client_id": cid,
                                                     "work_version": site.version, "after": body}))
        return changes

    @staticmethod
    def _client_unreadable(key: str, label: str, exc: WorkRecordUnreadable, *, qbo_id: str | None = None) -> Change:
        """The site's client could not be read from Work: a problem of the site pointing at the client."""
        client = exc.details.get("work_id") or "?"
        err = WorkRecordUnreadable(
            f"The site “{label}” was not synced because its client (Work id {client}) has a value the "
            f"sync cannot read: {exc.message}",
            title="Site of a client with an unreadable value in Work",
            hint="Correct the client in Work (its own problem names the field). Sites sync only during the "
                 "first sync: after that, add the site to the other side by hand.",
            details={**exc.details, "site": label})
        return Change(KIND, key, qbo_id, "fail", err.message, problem=err, entity=ENTITY, label=label)

    def apply(self, ctx: RunContext, changes: list[Change]) -> None:
        for ch in changes:
            ch.meta.setdefault("phase", PHASE)
        outbox.apply_local(ctx, PHASE, [c for c in changes if c.action in ("link", "fail", "skip")])
        for ch in changes:
            if ch.action == "import":
                ctx.check_cancel()
                self._import(ctx, ch)
        creates = []
        for ch in changes:
            if ch.action == "create":
                # The parent may have been created by the clients phase of this very run.
                parent_qid = ctx.qbo_id("client", ch.meta["client_id"])
                if parent_qid is None:  # the client's create failed in this run: counted, its problem says why
                    outbox.apply_local(ctx, PHASE, [Change(
                        KIND, ch.work_id, None, "skip", "Its client could not be added to QuickBooks in this sync, "
                        "so the site has no customer to belong to there", entity=ENTITY, label=ch.label,
                        meta={"audit": True, "skip_reason": "client_not_synced"})])
                    continue
                ch.payload = {**(ch.payload or {}), "ParentRef": {"value": parent_qid}}
                creates.append(ch)
        outbox.submit(ctx, creates)

    def _import(self, ctx: RunContext, ch: Change) -> None:
        qid = str(ch.qbo_id)
        body = dict(ch.payload or {})
        if body.get("client_id") is None:
            parent = Link.get_or_none((Link.kind == "client") & (Link.qbo_id == ch.meta["parent_qbo_id"]))
            if parent is None:  # the parent's import failed in this run: counted, its problem says why
                outbox.apply_local(ctx, PHASE, [Change(
                    KIND, None, qid, "skip", "Its customer could not be added to Work in this sync, so the "
                    "site has no client to belong to", entity=ENTITY, label=ch.label,
                    meta={"audit": True, "skip_reason": "parent_not_in_work"})])
                return
            body["client_id"] = parent.work_id
        ww = work_writes.intent(ctx, KIND, qid, body)
        site = work_writes.send(ctx, ww, ctx.work.create_site, phase=PHASE, label=ch.label)
        if site is None:
            return
        sid = str(site.id)
        with database.atomic():
            work_writes.mark_done(ww, sid)
            if Link.get_or_none((Link.kind == KIND) & (Link.qbo_id == qid)) is None:
                link = Link.create(kind=KIND, work_id=sid, qbo_id=qid, work_version=str(site.version),
                                   origin="imported", updated_at=utcnow())
                ctx.remember_link(link)
            audit.record("import", KIND, sid, qid, run_id=ctx.run_id, after=body, message=ch.reason)
            problems.close_problem(KIND, problem_key(qid))
        ctx.count(PHASE, "imported")
        ctx.observer.record(PHASE, sid, "imported", ch.reason)


def onboarding_over(ctx: RunContext) -> bool:
    """True once an initial sync finished for this connection (``Connection.onboarding_done_at``):
    running Enable again later must not bring the sites back."""
    conn = ctx.connection
    return conn is not None and conn.onboarding_done_at is not None


#: the key a site link carries (in ``Link.synced``) once an undo made its sub-customer inactive and
#: the person chose "undo, then sync again" (set by sync/undo_apply.py)
REACTIVATE = "reactivate"
#: its value for a Work site the run imported (made inactive in Work by the undo); True: QuickBooks
WORK_SIDE = "work"


def _to_reactivate() -> list[Link]:
    """The few flagged site links, read by Work id from the cursor's list (none: no link is read)."""
    ids = undo_apply.reactivation_ids()
    if not ids:
        return []
    return [lk for lk in Link.select().where((Link.kind == KIND) & Link.work_id.in_(ids))
            if (lk.synced or {}).get(REACTIVATE)]


def _forget_done() -> None:
    """Keep in the cursor only the links still flagged (one whose write failed stays for the next run)."""
    left = [lk.work_id for lk in _to_reactivate()]
    with database.atomic():
        undo_apply.set_reactivation_ids(left)


class SitesReactivate:
    """After "undo, then sync again": the sub-customers the undo made inactive are made active again
    (sites sync only at onboarding, so no other phase would). One query reads their current state and
    SyncToken; each is a sparse ``Active: true`` update through the outbox. A site Work itself made
    inactive meanwhile stays inactive (the flag is cleared, nothing is sent)."""

    name = PHASE
    kind = KIND

    def plan(self, ctx: RunContext) -> list[Change]:
        links = _to_reactivate()
        if not links:
            return []
        current = {str(c["Id"]): c for c in ctx.qbo.query(
            ENTITY, where=in_list("Id", [lk.qbo_id for lk in links]) + " AND Active IN (true, false)", order_by="Id")}
        changes: list[Change] = []
        for lk in links:
            synced = {k: v for k, v in (lk.synced or {}).items() if k != REACTIVATE}
            now = current.get(lk.qbo_id)
            try:
                site = ctx.work.get_site(lk.work_id)
            except WorkApiError as exc:
                if exc.fatal or exc.transient:
                    raise
                site = None
            label = str(site.name) if site is not None else f"site {lk.work_id}"
            if (lk.synced or {}).get(REACTIVATE) == WORK_SIDE:
                changes.append(self._work_change(lk, site, now, synced, label))
                continue
            if now is None or site is None or not site.active or now.get("Active", True):
                why = ("already active in QuickBooks" if now is not None and now.get("Active", True)
                       else "inactive in Work, so it stays inactive" if site is not None and not site.active
                       else "no longer in QuickBooks or in Work")
                changes.append(Change(KIND, lk.work_id, lk.qbo_id, "skip", f"not made active again: {why}",
                                      entity=ENTITY, label=label, meta={"synced": synced, "audit": True}))
                continue
            body: JsonObject = {"Id": lk.qbo_id, "SyncToken": str(now.get("SyncToken")), "Active": True, "sparse": True}
            changes.append(Change(KIND, lk.work_id, lk.qbo_id, "update",
                                  "made inactive by an undo; \u201csync again\u201d makes it active again",
                                  payload=body, entity=ENTITY, label=label,
                                  meta={"synced": synced, "before": {"Active": False}, "after": {"Active": True},
                                        "work_version": site.version, "phase": PHASE}))
        return changes

    @staticmethod
    def _work_change(lk: Link, site: Site | None, now: dict[str, Any] | None, synced: JsonObject,
                     label: str) -> Change:
        """A Work site the run imported and the undo made inactive: active again in Work, unless its
        sub-customer is no longer active in QuickBooks (then it stays as it is)."""
        if site is None or site.active or now is None or not now.get("Active", True):
            why = ("already active in Work" if site is not None and site.active
                   else "its sub-customer is inactive in QuickBooks" if now is not None
                   else "no longer in QuickBooks or in Work")
            return Change(KIND, lk.work_id, lk.qbo_id, "skip", f"not made active again: {why}",
                          entity=ENTITY, label=label, meta={"synced": synced, "audit": True})
        return Change(KIND, lk.work_id, lk.qbo_id, "update", "made inactive in Work by an undo; \u201csync "
                      "again\u201d makes it active again", payload={"active": True}, entity=ENTITY, label=label,
                      meta={"synced": synced, "work_side": True, "work_version": site.version})

    def _apply_work(self, ctx: RunContext, ch: Change) -> None:
        """PATCH the site (version check, Idempotency-Key: a re-send after a crash is answered the
        same); a refusal is the record's problem. Audited as ``reactivate`` (not an undoable write)."""
        wid = str(ch.work_id)
        key = f"qbosync-reactivate-site-{wid}-{ch.meta['work_version']}"
        try:
            site = ctx.work.update_site(wid, int(ch.meta["work_version"]), idempotency_key=key, active=True)
        except WorkApiError as exc:
            if exc.fatal or exc.transient:
                raise
            problems.open_problem(KIND, wid, exc, run_id=ctx.run_id, qbo_id=ch.qbo_id, extra={"record": ch.label})
            ctx.count(PHASE, "failed")
            return
        with database.atomic():
            Link.update(synced=ch.meta["synced"], work_version=str(site.version), updated_at=utcnow()).where(
                (Link.kind == KIND) & (Link.work_id == wid)).execute()
            audit.record("reactivate", KIND, wid, ch.qbo_id, run_id=ctx.run_id, before={"active": False},
                         after={"active": True}, message=ch.reason)
        ctx.count(PHASE, "updated")
        ctx.observer.record(PHASE, wid, "updated", ch.reason)

    def apply(self, ctx: RunContext, changes: list[Change]) -> None:
        for ch in changes:
            ch.meta.setdefault("phase", PHASE)
        for ch in changes:
            if ch.action == "update" and ch.meta.get("work_side"):
                ctx.check_cancel()
                self._apply_work(ctx, ch)
        changes = [c for c in changes if not c.meta.get("work_side") or c.action == "skip"]
        skips = [c for c in changes if c.action == "skip"]
        with database.atomic():
            for ch in skips:  # nothing to send: the flag goes, so it is not looked at again
                Link.update(synced=ch.meta["synced"], updated_at=utcnow()).where(
                    (Link.kind == KIND) & (Link.work_id == str(ch.work_id))).execute()
            outbox.apply_local(ctx, PHASE, skips)
        outbox.submit(ctx, [c for c in changes if c.action == "update"])
        _forget_done()


def phase(ctx: RunContext) -> SitesOnboarding | SitesReactivate | None:
    s = ctx.settings
    if ctx.initial and s.sites and s.clients and not onboarding_over(ctx):
        return SitesOnboarding()
    if s.clients and _to_reactivate():  # only after "undo, then sync again" (one cursor row read)
        return SitesReactivate()
    return None
