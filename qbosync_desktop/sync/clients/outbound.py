"""Work clients → QBO customers: create, update when the client changes, inactive → inactive.

Until match review (issue 7) has linked a client, an existing QBO customer with the same normalised
DisplayName is *linked* rather than duplicated - creating a second "Ann Lee" is the failure users
of such integrations fear most. Updates are sparse (only the fields Work owns), so fields an
accountant keeps only in QuickBooks (terms, tax settings, notes) survive every sync.

:func:`customer_body` is public: the two-way code sets a link's fingerprint from it after writing a
client in Work, so that write does not bounce back to QBO as an update on the next run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Address, Client
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.clients import deleted, settle, stale
from qbosync_desktop.sync.clients.fields import qbo_values
from qbosync_desktop.sync.context import qbo_deleted
from qbosync_desktop.sync.flows.base import (
    Lister,
    name_fingerprint,
    resolve_display_name,
    stamp,
)
from qbosync_desktop.sync.flows.outbound import Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import clean, normalise, renamed

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

PHASE = "clients"
CURSOR = "work.clients"

def bill_addr(address: Address | None) -> dict[str, str] | None:
    """A Work address → QuickBooks ``BillAddr`` as Work has it (empty parts left out)."""
    if address is None:
        return None
    parts = {"Line1": address.line1, "Line2": address.line2, "City": address.city,
             "CountrySubDivisionCode": address.state, "PostalCode": address.postal_code,
             "Country": address.country}
    out = {key: value for key, value in parts.items() if value}
    return out or None


def customer_body(rec: Client, display_name: str) -> JsonObject:
    """The QBO Customer fields Work owns, for a Work client."""
    body: JsonObject = {"DisplayName": display_name, "Active": bool(rec.active)}
    for qbo_key, value in (("GivenName", rec.first_name), ("FamilyName", rec.last_name),
                           ("CompanyName", rec.company_name)):
        if value:
            body[qbo_key] = value
    if rec.email:
        body["PrimaryEmailAddr"] = {"Address": rec.email}
    if rec.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": rec.phone}
    addr = bill_addr(rec.billing_address)
    if addr:
        body["BillAddr"] = addr
    return body


def sent_name(ctx: RunContext, rec: Client, kind: str = "client") -> str:
    """The DisplayName this record has in QBO if its Work name did not change (keeps a rename stable)."""
    wid = rec.id
    link = ctx.link(kind, wid)
    sent = ((link.synced or {}).get("sent") or {}).get("DisplayName") if link is not None else None
    name = clean(rec.name)
    if sent and normalise(sent) in (normalise(name), normalise(renamed(name, wid))):
        return str(sent)
    return name


def problem_fingerprint(ctx: RunContext, rec: Client, body: JsonObject) -> str:
    """The fingerprint a problem of the client (``rec``, its text cleaned) is kept under: the body under
    its own name, plus the setting that can fix a name. The two-way phase keeps a refused update's
    problem under it too, so this phase sees it as already raised for this version of the client."""
    label = clean(rec.name)
    named = body if body["DisplayName"] == label else customer_body(rec, label)
    return name_fingerprint(ctx, named)


class ClientsOut(OutboundFlow[Client]):
    name = PHASE
    kind = "client"
    entity = "Customer"
    cursor = CURSOR
    full_update = False
    reason_update = "client changed in Work"

    def work_list(self, work: WorkApi) -> Lister[Client]:
        return work.clients

    def label(self, rec: Client) -> str:
        return clean(rec.name)

    def screen(self, ctx: RunContext, d: Draft[Client]) -> Change | Leave | None:
        if qbo_deleted(d.link):
            # QuickBooks deleted (merged) its customer: nothing is written to it, nor created again,
            # until the link is fixed - the client's one problem (sync/clients/deleted.py) says so.
            assert d.link is not None
            return deleted.refused(ctx, d.link, d.label)
        # Clients that match review has not decided yet (issue 7) wait: creating or linking one now
        # could make the duplicate the person has not ruled out. The customers phase sets the hold.
        held = ctx.state.holds.of(self.kind).get(d.work_id)
        if held is not None and d.link is None:
            # Read it again next run (the decision does not change the Work record).
            ctx.cap_cursor(self.cursor, stamp(d.rec.updated_at))
            return self.held(d, held)
        return None

    def body(self, ctx: RunContext, d: Draft[Client]) -> JsonObject:
        """Under the DisplayName already sent, if the Work name did not change (see :func:`sent_name`)."""
        return customer_body(d.rec, sent_name(ctx, d.rec))

    def problem_fingerprint(self, ctx: RunContext, d: Draft[Client]) -> str:
        return problem_fingerprint(ctx, d.rec, d.body)

    def write(self, ctx: RunContext, d: Draft[Client]) -> Change:
        """A new or renamed client: its name is checked against QBO's (link an unlinked customer of
        the same name, rename on collision, or a problem); then a create or a sparse update."""
        rec, link, body = d.rec, d.link, d.body
        display = body["DisplayName"]
        previously = ((link.synced or {}).get("sent") or {}).get("DisplayName") if link is not None else None
        if link is None or previously != display:
            _decision, display, found, problem = resolve_display_name(
                ctx, d.label, kind=self.kind, work_id=d.work_id, what="client", link_entity="Customer"
            )
            if problem is not None:  # decision "fail"
                return self.fail(d, problem, qbo_id=d.qbo_id)
            if found is not None:  # decision "link"
                body = customer_body(rec, display)
                # Nothing is sent to it, and nothing of it reaches Work unasked: the link is flagged
                # for the two-way merge (``recheck``, with QuickBooks' values as read now), whose first
                # merge of the pair makes every differing field a conflict counted in every run
                # (unless the person answered for this record at Review; see settle.record_answers).
                synced = {"sent": body, settle.BY_NAME: True,
                          "twoway": {"qbo_seen": qbo_values(found), stale.RECHECK: True}}
                meta = {"work_updated_at": stamp(rec.updated_at), "work_version": rec.version,
                        "fingerprint": fingerprint(body), "sync_token": found.get("SyncToken"),
                        "origin": "linked_by_name", "synced": synced, "after": {"DisplayName": display}}
                return Change(self.kind, d.work_id, found["Id"], "link",
                              f"QuickBooks already has the customer '{display}': linked, not duplicated",
                              entity=self.entity, label=d.label, meta=meta)
            if display != body["DisplayName"]:
                body = customer_body(rec, display)
        reason = "new client" if display == d.label else f"new client, sent as '{display}' (name already used)"
        return self.create_or_update(ctx, d, body=body, reason_create=reason)


def phase(ctx: RunContext) -> ClientsOut | None:
    return ClientsOut() if ctx.settings.clients else None
