"""Work contractor invoices → QBO bills, each line on its concept's expense account.

The contractor seed: concepts are mapped once to expense accounts (kept until disconnect); an
unmapped concept is a problem with the exact next step - "Map the concept 'Travel' to an expense
account in Sync Settings" - and the bill syncs by itself on the next run after the mapping is made
(open problems are re-read every run). Bills need their vendor (the vendors phase runs first).
Drafts and rejected invoices are not bills. An edit after sync is a full update (all lines).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import ContractorInvoice
from qbosync_desktop.core.errors import ConfigurationError, QboSyncError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import (
    Lister,
    doc_number_problem,
    iso_date,
    missing_reference,
    money,
)
from qbosync_desktop.sync.flows.outbound import LEAVE, Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.names import normalise

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi
    from qbosync_desktop.sync.rules.settings import SyncSettings

CURSOR = "work.contractor_invoices"
NOT_BILLS = ("draft", "rejected")


def concept_account(settings: SyncSettings, concept: str) -> str | None:
    concepts = settings.concepts
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


def bill_body(ctx: RunContext, rec: ContractorInvoice) -> JsonObject:
    lines = []
    for line in rec.lines:
        entry: JsonObject = {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": money(line.amount),
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": str(concept_account(ctx.settings, line.concept))}},
        }
        if line.description:
            entry["Description"] = line.description
        lines.append(entry)
    body: JsonObject = {
        "VendorRef": {"value": ctx.qbo_id("vendor", rec.contractor_id) or "planned"},
        "APAccountRef": {"value": str(ctx.settings.ap_account)},
        "DocNumber": rec.number,
        "TxnDate": iso_date(rec.date),
        "Line": lines,
    }
    if rec.due_date:
        body["DueDate"] = iso_date(rec.due_date)
    return body


class BillsOut(OutboundFlow[ContractorInvoice]):
    name = "bills"
    kind = "bill"
    entity = "Bill"
    cursor = CURSOR
    full_update = True
    reason_create = "new contractor invoice"
    reason_update = "contractor invoice changed in Work: all lines sent again"

    def work_list(self, work: WorkApi) -> Lister[ContractorInvoice]:
        return work.contractor_invoices

    def label(self, rec: ContractorInvoice) -> str:
        return f"Contractor invoice {rec.number}"

    def references(self, rec: ContractorInvoice) -> Iterable[tuple[str, str]]:
        yield "vendor", str(rec.contractor_id)

    def screen(self, ctx: RunContext, d: Draft[ContractorInvoice]) -> Change | Leave | None:
        if d.link is None and d.rec.status in NOT_BILLS:
            return self.skip(ctx, d, f"{d.rec.status} contractor invoices are not bills", why="not_a_bill")
        if (d.link is not None and d.link.work_version == str(d.rec.version)
                and any(concept_account(ctx.settings, line.concept) is None for line in d.rec.lines)):
            # Unchanged in Work since our last write, and a concept mapping is gone (Disconnect
            # forgets them): there is nothing to send, so nothing to map yet either. Leave the bill as
            # QuickBooks has it; once mapped again to the same accounts it is still unchanged.
            return LEAVE
        return None

    def body(self, ctx: RunContext, d: Draft[ContractorInvoice]) -> JsonObject:
        return bill_body(ctx, d.rec)

    def check(self, ctx: RunContext, d: Draft[ContractorInvoice]) -> QboSyncError | None:
        rec, number = d.rec, str(d.rec.number)
        problem = doc_number_problem(number, what="contractor invoice")
        if problem is None:
            for line in rec.lines:
                if concept_account(ctx.settings, line.concept) is None:
                    return unmapped_concept(line.concept)
        if problem is None and not ctx.will_exist("vendor", rec.contractor_id):
            problem = missing_reference(ctx, "contractor invoice", number, "vendor",
                                        str(rec.contractor_id), ref_what="contractor")
        return problem


def phase(ctx: RunContext) -> BillsOut | None:
    return BillsOut() if ctx.settings.bills else None
