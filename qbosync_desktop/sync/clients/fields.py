"""The client fields both systems share, and how they map onto a Work client and a QuickBooks customer.

Why one canonical shape: the three-way merge (:mod:`merge`) compares a Work client, a QuickBooks
customer and the last synced values field by field, so both sides are first reduced to the same
names. Writes go back through :func:`work_patch` and :func:`qbo_patch`, which only touch the fields
that changed (a sparse QuickBooks update, a Work patch) so that nothing the sync does not own is
overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qbosync_desktop.connectors.work.models import Client
from qbosync_desktop.sync.rules.addresses import FIELDS as ADDRESS_FIELDS
from qbosync_desktop.sync.rules.addresses import Address, from_qbo, from_work, to_qbo, to_work

PERSON_FIELDS = ("name", "first_name", "last_name", "company_name", "email", "phone")
#: The address merges as ONE field: taking the city from one side and the street from the other
#: would invent an address nobody entered.
FIELDS: tuple[str, ...] = (*PERSON_FIELDS, "address", "active")
#: Work's limits (docs/work-api.md) — a longer QuickBooks value becomes a problem, never a truncation.
WORK_MAX = {"name": 255, "first_name": 100, "last_name": 100, "company_name": 255, "phone": 50}


def _s(value: object) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def work_values(client: Client) -> dict[str, Any]:
    """A Work client → canonical values (the keys of :data:`FIELDS`)."""
    return {
        "name": _s(client.name),
        "first_name": _s(client.first_name),
        "last_name": _s(client.last_name),
        "company_name": _s(client.company_name),
        "email": _s(client.email),
        "phone": _s(client.phone),
        "address": from_work(client.billing_address).as_dict(),
        "active": bool(client.active),
    }


def qbo_values(customer: Mapping[str, Any]) -> dict[str, Any]:
    """A QuickBooks customer → canonical values."""
    out: dict[str, Any] = {
        "name": _s(customer.get("DisplayName")),
        "first_name": _s(customer.get("GivenName")),
        "last_name": _s(customer.get("FamilyName")),
        "company_name": _s(customer.get("CompanyName")),
        "email": _s((customer.get("PrimaryEmailAddr") or {}).get("Address")),
        "phone": _s((customer.get("PrimaryPhone") or {}).get("FreeFormNumber")),
    }
    out["address"] = from_qbo(customer.get("BillAddr")).as_dict()
    active = customer.get("Active", True)
    out["active"] = True if active is None else bool(active)
    return out


def address_of(values: Mapping[str, Any]) -> Address:
    """The :class:`Address` inside canonical values (``values["address"]``)."""
    parts = values.get("address") or {}
    return Address(**{f: _s(parts.get(f)) for f in ADDRESS_FIELDS})


def work_patch(changes: Mapping[str, Any], current: Mapping[str, Any], address_field: str = "billing_address"
               ) -> dict[str, Any]:
    """Canonical changes → the fields of a Work client (site) patch.

    The address travels as one object (it also merges as one field).
    """
    out: dict[str, Any] = {}
    for f in PERSON_FIELDS:
        if f in changes and (address_field == "billing_address" or f == "name"):
            out[f] = _s(changes[f]) or None
    if "active" in changes:
        out["active"] = bool(changes["active"])
    if "address" in changes:
        addr = address_of(changes)
        out[address_field] = None if addr.is_empty() else to_work(addr)
    return out


def qbo_patch(changes: Mapping[str, Any], current: Mapping[str, Any], *, qbo_id: str, sync_token: str | None
              ) -> dict[str, Any]:
    """Canonical changes → a sparse QuickBooks customer update (only the changed fields).

    ``BillAddr`` is sent whole, because a sparse update replaces the nested address object rather
    than merging into it.
    """
    body: dict[str, Any] = {"Id": str(qbo_id), "SyncToken": str(sync_token or "0"), "sparse": True}
    simple = {"name": "DisplayName", "first_name": "GivenName", "last_name": "FamilyName", "company_name": "CompanyName"}
    for f, key in simple.items():
        if f in changes:
            body[key] = _s(changes[f])
    if "email" in changes:
        body["PrimaryEmailAddr"] = {"Address": _s(changes["email"])}
    if "phone" in changes:
        body["PrimaryPhone"] = {"FreeFormNumber": _s(changes["phone"])}
    if "active" in changes:
        body["Active"] = bool(changes["active"])
    if "address" in changes:
        body["BillAddr"] = to_qbo(address_of(changes))
    return body


def too_long(values: Mapping[str, Any]) -> str | None:
    """The first field longer than Work allows, or None."""
    for f, limit in WORK_MAX.items():
        if len(_s(values.get(f))) > limit:
            return f
    return None


def is_top_level(customer: Mapping[str, Any]) -> bool:
    """Sub-customers (``Job: true`` / ``ParentRef``) are Work sites, not clients."""
    return not customer.get("Job") and not customer.get("ParentRef")
