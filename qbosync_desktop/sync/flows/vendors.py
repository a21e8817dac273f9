"""Work contractors with an active contract → QBO vendors. Add-only.

The contractor seed promises "the integration will not affect your existing data in QuickBooks. It
will only add new vendor records": an existing QBO vendor with the same name or e-mail is *linked*,
and no vendor is ever edited afterwards. DisplayName is shared with customers in QBO, so a
contractor who is also a client collides with their own customer record: that is a problem with a
fix hint, or the explained rename when "Rename on name collision" is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.flows.base import (
    Lister,
    name_fingerprint,
    resolve_display_name,
    stamp,
    val,
)
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.onboarding.review import held_work
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import clean

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

CURSOR = "work.contractors"


def has_active_contract(rec: Any) -> bool:
    return any(val(c, "status") == "active" for c in val(rec, "contracts", []))


def vendor_body(rec: Any, display_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"DisplayName": display_name}
    if val(rec, "company_name"):
        body["CompanyName"] = val(rec, "company_name")
    if val(rec, "email"):
        body["PrimaryEmailAddr"] = {"Address": val(rec, "email")}
    if val(rec, "phone"):
        body["PrimaryPhone"] = {"FreeFormNumber": val(rec, "phone")}
    return body


class VendorsOut(OutboundFlow):
    name = "vendors"
    kind = "vendor"
    entity = "Vendor"
    cursor = CURSOR
    full_update = False

    def work_list(self, work: Any) -> Lister:
        return work.contractors

    def label(self, rec: Any) -> str:
        return clean(val(rec, "name", ""))

    def screen(self, ctx: RunContext, d: Draft) -> Change | Leave | None:
        if d.link is not None:
            return LEAVE  # add-only: a vendor is never edited once it exists
        held = ctx.state.holds.of(self.kind).get(d.work_id)
        if held is not None:  # match review (issue 7) has not decided yet: no duplicate meanwhile
            return self.held(d, held)
        if not has_active_contract(d.rec):
            return self.skip(ctx, d, "no active contract")
        return None

    def body(self, ctx: RunContext, d: Draft) -> dict[str, Any]:
        """The body under the Work name (the name actually sent is decided in :meth:`write`)."""
        return vendor_body(d.rec, d.label)

    def problem_fingerprint(self, ctx: RunContext, d: Draft) -> str:
        return name_fingerprint(ctx, d.body)

    def write(self, ctx: RunContext, d: Draft) -> Change:
        """Link an existing QBO vendor with the same name or e-mail, else create one (renamed if
        the name is taken and "Rename on name collision" is on)."""
        decision, display, found, problem = resolve_display_name(
            ctx, d.label, kind=self.kind, work_id=d.work_id, what="contractor", link_entity="Vendor",
            email=val(d.rec, "email"),
        )
        if decision == "fail":
            return self.fail(d, problem)
        body = vendor_body(d.rec, display)
        if decision == "link":
            return Change(self.kind, d.work_id, found["Id"], "link",
                          f"QuickBooks already has the vendor '{display}': linked, never edited",
                          entity=self.entity, label=d.label,
                          meta={"fingerprint": fingerprint(body), "origin": "linked_by_name",
                                "sync_token": found.get("SyncToken"), "after": {"DisplayName": display},
                                "work_updated_at": stamp(val(d.rec, "updated_at"))})
        reason = "contractor with an active contract" + ("" if display == d.label else f", sent as '{display}'")
        return self.create_or_update(ctx, d, body=body, reason_create=reason)


def phase(ctx: RunContext) -> VendorsOut | None:
    if not getattr(ctx.settings, "bills", False):
        return None
    # Contractors match review has not decided on wait (bills of theirs name the hold too).
    ctx.state.holds.provide("vendor", lambda: held_work("vendor"))
    return VendorsOut()
