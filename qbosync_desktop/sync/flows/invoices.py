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
from typing import TYPE_CHECKING, Any

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.sync.flows.base import (
    Lister,
    doc_number_problem,
    iso_date,
    missing_reference,
    money,
    qty,
    stamp,
    val,
)
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

CURSOR = "work.invoices"
VOID = "void"  # the fingerprint of a link whose QBO invoice has been voided


def start_date(ctx: RunContext) -> _dt.date:
    """The seed's product syncs invoices from the integration date on; the user may pick earlier."""
    settings = ctx.settings
    integration = None
    conn = getattr(ctx.workspace, "connection", None)
    if conn is not None and not callable(conn):
        integration = getattr(conn, "integration_enabled_at", None)
    if hasattr(settings, "effective_start_date"):
        chosen = settings.effective_start_date(integration)
    else:
        chosen = getattr(settings, "start_date", None) or integration
    if isinstance(chosen, _dt.datetime):
        chosen = chosen.date()
    return chosen or ctx.now.date()


def invoice_body(ctx: RunContext, rec: Any) -> dict[str, Any]:
    lines = []
    for line in val(rec, "lines", []):
        item_qbo = ctx.qbo_id("item", val(line, "item_id")) or "planned"
        detail: dict[str, Any] = {"ItemRef": {"value": item_qbo}, "Qty": qty(val(line, "quantity", 0)),
                                  "UnitPrice": money(val(line, "unit_price", 0))}
        amount = val(line, "amount")
        if amount is None:
            amount = float(val(line, "quantity", 0) or 0) * float(val(line, "unit_price", 0) or 0)
        entry: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "Amount": money(amount),
                                 "SalesItemLineDetail": detail}
        if val(line, "description"):
            entry["Description"] = val(line, "description")
        lines.append(entry)
    body: dict[str, Any] = {
        "CustomerRef": {"value": ctx.qbo_id("client", val(rec, "client_id")) or "planned"},
        "DocNumber": val(rec, "number"),
        "TxnDate": iso_date(val(rec, "issue_date")),
        "Line": lines,
    }
    if val(rec, "due_date"):
        body["DueDate"] = iso_date(val(rec, "due_date"))
    if val(rec, "notes"):
        body["PrivateNote"] = val(rec, "notes")
    return body


class InvoicesOut(OutboundFlow):
    name = "invoices"
    kind = "invoice"
    entity = "Invoice"
    cursor = CURSOR
    full_update = True
    reason_create = "new invoice"
    reason_update = "invoice changed in Work: all lines sent again"

    def work_list(self, work: Any) -> Lister:
        return work.invoices

    def label(self, rec: Any) -> str:
        return f"Invoice {val(rec, 'number', '')}"

    def start(self, ctx: RunContext) -> None:
        self._start = start_date(ctx)

    def screen(self, ctx: RunContext, d: Draft) -> Change | Leave | None:
        rec, link = d.rec, d.link
        status = val(rec, "status", "sent")
        if status == "void":
            if link is None:
                return self.skip(ctx, d, "voided in Work before it was synced")
            if link.fingerprint == VOID:
                return LEAVE
            return Change(self.kind, d.work_id, link.qbo_id, "void", "voided in Work",
                          {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token}, entity=self.entity,
                          label=d.label, meta={"fingerprint": VOID, "audit_action": "void",
                                               "work_version": val(rec, "version"),
                                               "work_updated_at": stamp(val(rec, "updated_at"))})
        if link is None and status == "draft":
            return self.skip(ctx, d, "drafts never sync")
        issued = iso_date(val(rec, "issue_date"))
        start = self._start.isoformat()
        if link is None and issued and issued < start:
            return self.skip(ctx, d, f"dated {issued}, before the start date {start}")
        return None

    def body(self, ctx: RunContext, d: Draft) -> dict[str, Any]:
        return invoice_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft) -> QboSyncError | None:
        rec, number = d.rec, str(val(d.rec, "number", ""))
        problem = doc_number_problem(number, what="invoice")
        if problem is None and not ctx.will_exist("client", val(rec, "client_id")):
            problem = missing_reference(ctx, "invoice", number, "client", str(val(rec, "client_id")))
        if problem is None:
            for line in val(rec, "lines", []):
                if not ctx.will_exist("item", val(line, "item_id")):
                    return missing_reference(ctx, "invoice", number, "item", str(val(line, "item_id")))
        return problem


START_CURSOR = "work.invoices.start_date"
#: the payments flow's cursor (payments of invoices before the start date were skipped too)
PAYMENTS_CURSOR = "work.payments"


def phase(ctx: RunContext) -> InvoicesOut | None:
    if not getattr(ctx.settings, "invoices", False):
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
