"""The "ask me" conflict list: what changed in both places, and the person's decision.

A conflict is recorded by the two-way customers phase when the same field of a linked client changed
differently in Work and in QuickBooks under the "ask me" policy; neither side is written for that
field until someone decides. :func:`resolve` records the decision only - it makes no request. The
next sync applies it through the normal three-way merge (the merge bases are set so that only the
kept side looks changed), so the write goes through the same paths as every other change: Work with
its version check, QuickBooks through the outbox, exactly once.

``SyncEngine.conflicts()`` and ``SyncEngine.resolve()`` delegate here.
"""

from __future__ import annotations

from typing import Any

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.sync import audit

KEEP_CHOICES = ("work", "quickbooks")
#: Plain names of the merged fields, for messages and the UI.
FIELD_LABELS = {
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "company_name": "Company name",
    "email": "Email",
    "phone": "Phone",
    "address": "Billing address",
    "active": "Active",
}


def describe(value: Any) -> str:
    """A conflict value as a person reads it (an address on one line, yes/no for switches)."""
    if isinstance(value, dict):
        parts = [value.get(k) for k in ("line1", "line2", "city", "state", "postal_code", "country")]
        return ", ".join(str(p) for p in parts if p) or "(empty)"
    if isinstance(value, bool):
        return "active" if value else "inactive"
    return str(value) if value not in (None, "") else "(empty)"


def conflict_dict(c: Conflict) -> dict[str, Any]:
    d = c.to_dict()
    d["field_label"] = FIELD_LABELS.get(c.field, c.field)
    d["work_text"] = describe(c.work_value)
    d["qbo_text"] = describe(c.qbo_value)
    return d


def open_conflicts(engine: Any = None) -> list[dict[str, Any]]:
    """Open conflicts, oldest first (the stable JSON shape of ``qbosync conflicts --json``)."""
    rows = Conflict.select().where(Conflict.state == "open").order_by(Conflict.id)
    return [conflict_dict(c) for c in rows]


def open_count() -> int:
    """How many changes wait for the person's decision (every run summary reports it)."""
    return Conflict.select().where(Conflict.state == "open").count()


def waiting_text(count: int) -> str:
    """The status line's words for open conflicts ("3 changes wait for your decision"), or ""."""
    if count <= 0:
        return ""
    return f"{count} change{'s' if count != 1 else ''} wait{'s' if count == 1 else ''} for your decision"


def resolve(engine: Any, conflict_id: int, keep: str) -> dict[str, Any]:
    """Decide one open conflict: keep the Work value or the QuickBooks value. Applied by the next sync."""
    if keep not in KEEP_CHOICES:
        raise ConfigurationError(
            f"'{keep}' is not a choice: keep 'work' or 'quickbooks'.",
            hint="Run 'qbosync resolve ID --keep work' or '--keep quickbooks'.",
            field="keep",
        )
    with database.atomic():
        c = Conflict.get_or_none(Conflict.id == int(conflict_id))
        if c is None or c.state != "open":
            raise ConfigurationError(
                f"There is no open conflict number {conflict_id}.",
                hint="Run 'qbosync conflicts' to see the open conflicts and their numbers.",
                field="conflict",
            )
        c.state, c.resolution, c.resolved_at = "resolved", keep, utcnow()
        c.save()
        kept = c.work_value if keep == "work" else c.qbo_value
        audit.record("resolve", c.kind, c.work_id, c.qbo_id, run_id=None,
                     before={"work": c.work_value, "quickbooks": c.qbo_value}, after={c.field: kept},
                     message=f"{FIELD_LABELS.get(c.field, c.field)}: keep the "
                             f"{'Work' if keep == 'work' else 'QuickBooks'} value (applied by the next sync)")
    return conflict_dict(c)
