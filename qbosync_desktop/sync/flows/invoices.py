"""Work invoices → QBO invoices (one-way), from the start date on.

Rules (seed + issue 6): drafts never sync; only invoices dated on or after the start date (the
integration date unless the user picked an earlier one); DocNumber = the Work number, and a number
over QBO's 21 characters is a problem, not a truncation; each line's item must be in QBO (the items
phase runs first); an edit after sync is a *full* update - QBO replaces lines all-or-nothing, so every
line is sent with the current SyncToken, and a stale token (5010) is re-read and retried by the
outbox; a void in Work voids the QBO invoice.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Invoice
from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import (
    Lister,
    doc_number_problem,
    iso_date,
    missing_reference,
    money,
    qty,
    stamp,
)
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi

CURSOR = "work.invoices"
VOID = "void"  # the fingerprint of a link whose QBO invoice has been voided


def start_date(ctx: RunContext) -> _dt.date:
    """The seed's product syncs invoices from the integration date on; the user may pick earlier."""
    conn = ctx.connection
    integration = conn.integration_enabled_at if conn is not None else None
    chosen = ctx.settings.effective_start_date(integration)
    if isinstance(chosen, _dt.datetime):
        chosen = chosen.date()
    return chosen or ctx.now.date()


def invoice_body(ctx: RunContext, rec: Invoice) -> JsonObject:
    lines = []
    for line in rec.lines:
        item_qbo = ctx.qbo_id("item", line.item_id) or "planned"
        detail: JsonObject = {"ItemRef": {"value": item_qbo}, "Qty": qty(line.quantity),
                              "UnitPrice": money(line.unit_price)}
        # (the connector fills in quantity × unit price, to the cent, when Work omits the amount)
        entry: JsonObject = {"DetailType": "SalesItemLineDetail", "Amount": money(line.amount),
                             "SalesItemLineDetail": detail}
        if line.description:
            entry["Description"] = line.description
        lines.append(entry)
    body: JsonObject = {
        "CustomerRef": {"value": ctx.qbo_id("client", rec.client_id) or "planned"},
        "DocNumber": rec.number,
        "TxnDate": iso_date(rec.issue_date),
        "Line": lines,
    }
    if rec.due_date:
        body["DueDate"] = iso_date(rec.due_date)
    if rec.notes:
        body["PrivateNote"] = rec.notes
    return body


class InvoicesOut(OutboundFlow[Invoice]):
    name = "invoices"
    kind = "invoice"
    entity = "Invoice"
    cursor = CURSOR
    full_update = True
    reason_create = "new invoice"
    reason_update = "invoice changed in Work: all lines sent again"

    def work_list(self, work: WorkApi) -> Lister[Invoice]:
        return work.invoices

    def label(self, rec: Invoice) -> str:
        return f"Invoice {rec.number}"

    def references(self, rec: Invoice) -> Iterable[tuple[str, str]]:
        yield "client", str(rec.client_id)
        for line in rec.lines:
            yield "item", str(line.item_id)

    def start(self, ctx: RunContext) -> None:
        self._start = start_date(ctx)

    def screen(self, ctx: RunContext, d: Draft[Invoice]) -> Change | Leave | None:
        rec, link = d.rec, d.link
        status = rec.status
        if status == "void":
            if link is None:
                return self.skip(ctx, d, "voided in Work before it was synced")
            if link.fingerprint == VOID:
                return LEAVE
            return Change(self.kind, d.work_id, link.qbo_id, "void", "voided in Work",
                          {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token}, entity=self.entity,
                          label=d.label, meta={"fingerprint": VOID, "audit_action": "void",
                                               "work_version": rec.version,
                                               "work_updated_at": stamp(rec.updated_at)})
        if link is None and status == "draft":
            return self.skip(ctx, d, "drafts never sync")
        issued = iso_date(rec.issue_date)
        start = self._start.isoformat()
        if link is None and issued and issued < start:
            return self.skip(ctx, d, f"dated {issued}, before the start date {start}")
        return None

    def body(self, ctx: RunContext, d: Draft[Invoice]) -> JsonObject:
        return invoice_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[Invoice]) -> QboSyncError | None:
        rec, number = d.rec, str(d.rec.number)
        problem = doc_number_problem(number, what="invoice")
        if problem is None and not ctx.will_exist("client", rec.client_id):
            problem = missing_reference(ctx, "invoice", number, "client", str(rec.client_id))
        if problem is None:
            for line in rec.lines:
                if not ctx.will_exist("item", line.item_id):
                    return missing_reference(ctx, "invoice", number, "item", str(line.item_id))
        return problem


START_CURSOR = "work.invoices.start_date"
#: the payments flow's cursor (payments of invoices before the start date were skipped too)
PAYMENTS_CURSOR = "work.payments"


def phase(ctx: RunContext) -> InvoicesOut | None:
    if not ctx.settings.invoices:
        return None
    # Invoices (and so their payments) dated before the start date were skipped and the cursor moved
    # past them. If the start date is now earlier, read both lists again from the beginning (cheap:
    # unchanged linked records cost nothing), or those invoices would never sync.
    start = start_date(ctx).isoformat()
    used = ctx.cursor(START_CURSOR)
    if used is not None and start < used:
        ctx.state.reread.update((CURSOR, PAYMENTS_CURSOR))
    if used != start:
        ctx.stage_cursor(START_CURSOR, start)
    return InvoicesOut()
