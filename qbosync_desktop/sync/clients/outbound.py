"""Work clients → QBO customers: create, update when the client changes, inactive → inactive.

Until match review (issue 7) has linked a client, an existing QBO customer with the same normalised
DisplayName is *linked* rather than duplicated - creating a second "Ann Lee" is the failure users
of such integrations fear most. Updates are sparse (only the fields Work owns), so fields an
accountant keeps only in QuickBooks (terms, tax settings, notes) survive every sync.

:func:`customer_body` is public: the two-way code sets a link's fingerprint from it after writing a
client in Work, so that write does not bounce back to QBO as an update on the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.clients.inbound import CACHE_HOLD
from qbosync_desktop.sync.flows.base import (
    OutboundPhase,
    fail,
    name_fingerprint,
    resolve_display_name,
    stamp,
    unchanged,
    val,
    write_change,
)
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import clean, normalise, renamed

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

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


class ClientsOut(OutboundPhase):
    name = "clients"
    kind = "client"
    cursor = "work.clients"
    lister = "clients"

    def iter_plan(self, ctx: RunContext, records: list[Any]) -> Iterator[Change]:
        # Clients that match review has not decided yet (issue 7) wait: creating or linking one now
        # could make the duplicate the person has not ruled out. The customers phase fills this in.
        held: dict[str, str] = ctx.caches.get(CACHE_HOLD) or {}
        for rec in records:
            wid = str(val(rec, "id"))
            label = clean(val(rec, "name", ""))
            if wid in held and ctx.link(self.kind, wid) is None:
                # Read it again next run (the decision does not change the Work record).
                ctx.cap_cursor("work.clients", stamp(val(rec, "updated_at")))
                yield (Change(self.kind, wid, None, "skip", held[wid], entity="Customer", label=label))
                continue
            display = sent_name(ctx, rec)
            body = customer_body(rec, display)
            pfp = name_fingerprint(ctx, body if display == label else customer_body(rec, label))
            if unchanged(ctx, self.kind, wid, fingerprint(body), problem_fp=pfp):
                continue
            link = ctx.link(self.kind, wid)
            previously = ((link.synced or {}).get("sent") or {}).get("DisplayName") if link is not None else None
            if link is None or previously != display:
                decision, display, found, problem = resolve_display_name(
                    ctx, label, kind=self.kind, work_id=wid, what="client", link_entity="Customer"
                )
                meta = {"work_updated_at": stamp(val(rec, "updated_at")), "work_version": val(rec, "version")}
                if decision == "fail":
                    yield (fail(self.kind, rec, problem, entity="Customer", label=label, fp=pfp,
                                        qbo_id=link.qbo_id if link else None))
                    continue
                if decision == "link":
                    body = customer_body(rec, display)
                    meta.update(fingerprint=fingerprint(body), sync_token=found.get("SyncToken"),
                                origin="linked_by_name", synced={"sent": body}, after={"DisplayName": display})
                    yield (Change(self.kind, wid, found["Id"], "link",
                                          f"QuickBooks already has the customer '{display}': linked, not duplicated",
                                          entity="Customer", label=label, meta=meta))
                    continue
                if display != body["DisplayName"]:
                    body = customer_body(rec, display)
            reason = "new client" if display == label else f"new client, sent as '{display}' (name already used)"
            yield (write_change(ctx, kind=self.kind, entity="Customer", work_id=wid, label=label, body=body,
                                        rec=rec, full_update=False, reason_create=reason,
                                        reason_update="client changed in Work"))


def phase(ctx: RunContext) -> ClientsOut | None:
    return ClientsOut() if ctx.settings.clients else None
