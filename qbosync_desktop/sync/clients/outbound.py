"""Work clients → QBO customers: create, update when the client changes, inactive → inactive.

Until match review (issue 7) has linked a client, an existing QBO customer with the same normalised
DisplayName is *linked* rather than duplicated - creating a second "Ann Lee" is the failure users
of such integrations fear most. Updates are sparse (only the fields Work owns), so fields an
accountant keeps only in QuickBooks (terms, tax settings, notes) survive every sync.

:func:`customer_body` is public: the two-way code sets a link's fingerprint from it after writing a
client in Work, so that write does not bounce back to QBO as an update on the next run.
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
from qbosync_desktop.sync.flows.outbound import Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import clean, normalise, renamed

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

PHASE = "clients"
CURSOR = "work.clients"

ADDRESS_MAP = (
    ("line1", "Line1"),
    ("line2", "Line2"),
    ("city", "City"),
    ("state", "CountrySubDivisionCode"),
    ("postal_code", "PostalCode"),
    ("country", "Country"),
)


def bill_addr(address: Any) -> dict[str, str] | None:
    if not address:
        return None
    out = {q: val(address, w) for w, q in ADDRESS_MAP if val(address, w) not in (None, "")}
    return out or None


def customer_body(rec: Any, display_name: str) -> dict[str, Any]:
    """The QBO Customer fields Work owns, for a Work client."""
    body: dict[str, Any] = {"DisplayName": display_name, "Active": bool(val(rec, "active", True))}
    for qbo_key, work_key in (("GivenName", "first_name"), ("FamilyName", "last_name"), ("CompanyName", "company_name")):
        if val(rec, work_key):
            body[qbo_key] = val(rec, work_key)
    if val(rec, "email"):
        body["PrimaryEmailAddr"] = {"Address": val(rec, "email")}
    if val(rec, "phone"):
        body["PrimaryPhone"] = {"FreeFormNumber": val(rec, "phone")}
    addr = bill_addr(val(rec, "billing_address"))
    if addr:
        body["BillAddr"] = addr
    return body


def sent_name(ctx: RunContext, rec: Any, kind: str = "client") -> str:
    """The DisplayName this record has in QBO if its Work name did not change (keeps a rename stable)."""
    wid = str(val(rec, "id"))
    link = ctx.link(kind, wid)
    sent = ((link.synced or {}).get("sent") or {}).get("DisplayName") if link is not None else None
    name = clean(val(rec, "name", ""))
    if sent and normalise(sent) in (normalise(name), normalise(renamed(name, wid))):
        return sent
    return name


class ClientsOut(OutboundFlow):
    name = PHASE
    kind = "client"
    entity = "Customer"
    cursor = CURSOR
    full_update = False
    reason_update = "client changed in Work"

    def work_list(self, work: Any) -> Lister:
        return work.clients

    def label(self, rec: Any) -> str:
        return clean(val(rec, "name", ""))

    def screen(self, ctx: RunContext, d: Draft) -> Change | Leave | None:
        # Clients that match review has not decided yet (issue 7) wait: creating or linking one now
        # could make the duplicate the person has not ruled out. The customers phase sets the hold.
        held = ctx.state.holds.of(self.kind).get(d.work_id)
        if held is not None and d.link is None:
            # Read it again next run (the decision does not change the Work record).
            ctx.cap_cursor(self.cursor, stamp(val(d.rec, "updated_at")))
            return self.held(d, held)
        return None

    def body(self, ctx: RunContext, d: Draft) -> dict[str, Any]:
        """Under the DisplayName already sent, if the Work name did not change (see :func:`sent_name`)."""
        return customer_body(d.rec, sent_name(ctx, d.rec))

    def problem_fingerprint(self, ctx: RunContext, d: Draft) -> str:
        named = d.body if d.body["DisplayName"] == d.label else customer_body(d.rec, d.label)
        return name_fingerprint(ctx, named)

    def write(self, ctx: RunContext, d: Draft) -> Change:
        """A new or renamed client: its name is checked against QBO's (link an unlinked customer of
        the same name, rename on collision, or a problem); then a create or a sparse update."""
        rec, link, body = d.rec, d.link, d.body
        display = body["DisplayName"]
        previously = ((link.synced or {}).get("sent") or {}).get("DisplayName") if link is not None else None
        if link is None or previously != display:
            decision, display, found, problem = resolve_display_name(
                ctx, d.label, kind=self.kind, work_id=d.work_id, what="client", link_entity="Customer"
            )
            if decision == "fail":
                return self.fail(d, problem, qbo_id=d.qbo_id)
            if decision == "link":
                body = customer_body(rec, display)
                meta = {"work_updated_at": stamp(val(rec, "updated_at")), "work_version": val(rec, "version"),
                        "fingerprint": fingerprint(body), "sync_token": found.get("SyncToken"),
                        "origin": "linked_by_name", "synced": {"sent": body}, "after": {"DisplayName": display}}
                return Change(self.kind, d.work_id, found["Id"], "link",
                              f"QuickBooks already has the customer '{display}': linked, not duplicated",
                              entity=self.entity, label=d.label, meta=meta)
            if display != body["DisplayName"]:
                body = customer_body(rec, display)
        reason = "new client" if display == d.label else f"new client, sent as '{display}' (name already used)"
        return self.create_or_update(ctx, d, body=body, reason_create=reason)


def phase(ctx: RunContext) -> ClientsOut | None:
    return ClientsOut() if getattr(ctx.settings, "clients", True) else None
