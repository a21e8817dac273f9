"""Work contractors with an active contract → QBO vendors. Add-only.

The contractor seed promises "the integration will not affect your existing data in QuickBooks. It
will only add new vendor records": an existing QBO vendor with the same name or e-mail is *linked*,
and no vendor is ever edited afterwards. DisplayName is shared with customers in QBO, so a
contractor who is also a client collides with their own customer record: that is a problem with a
fix hint, or the explained rename when "Rename on name collision" is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.flows.base import (
    OutboundPhase,
    fail,
    is_fresh,
    name_fingerprint,
    resolve_display_name,
    skip,
    stamp,
    unchanged,
    val,
    write_change,
)
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


class VendorsOut(OutboundPhase):
    name = "vendors"
    kind = "vendor"
    cursor = CURSOR
    lister = "contractors"

    def iter_plan(self, ctx: RunContext, records: list[Any]) -> Iterator[Change]:
        for rec in records:
            wid = str(val(rec, "id"))
            label = clean(val(rec, "name", ""))
            if ctx.link(self.kind, wid) is not None:
                continue  # add-only: a vendor is never edited once it exists
            held = ctx.cached("twoway.hold.vendor", lambda: held_work("vendor"))
            if wid in held:  # match review (issue 7) has not decided yet: no duplicate meanwhile
                yield (Change(self.kind, wid, None, "skip", held[wid], entity="Vendor", label=label))
                continue
            if not has_active_contract(rec):
                yield (skip(self.kind, rec, "no active contract", entity="Vendor", label=label,
                                    audit=is_fresh(ctx, CURSOR, rec)))
                continue
            pfp = name_fingerprint(ctx, vendor_body(rec, label))
            if unchanged(ctx, self.kind, wid, pfp, problem_fp=pfp):
                continue
            decision, display, found, problem = resolve_display_name(
                ctx, label, kind=self.kind, work_id=wid, what="contractor", link_entity="Vendor",
                email=val(rec, "email"),
            )
            if decision == "fail":
                yield (fail(self.kind, rec, problem, entity="Vendor", label=label, fp=pfp))
                continue
            body = vendor_body(rec, display)
            if decision == "link":
                yield (Change(self.kind, wid, found["Id"], "link",
                                      f"QuickBooks already has the vendor '{display}': linked, never edited",
                                      entity="Vendor", label=label,
                                      meta={"fingerprint": fingerprint(body), "origin": "linked_by_name",
                                            "sync_token": found.get("SyncToken"), "after": {"DisplayName": display},
                                            "work_updated_at": stamp(val(rec, "updated_at"))}))
                continue
            reason = "contractor with an active contract" + ("" if display == label else f", sent as '{display}'")
            yield (write_change(ctx, kind=self.kind, entity="Vendor", work_id=wid, label=label, body=body,
                                        rec=rec, full_update=False, reason_create=reason, reason_update=""))


def phase(ctx: RunContext) -> VendorsOut | None:
    return VendorsOut() if ctx.settings.bills else None
