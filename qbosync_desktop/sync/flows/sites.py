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

from qbosync_desktop.connectors.work.models import Client, Site
from qbosync_desktop.core.errors import QboValidationError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.sync import audit, outbox, problems, work_writes
from qbosync_desktop.sync.clients.fields import is_top_level
from qbosync_desktop.sync.clients.inbound import CustomersRun
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
        sites_by_client: dict[str, list[Site]] = {}
        for site in work_sites:
            sites_by_client.setdefault(str(site.client_id), []).append(site)
        claimed: set[str] = set()
        work_clients: dict[str, Client] = {}

        def work_client(wid: str) -> Client:
            if wid not in work_clients:
                work_clients[wid] = ctx.work.get_client(wid)
            return work_clients[wid]

        changes: list[Change] = []
        for qid, sub in sorted(by_id.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            if is_top_level(sub) or qid in site_by_qbo:
                continue
            label = str(sub.get("DisplayName") or qid)
            key = problem_key(qid)
            parent_id = str((sub.get("ParentRef") or {}).get("value") or "")
            parent = by_id.get(parent_id)
            if parent is None or not is_top_level(parent):
                changes.append(Change(KIND, None, qid, "skip", "A sub-customer of a sub-customer: Work sites belong "
                                      "to a client, so it stays in QuickBooks only", entity=ENTITY, label=label))
                continue
            plink = client_links.get(parent_id)
            planned = planned_imports.get(parent_id)
            if plink is None and (planned is None or planned.action != "import"):
                changes.append(Change(KIND, None, qid, "skip", f"Its customer \u201c{parent.get('DisplayName')}\u201d "
                                      "is not in Work, so the site has no client to belong to", entity=ENTITY,
                                      label=label))
                continue
            # The parent's address: QuickBooks' record first (the seed), then the client as in Work.
            parent_addr = from_qbo(parent.get("BillAddr"))
            if plink is not None:
                work_addr = from_work(work_client(plink.work_id).billing_address)
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
                continue
            site, cleaned = clean_record(site)  # issue 16: as every outbound record (sync/rules/validate.py)
            client = clean_record(work_client(cid))[0]
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

    def apply(self, ctx: RunContext, changes: list[Change]) -> None:
        for ch in changes:
            ch.meta.setdefault("phase", PHASE)
        outbox.apply_local(ctx, PHASE, [c for c in changes if c.action in ("link", "fail")])
        for ch in changes:
            if ch.action == "import":
                ctx.check_cancel()
                self._import(ctx, ch)
        creates = []
        for ch in changes:
            if ch.action == "create":
                # The parent may have been created by the clients phase of this very run.
                parent_qid = ctx.qbo_id("client", ch.meta["client_id"])
                if parent_qid is None:
                    continue
                ch.payload = {**(ch.payload or {}), "ParentRef": {"value": parent_qid}}
                creates.append(ch)
        outbox.submit(ctx, creates)

    def _import(self, ctx: RunContext, ch: Change) -> None:
        qid = str(ch.qbo_id)
        body = dict(ch.payload or {})
        if body.get("client_id") is None:
            parent = Link.get_or_none((Link.kind == "client") & (Link.qbo_id == ch.meta["parent_qbo_id"]))
            if parent is None:  # the parent's import failed in this run: its problem says why
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


def phase(ctx: RunContext) -> SitesOnboarding | None:
    s = ctx.settings
    if ctx.initial and s.sites and s.clients and not onboarding_over(ctx):
        return SitesOnboarding()
    return None
