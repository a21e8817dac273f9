"""Work contractors with an active contract → QBO vendors. Add-only.

The contractor seed promises "the integration will not affect your existing data in QuickBooks. It
will only add new vendor records": an existing QBO vendor with the same name or e-mail is *linked*,
and no vendor is ever edited afterwards. DisplayName is shared with customers in QBO, so a
contractor who is also a client collides with their own customer record: that is a problem with a
fix hint, or the explained rename when "Rename on name collision" is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Contractor
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import (
    Lister,
    name_fingerprint,
    resolve_display_name,
    stamp,
)
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.onboarding.review import has_active_contract, held_work
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import clean

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.contractors"


def vendor_body(rec: Contractor, display_name: str) -> JsonObject:
    body: JsonObject = {"DisplayName": display_name}
    if rec.company_name:
        body["CompanyName"] = rec.company_name
    if rec.email:
        body["PrimaryEmailAddr"] = {"Address": rec.email}
    if rec.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": rec.phone}
    return body


class VendorsOut(OutboundFlow[Contractor]):
    name = "vendors"
    kind = "vendor"
    entity = "Vendor"
    cursor = CURSOR
    full_update = False

    def work_list(self, work: WorkApi) -> Lister[Contractor]:
        return work.contractors

    def label(self, rec: Contractor) -> str:
        return clean(rec.name)

    def screen(self, ctx: RunContext, d: Draft[Contractor]) -> Change | Leave | None:
        if d.link is not None:
            if d.link.fingerprint is None and d.link.origin == "created":
                return self._reactivate(d)
            return LEAVE  # add-only: a vendor is never edited once it exists
        held = ctx.state.holds.of(self.kind).get(d.work_id)
        if held is not None:  # match review (issue 7) has not decided yet: no duplicate meanwhile
            return self.held(d, held)
        if not has_active_contract(d.rec):
            return self.skip(ctx, d, "no active contract", why="no_contract")
        return None

    def _reactivate(self, d: Draft[Contractor]) -> Change:
        """A vendor this app created, made inactive by an undo whose person chose "sync again" (the
        undo leaves its link without a fingerprint, sync/undo_apply.py): made active again, the one
        edit an add-only vendor gets. A stale SyncToken is re-read by the outbox."""
        link = d.link
        assert link is not None
        sent = ((link.synced or {}).get("sent") or {}).get("DisplayName") or d.label
        payload = {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token, "Active": True, "sparse": True}
        meta = {"fingerprint": fingerprint(vendor_body(d.rec, sent)), "work_version": d.rec.version,
                "work_updated_at": stamp(d.rec.updated_at), "before": {"Active": False}, "after": {"Active": True},
                "synced": link.synced or {}}
        return Change(self.kind, d.work_id, link.qbo_id, "update", "made active again after an undo", payload,
                      entity=self.entity, label=d.label, meta=meta)

    def body(self, ctx: RunContext, d: Draft[Contractor]) -> JsonObject:
        """The body under the Work name (the name actually sent is decided in :meth:`write`)."""
        return vendor_body(d.rec, d.label)

    def problem_fingerprint(self, ctx: RunContext, d: Draft[Contractor]) -> str:
        return name_fingerprint(ctx, d.body)

    def write(self, ctx: RunContext, d: Draft[Contractor]) -> Change:
        """Link an existing QBO vendor with the same name or e-mail, else create one (renamed if
        the name is taken and "Rename on name collision" is on)."""
        _decision, display, found, problem = resolve_display_name(
            ctx, d.label, kind=self.kind, work_id=d.work_id, what="contractor", link_entity="Vendor",
            email=d.rec.email,
        )
        if problem is not None:  # decision "fail"
            return self.fail(d, problem)
        body = vendor_body(d.rec, display)
        if found is not None:  # decision "link"
            return Change(self.kind, d.work_id, found["Id"], "link",
                          f"QuickBooks already has the vendor '{display}': linked, never edited",
                          entity=self.entity, label=d.label,
                          meta={"fingerprint": fingerprint(body), "origin": "linked_by_name",
                                "sync_token": found.get("SyncToken"), "after": {"DisplayName": display},
                                "work_updated_at": stamp(d.rec.updated_at)})
        reason = "contractor with an active contract" + ("" if display == d.label else f", sent as '{display}'")
        return self.create_or_update(ctx, d, body=body, reason_create=reason)


def phase(ctx: RunContext) -> VendorsOut | None:
    if not ctx.settings.bills:
        return None
    # Contractors match review has not decided on wait (bills of theirs name the hold too).
    ctx.state.holds.provide("vendor", lambda: held_work("vendor"))
    return VendorsOut()
