"""Work items → QBO items, matched by name (the seed: "If the Item in Work matches an Item in
QuickBooks, the Item will be updated, otherwise, it will be created").

Created and updated items post to the accounts chosen in Sync Settings ("Use this Income Account",
"Use this Expense Account"). QBO item names are unique, at most 100 characters and without ``:``
(a colon means "sub-item" there), so those are checked first and become problems with a fix.

The QBO item list is read once per run (one paged query), and only when some Work item changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.flows.base import OutboundPhase, fail, money, stamp, unchanged, val, write_change
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.rules.fingerprint import fingerprint
from qbosync_desktop.sync.rules.names import MAX_ITEM_NAME, check_name, clean, collision_problem, normalise

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext


def item_body(rec: Any, settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Name": clean(val(rec, "name", "")),
        "Type": "Service" if val(rec, "kind", "service") == "service" else "NonInventory",
        "UnitPrice": money(val(rec, "unit_price", 0)),
        "Active": bool(val(rec, "active", True)),
        "IncomeAccountRef": {"value": str(settings.income_account)},
        "ExpenseAccountRef": {"value": str(settings.expense_account)},
    }
    if val(rec, "description"):
        body["Description"] = val(rec, "description")
    return body


def qbo_items(ctx: RunContext) -> dict[str, dict]:
    """QBO items by normalised name (one paged query per run)."""

    def load() -> dict[str, dict]:
        return {normalise(r.get("Name", "")): r for r in ctx.qbo.query("Item", where="Active IN (true, false)", order_by="Id")}

    return ctx.cached("qbo.items", load)


class ItemsOut(OutboundPhase):
    name = "items"
    kind = "item"
    cursor = "work.items"
    lister = "items"

    def iter_plan(self, ctx: RunContext, records: list[Any]) -> Iterator[Change]:
        seen: dict[str, str] = {}
        linked_qbo = {lk.qbo_id for lk in ctx.links(self.kind).values()}
        for rec in records:
            wid = str(val(rec, "id"))
            label = clean(val(rec, "name", ""))
            meta = {"work_updated_at": stamp(val(rec, "updated_at")), "work_version": val(rec, "version")}
            bad = check_name(label, what="item", limit=MAX_ITEM_NAME)
            norm = normalise(label)
            if bad is None and norm in seen and seen[norm] != wid:
                bad = collision_problem(label, what="item", other="Work item")
            body = item_body(rec, ctx.settings)
            if bad is not None:
                yield (fail(self.kind, rec, bad, entity="Item", label=label, fp=fingerprint(body)))
                continue
            seen[norm] = wid
            if unchanged(ctx, self.kind, wid, fingerprint(body)):
                continue
            if ctx.link(self.kind, wid) is None:
                found = qbo_items(ctx).get(norm)
                if found is not None and str(found.get("Id")) not in linked_qbo:
                    linked_qbo.add(str(found.get("Id")))
                    payload = {**body, "Id": str(found["Id"]), "SyncToken": found.get("SyncToken"), "sparse": True}
                    meta.update(fingerprint=fingerprint(body), origin="linked_by_name", after=body,
                                before={k: found.get(k) for k in ("Name", "UnitPrice", "Description", "Active")},
                                synced={"sent": body})
                    yield (Change(self.kind, wid, str(found["Id"]), "update",
                                          f"QuickBooks has an item named '{found.get('Name')}': updated",
                                          payload, entity="Item", label=label, meta=meta))
                    continue
            yield (write_change(ctx, kind=self.kind, entity="Item", work_id=wid, label=label, body=body,
                                        rec=rec, full_update=False, reason_create="new item",
                                        reason_update="item changed in Work"))


ACCOUNTS_CURSOR = "work.items.accounts"


def phase(ctx: RunContext) -> ItemsOut | None:
    if not ctx.settings.invoices:
        return None
    # Items post to the chosen accounts; when the choice changes, every item is read again so its
    # fingerprint (which includes the accounts) shows it needs an update.
    accounts = f"{ctx.settings.income_account}/{ctx.settings.expense_account}"
    used = ctx.cursor(ACCOUNTS_CURSOR)
    if used is not None and used != accounts:
        ctx.caches["reread.work.items"] = True
    if used != accounts:
        ctx.stage_cursor(ACCOUNTS_CURSOR, accounts)
    return ItemsOut()
