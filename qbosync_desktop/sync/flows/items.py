"""Work items → QBO items, matched by name (the seed: "If the Item in Work matches an Item in
QuickBooks, the Item will be updated, otherwise, it will be created").

Created and updated items post to the accounts chosen in Sync Settings ("Use this Income Account",
"Use this Expense Account"). QBO item names are unique, at most 100 characters and without ``:``
(a colon means "sub-item" there), so those are checked first and become problems with a fix.

The QBO item list is read once per run (one paged query), and only when some Work item changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Item
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.sync.flows.base import Lister, fail, money, stamp
from qbosync_desktop.sync.flows.outbound import Draft, Leave, OutboundFlow
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules import keep
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.keep import describe, field_changes
from qbosync_desktop.sync.rules.names import MAX_ITEM_NAME, check_name, clean, collision_problem, normalise

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi
    from qbosync_desktop.sync.rules.settings import SyncSettings


CURSOR = "work.items"


def item_body(rec: Item, settings: SyncSettings) -> JsonObject:
    body: JsonObject = {
        "Name": clean(rec.name),
        "Type": "Service" if rec.kind == "service" else "NonInventory",
        "UnitPrice": money(rec.unit_price),
        "Active": bool(rec.active),
        "IncomeAccountRef": {"value": str(settings.income_account)},
        "ExpenseAccountRef": {"value": str(settings.expense_account)},
    }
    if rec.description:
        body["Description"] = rec.description
    return body


def qbo_items(ctx: RunContext) -> dict[str, dict]:
    """QBO items by normalised name (one paged query per run)."""
    if ctx.state.qbo_items is None:
        rows = ctx.qbo.query("Item", where="Active IN (true, false)", order_by="Id")
        ctx.state.qbo_items = {normalise(r.get("Name", "")): r for r in rows}
    return ctx.state.qbo_items


class ItemsOut(OutboundFlow[Item]):
    name = "items"
    kind = "item"
    entity = "Item"
    cursor = CURSOR
    full_update = False
    reason_create = "new item"
    reason_update = "item changed in Work"

    def work_list(self, work: WorkApi) -> Lister[Item]:
        return work.items

    def label(self, rec: Item) -> str:
        return clean(rec.name)

    def start(self, ctx: RunContext) -> None:
        self._seen: dict[str, str] = {}  # normalised name → Work id, in this plan
        self._linked_qbo: set[str] | None = None  # read when an unlinked item's name is looked up
        self._keep = keep.stored()

    def screen(self, ctx: RunContext, d: Draft[Item]) -> Change | Leave | None:
        """QBO item names are unique, ≤ 100 characters, without ':' - checked even for an unchanged
        item, since a second Work item may have taken the name."""
        bad = check_name(d.label, what="item", limit=MAX_ITEM_NAME)
        norm = normalise(d.label)
        if bad is None and norm in self._seen and self._seen[norm] != d.work_id:
            bad = collision_problem(d.label, what="item", other="Work item")
        if bad is not None:
            return fail(self.kind, d.rec, bad, entity=self.entity, label=d.label,
                        fp=fingerprint(item_body(d.rec, ctx.settings)))
        self._seen[norm] = d.work_id
        return None

    def body(self, ctx: RunContext, d: Draft[Item]) -> JsonObject:
        return item_body(d.rec, ctx.settings)

    def write(self, ctx: RunContext, d: Draft[Item]) -> Change:
        """An unlinked item whose name QBO already has updates that item instead of a duplicate."""
        if d.link is None:
            found = qbo_items(ctx).get(normalise(d.label))
            if found is not None and self._linked_qbo is None:
                self._linked_qbo = set(ctx.linked_qbo_ids(self.kind))
            if found is not None and self._linked_qbo is not None and str(found.get("Id")) not in self._linked_qbo:
                qid = str(found["Id"])
                self._linked_qbo.add(qid)
                changes = field_changes(found, d.body)
                meta = {"work_updated_at": stamp(d.rec.updated_at), "work_version": d.rec.version,
                        "fingerprint": d.fp, "origin": "linked_by_name", "changes": changes,
                        "sync_token": found.get("SyncToken")}
                if not changes or keep.kept(self.kind, qid, self._keep):
                    # Nothing to change, or the person keeps QuickBooks' values: link without a
                    # write. The link keeps the Work content's fingerprint, so later syncs leave the
                    # item alone until Work changes it again.
                    why = ("same values in both" if not changes
                           else "you chose to keep QuickBooks' values: " + describe(changes))
                    if changes:  # Work's values at the decision: a field Work changes later is sent again
                        meta["synced"] = {"kept": {c["field"]: d.body.get(c["field"]) for c in changes}}
                    return Change(self.kind, d.work_id, qid, "link",
                                  f"QuickBooks has an item named '{found.get('Name')}': linked, {why}",
                                  entity=self.entity, label=d.label, meta=meta)
                payload = {**d.body, "Id": qid, "SyncToken": found.get("SyncToken"), "sparse": True}
                meta.update({"after": d.body, "synced": {"sent": d.body},
                             "before": {c["field"]: found.get(c["field"]) for c in changes}})
                return Change(self.kind, d.work_id, qid, "update",
                              f"QuickBooks has an item named '{found.get('Name')}': updated ({describe(changes)})",
                              payload, entity=self.entity, label=d.label, meta=meta)
        kept = ((d.link.synced or {}).get("kept") if d.link is not None else None) or {}
        if kept:
            # QuickBooks' values the person kept stay, field by field, until Work changes that field.
            body = {k: v for k, v in d.body.items() if not (k in kept and keep.same(kept[k], v))}
            ch = self.create_or_update(ctx, d, body=body)
            ch.meta["fingerprint"] = d.fp
            return ch
        return super().write(ctx, d)


ACCOUNTS_CURSOR = "work.items.accounts"


def phase(ctx: RunContext) -> ItemsOut | None:
    if not ctx.settings.invoices:
        return None
    # Items post to the chosen accounts; when the choice changes, every item is read again so its
    # fingerprint (which includes the accounts) shows it needs an update.
    accounts = f"{ctx.settings.income_account}/{ctx.settings.expense_account}"
    used = ctx.cursor(ACCOUNTS_CURSOR)
    if used is not None and used != accounts:
        ctx.state.reread.add(CURSOR)
    if used != accounts:
        ctx.stage_cursor(ACCOUNTS_CURSOR, accounts)
    return ItemsOut()
