"""Work contractor invoices → QBO bills, each line on its concept's expense account.

The contractor seed: concepts are mapped once to expense accounts (kept until disconnect); an
unmapped concept is a problem with the exact next step - "Map the concept 'Travel' to an expense
account in Sync Settings" - and the bill syncs by itself on the next run after the mapping is made
(open problems are re-read every run). Bills need their vendor (the vendors phase runs first).
Drafts and rejected invoices are not bills. An edit after sync is a full update (all lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qbosync_desktop.core.errors import ConfigurationError, QboSyncError
from qbosync_desktop.sync.flows.base import (
    Lister,
    doc_number_problem,
    iso_date,
    missing_reference,
    money,
    val,
)
from qbosync_desktop.sync.flows.outbound import Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.names import normalise

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

CURSOR = "work.contractor_invoices"
NOT_BILLS = ("draft", "rejected")


def concept_account(settings: Any, concept: str) -> str | None:
    concepts = getattr(settings, "concepts", None) or {}
    if concept in concepts:
        return concepts[concept]
    by_norm = {normalise(k): v for k, v in concepts.items()}
    return by_norm.get(normalise(concept))


def unmapped_concept(concept: str) -> ConfigurationError:
    return ConfigurationError(
        f"Map the concept '{concept}' to an expense account in Sync Settings.",
        field=f"concept.{concept}",
        title="Invoice concept not mapped",
        hint=f"Open Sync Settings, choose an expense account for '{concept}', and save. The bill then syncs by itself.",
    )


def bill_body(ctx: RunContext, rec: Any) -> dict[str, Any]:
    lines = []
    for line in val(rec, "lines", []):
        entry: dict[str, Any] = {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": money(val(line, "amount", 0)),
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": str(concept_account(ctx.settings, val(line, "concept", "")))}},
        }
        if val(line, "description"):
            entry["Description"] = val(line, "description")
        lines.append(entry)
    body: dict[str, Any] = {
        "VendorRef": {"value": ctx.qbo_id("vendor", val(rec, "contractor_id")) or "planned"},
        "APAccountRef": {"value": str(ctx.settings.ap_account)},
        "DocNumber": val(rec, "number"),
        "TxnDate": iso_date(val(rec, "date")),
        "Line": lines,
    }
    if val(rec, "due_date"):
        body["DueDate"] = iso_date(val(rec, "due_date"))
    return body


class BillsOut(OutboundFlow):
    name = "bills"
    kind = "bill"
    entity = "Bill"
    cursor = CURSOR
    full_update = True
    reason_create = "new contractor invoice"
    reason_update = "contractor invoice changed in Work: all lines sent again"

    def work_list(self, work: Any) -> Lister:
        return work.contractor_invoices

    def label(self, rec: Any) -> str:
        return f"Contractor invoice {val(rec, 'number', '')}"

    def screen(self, ctx: RunContext, d: Draft) -> Change | Leave | None:
        if d.link is None and val(d.rec, "status") in NOT_BILLS:
            return self.skip(ctx, d, f"{val(d.rec, 'status')} contractor invoices are not bills")
        return None

    def body(self, ctx: RunContext, d: Draft) -> dict[str, Any]:
        return bill_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft) -> QboSyncError | None:
        rec, number = d.rec, str(val(d.rec, "number", ""))
        problem = doc_number_problem(number, what="contractor invoice")
        if problem is None:
            for line in val(rec, "lines", []):
                if concept_account(ctx.settings, val(line, "concept", "")) is None:
                    return unmapped_concept(val(line, "concept", ""))
        if problem is None and not ctx.will_exist("vendor", val(rec, "contractor_id")):
            problem = missing_reference(ctx, "contractor invoice", number, "vendor",
                                        str(val(rec, "contractor_id")), ref_what="contractor")
        return problem


def phase(ctx: RunContext) -> BillsOut | None:
    return BillsOut() if getattr(ctx.settings, "bills", False) else None
