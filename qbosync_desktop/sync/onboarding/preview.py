"""Showing the onboarding preview: numbers per entity, the list behind each number, failures with fixes.

The :class:`~qbosync_desktop.sync.engine.Preview` itself (the planned changes of every phase) is the
engine's; this module turns it into what a person reads - the CLI's ``qbosync preview`` text and
JSON, and the rows of the wizard's preview page - so both say the same thing in the same words.

Why the vocabulary matters: the preview promises what Enable will do, and the run reports what it
did. :data:`ACTION_OUTCOME` maps each planned action to the outcome the run counts, so "10 to create
in Work" in the preview is "10 created in Work" afterwards, entity by entity (issue 7's done-when).
Skips are listed with their reason but are not promised numbers: a skip is the absence of a change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from qbosync_desktop.sync.clients import settle
from qbosync_desktop.sync.clients.fields import FIELDS, work_values
from qbosync_desktop.sync.clients.merge import equivalent, is_empty

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.engine import Preview
    from qbosync_desktop.sync.plan import Change

#: Planned action → the outcome a run counts for it (RunSummary.counts).
ACTION_OUTCOME: dict[str, str] = {
    "create": "created",
    "import": "imported",
    "link": "linked",
    "update": "updated",
    "void": "voided",
    "fail": "failed",
}

#: Phase names → what a person calls them, in pipeline order.
ENTITY_LABELS: dict[str, str] = {
    "customers": "Clients from QuickBooks",
    "clients": "Clients to QuickBooks",
    "sites": "Sites (onboarding only)",
    "items": "Items",
    "invoices": "Invoices",
    "credit_notes": "Credit notes",
    "payments": "Payments",
    "credit_applications": "Credits applied to invoices",
    "refunds": "Refunds",
    "vendors": "Contractors (vendors)",
    "bills": "Contractor bills",
}

#: Action → plain words, per direction. "import" creates in Work; "create" creates in QuickBooks.
ACTION_LABELS: dict[str, str] = {
    "create": "to create in QuickBooks",
    "import": "to create in Work",
    "link": "to link (already in both)",
    "update": "to update",
    "void": "to void in QuickBooks",
    "delete": "to delete in QuickBooks (voided in Work)",
    "fail": "will fail",
    "skip": "left as they are",
}
ACTION_ORDER = ("create", "import", "link", "update", "void", "delete", "fail", "skip")


def entity_label(name: str) -> str:
    return ENTITY_LABELS.get(name, name.replace("_", " ").capitalize())


def _row(ch: Change) -> dict[str, Any]:
    row: dict[str, Any] = ch.to_dict()
    if ch.problem is not None:
        row["message"] = ch.problem.message
        row["hint"] = ch.problem.hint
    return row


def summarise(preview: Preview) -> list[dict[str, Any]]:
    """One entry per entity: label, counts per action, and the records behind every number."""
    out = []
    for name, changes in preview.phases:
        by_action: dict[str, list[dict[str, Any]]] = {}
        for ch in changes:
            by_action.setdefault(ch.action, []).append(_row(ch))
        out.append({
            "entity": name,
            "label": entity_label(name),
            "counts": {a: len(by_action[a]) for a in ACTION_ORDER if a in by_action},
            "records": {a: by_action[a] for a in ACTION_ORDER if a in by_action},
        })
    return out


def existing_changes(preview: Preview) -> list[dict[str, Any]]:
    """Every existing QuickBooks record the sync would change (or links while keeping its values),
    with its fields before → after: ``[{entity, kind, qbo_id, work_id, label, action, kept, changes}]``.
    ``kept`` is True when the person chose to keep QuickBooks' values (the record is linked, not
    written)."""
    out = []
    for name, changes in preview.phases:
        for ch in changes:
            if ch.meta.get("changes") and ch.action in ("update", "link", "skip"):
                out.append({"entity": name, "kind": ch.kind, "qbo_id": ch.qbo_id, "work_id": ch.work_id,
                            "label": ch.label, "action": ch.action,
                            "kept": bool(ch.meta.get("kept")) or ch.action != "update",
                            "changes": ch.meta["changes"]})
    return out


def differing_clients(preview: Preview) -> list[dict[str, Any]]:
    """Matched clients whose fields differ between Work and QuickBooks (their first merge settles them
    by the Review answers): ``[{work_id, qbo_id, label, fields: [{field, work, quickbooks}], choice}]``;
    ``choice`` is the answer given for this very record (or None: the field groups' answers)."""
    answers = settle.stored()
    out = []
    for _name, changes in preview.phases:
        for ch in changes:
            client = ch.meta.get("client")
            if not ch.meta.get("first_merge") or client is None or ch.work_id is None:
                continue
            w_now, q_now = work_values(client), ch.meta.get("qbo_now") or {}
            fields = [{"field": f, "work": w_now.get(f), "quickbooks": q_now.get(f)} for f in FIELDS
                      if not equivalent(f, w_now.get(f), q_now.get(f))
                      and not is_empty(f, w_now.get(f)) and not is_empty(f, q_now.get(f))]
            if fields:
                out.append({"work_id": str(ch.work_id), "qbo_id": ch.qbo_id, "label": ch.label, "fields": fields,
                            "choice": settle.record_choice(str(ch.work_id), answers)})
    return out


def to_json(preview: Preview) -> dict[str, Any]:
    """The stable JSON shape of ``qbosync preview --json`` (documented in docs/two-way-sync.md)."""
    return {"counts": preview.counts(), "entities": summarise(preview), "existing": existing_changes(preview)}


def render_existing(preview: Preview) -> list[str]:
    """The text lines listing existing QuickBooks records the sync would change, before → after, in
    plain words (:func:`change_text`; accounts named by ``preview.account_names``)."""
    rows = existing_changes(preview)
    if not rows:
        return []
    lines = ["Existing QuickBooks records this would change (keep QuickBooks' values with "
             "'qbosync preview --keep-qbo KIND:ID'):"]
    for row in rows:
        state = "keeping QuickBooks' values" if row["kept"] else "will be changed"
        lines.append(f"  {row['kind']}:{row['qbo_id']} {row['label']} ({state})")
        for c in row["changes"]:
            lines.append(f"      {change_text(c, preview.account_names.get)}")
    return lines


#: QuickBooks field → the words a bookkeeper sees in QuickBooks' own forms
FIELD_WORDS = {
    "UnitPrice": "Price", "PurchaseCost": "Cost", "Description": "Description", "PurchaseDesc": "Purchase description",
    "IncomeAccountRef": "Income account", "ExpenseAccountRef": "Expense account", "AssetAccountRef": "Asset account",
    "Taxable": "Taxable", "Type": "Type", "Name": "Name", "DisplayName": "Name", "Active": "Active",
    "PrimaryEmailAddr": "Email", "PrimaryPhone": "Phone", "Mobile": "Mobile", "BillAddr": "Billing address",
    "ShipAddr": "Shipping address", "CompanyName": "Company", "GivenName": "First name", "FamilyName": "Last name",
    "Notes": "Notes", "SalesTermRef": "Terms",
}
#: fields holding an amount of money: shown with two decimals
MONEY_FIELDS = frozenset({"UnitPrice", "PurchaseCost"})


def change_text(change: Mapping[str, Any], name_of: Callable[[str], str | None] | None = None) -> str:
    """``Price: 120.00 → 89.00``, ``Expense account: (empty) → Cost of Goods Sold``: one field of an
    existing record, before → after, as a person reads it. ``name_of`` names an account by its Id
    (the settings' account list); without it, or for an account it doesn't know, the Id is said."""
    field = str(change.get("field"))
    return (f"{FIELD_WORDS.get(field, field)}: {_field_value(field, change.get('before'), name_of)} \u2192 "
            f"{_field_value(field, change.get('after'), name_of)}")


def _field_value(field: str, value: Any, name_of: Callable[[str], str | None] | None) -> str:
    if value in (None, ""):
        return "(empty)"
    if field.endswith("AccountRef"):
        named = name_of(str(value)) if name_of is not None else ""
        return named if named and named != str(value) else f"account {value}"
    if field in MONEY_FIELDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,.2f}"
    return value_text(value)


def value_text(v: Any) -> str:
    """A before/after value as a person reads it (an address on one line, empty as '(empty)')."""
    if isinstance(v, dict):
        return ", ".join(str(x) for x in v.values() if x) or "(empty)"
    return "(empty)" if v in (None, "") else str(v)


def _lines_for(rows: Iterable[dict[str, Any]], limit: int) -> list[str]:
    rows = list(rows)
    lines = []
    for row in rows[:limit]:
        label = row.get("label") or row.get("work_id") or row.get("qbo_id")
        reason = row.get("message") or row.get("reason") or ""
        lines.append(f"      - {label}" + (f": {reason}" if reason else ""))
        if row.get("hint"):
            lines.append(f"        What to do: {row['hint']}")
    if len(rows) > limit:
        lines.append(f"      ... and {len(rows) - limit} more (qbosync preview --json lists them all)")
    return lines


def render_text(preview: Preview, *, limit: int = 10, show: Iterable[str] = ("fail", "link", "import", "update")) -> str:
    """The preview as plain text: a line per entity with its numbers, then the records behind the
    numbers that need a look (failures with what to do, links, imports, updates)."""
    show = tuple(show)
    lines = ["What Enable will do (nothing has been written yet):"]
    for entry in summarise(preview):
        counts = entry["counts"]
        if not counts:
            lines.append(f"  {entry['label']}: nothing to do")
            continue
        parts = [f"{n} {ACTION_LABELS.get(a, a)}" for a, n in counts.items()]
        lines.append(f"  {entry['label']}: " + ", ".join(parts))
        for action in ACTION_ORDER:
            if action in show and action in entry["records"]:
                words = ACTION_LABELS.get(action, action)
                lines.append(f"    {words[:1].upper()}{words[1:]}:")
                lines += _lines_for(entry["records"][action], limit)
    lines += render_existing(preview)
    return "\n".join(lines)
