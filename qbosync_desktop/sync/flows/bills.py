"""Work contractor invoices → QBO bills, each line on its concept's expense account.

The contractor seed: concepts are mapped once to expense accounts (kept until disconnect); an
unmapped concept is a problem with the exact next step - "Map the concept 'Travel' to an expense
account in Sync Settings" - and the bill syncs by itself on the next run after the mapping is made
(open problems are re-read every run). Bills need their vendor (the vendors phase runs first).
Drafts and rejected invoices are not bills. An edit after sync is a full update (all lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.sync.flows.base import (
    OutboundPhase,
    doc_number_problem,
    fail,
    is_fresh,
    iso_date,
    missing_reference,
    money,
    skip,
    unchanged,
    val,
    write_change,
)
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import normalise

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
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


class BillsOut(OutboundPhase):
    name = "bills"
    kind = "bill"
    cursor = CURSOR
    lister = "contractor_invoices"

    def iter_plan(self, ctx: RunContext, records: list[Any]) -> Iterator[Change]:
        for rec in records:
            wid = str(val(rec, "id"))
            number = str(val(rec, "number", ""))
            label = f"Contractor invoice {number}"
            link = ctx.link(self.kind, wid)
            if link is None and val(rec, "status") in NOT_BILLS:
                yield (skip(self.kind, rec, f"{val(rec, 'status')} contractor invoices are not bills",
                                    entity="Bill", label=label, audit=is_fresh(ctx, CURSOR, rec)))
                continue
            body = bill_body(ctx, rec)
            fp = fingerprint(body)
            if unchanged(ctx, self.kind, wid, fp):
                continue
            problem = doc_number_problem(number, what="contractor invoice")
            if problem is None:
                for line in val(rec, "lines", []):
                    if concept_account(ctx.settings, val(line, "concept", "")) is None:
                        problem = unmapped_concept(val(line, "concept", ""))
                        break
            if problem is None and not ctx.will_exist("vendor", val(rec, "contractor_id")):
                problem = missing_reference(ctx, "contractor invoice", number, "vendor",
                                            str(val(rec, "contractor_id")), ref_what="contractor")
            if problem is not None:
                yield (fail(self.kind, rec, problem, entity="Bill", label=label, fp=fp,
                                    qbo_id=link.qbo_id if link else None))
                continue
            yield (write_change(ctx, kind=self.kind, entity="Bill", work_id=wid, label=label, body=body,
                                        rec=rec, full_update=True, reason_create="new contractor invoice",
                                        reason_update="contractor invoice changed in Work: all lines sent again"))


def phase(ctx: RunContext) -> BillsOut | None:
    return BillsOut() if ctx.settings.bills else None
