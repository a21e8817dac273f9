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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.flows.base import (
    OutboundPhase,
    doc_number_problem,
    fail,
    is_fresh,
    iso_date,
    missing_reference,
    money,
    qty,
    skip,
    stamp,
    unchanged,
    val,
    write_change,
)
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

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


class InvoicesOut(OutboundPhase):
    name = "invoices"
    kind = "invoice"
    cursor = CURSOR
    lister = "invoices"

    def iter_plan(self, ctx: RunContext, records: list[Any]) -> Iterator[Change]:
        start = start_date(ctx)
        for rec in records:
            wid = str(val(rec, "id"))
            number = str(val(rec, "number", ""))
            label = f"Invoice {number}"
            link = ctx.link(self.kind, wid)
            status = val(rec, "status", "sent")
            if status == "void":
                if link is None:
                    yield (skip(self.kind, rec, "voided in Work before it was synced", entity="Invoice",
                                        label=label, audit=is_fresh(ctx, CURSOR, rec)))
                elif link.fingerprint != VOID:
                    yield (Change(self.kind, wid, link.qbo_id, "void", "voided in Work",
                                          {"Id": link.qbo_id, "SyncToken": link.qbo_sync_token}, entity="Invoice",
                                          label=label, meta={"fingerprint": VOID, "audit_action": "void",
                                                             "work_version": val(rec, "version"),
                                                             "work_updated_at": stamp(val(rec, "updated_at"))}))
                continue
            if link is None and status == "draft":
                yield (skip(self.kind, rec, "drafts never sync", entity="Invoice", label=label, audit=is_fresh(ctx, CURSOR, rec)))
                continue
            issued = iso_date(val(rec, "issue_date"))
            if link is None and issued and issued < start.isoformat():
                yield (skip(self.kind, rec, f"dated {issued}, before the start date {start.isoformat()}",
                                    entity="Invoice", label=label, audit=is_fresh(ctx, CURSOR, rec)))
                continue
            body = invoice_body(ctx, rec)
            fp = fingerprint(body)
            if unchanged(ctx, self.kind, wid, fp):
                continue
            problem = doc_number_problem(number, what="invoice")
            if problem is None and not ctx.will_exist("client", val(rec, "client_id")):
                problem = missing_reference(ctx, "invoice", number, "client", str(val(rec, "client_id")))
            if problem is None:
                for line in val(rec, "lines", []):
                    if not ctx.will_exist("item", val(line, "item_id")):
                        problem = missing_reference(ctx, "invoice", number, "item", str(val(line, "item_id")))
                        break
            if problem is not None:
                yield (fail(self.kind, rec, problem, entity="Invoice", label=label, fp=fp,
                                    qbo_id=link.qbo_id if link else None))
                continue
            yield (write_change(ctx, kind=self.kind, entity="Invoice", work_id=wid, label=label, body=body,
                                        rec=rec, full_update=True, reason_create="new invoice",
                                        reason_update="invoice changed in Work: all lines sent again"))


START_CURSOR = "work.invoices.start_date"


def phase(ctx: RunContext) -> InvoicesOut | None:
    if not ctx.settings.invoices:
        return None
    # Invoices (and so their payments) dated before the start date were skipped and the cursor moved
    # past them. If the start date is now earlier, read both lists again from the beginning (cheap:
    # unchanged linked records cost nothing), or those invoices would never sync.
    start = start_date(ctx).isoformat()
    used = ctx.cursor(START_CURSOR)
    if used is not None and start < used:
        ctx.caches[f"reread.{CURSOR}"] = True
        ctx.caches["reread.work.payments"] = True
    if used != start:
        ctx.stage_cursor(START_CURSOR, start)
    return InvoicesOut()
