"""Undo a sync run (issue 15 part 2), over real HTTP against the practice servers.

Everything QuickBooks holds is read back through its REST API (the connector's queries), never from
our store: a snapshot before Enable, and the same read after the undo.
"""

from __future__ import annotations

from typing import Any

import pytest

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.store.models.undo import UndoHold
from qbosync_desktop.sync import undo

ENTITIES = ("Customer", "Vendor", "Item", "Account", "Term", "TaxCode", "TaxRate", "Invoice", "Payment", "Bill",
            "CreditMemo", "RefundReceipt")
NAMES = ("Customer", "Vendor", "Item")
VOLATILE = ("MetaData", "SyncToken", "domain", "sparse")


def snapshot(qbo: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record of every entity type, read over QuickBooks' REST API (inactive names too)."""
    out = {}
    for entity in ENTITIES:
        where = "Active IN (true, false)" if entity in (*NAMES, "Account", "Term", "TaxCode", "TaxRate") else None
        for row in qbo.query(entity, where=where, order_by="Id"):
            out[(entity, str(row["Id"]))] = {k: v for k, v in row.items() if k not in VOLATILE}
    return out


def compare(before: dict, after: dict) -> list[str]:
    """Differences, allowing only names that did not exist before and are now inactive."""
    diffs = []
    for key, row in after.items():
        if key not in before:
            if key[0] in NAMES and row.get("Active") is False:
                continue
            diffs.append(f"new {key}: {row.get('DisplayName') or row.get('Name') or row.get('DocNumber')}")
        elif row != before[key]:
            changed = sorted(k for k in set(row) | set(before[key]) if row.get(k) != before[key].get(k))
            diffs.append(f"changed {key}: " + ", ".join(f"{k} {before[key].get(k)!r} -> {row.get(k)!r}" for k in changed))
    diffs += [f"gone {key}" for key in before if key not in after]
    return diffs


def _enable(engine):
    s = engine.run(initial=True)
    assert s.state == "done", s.error
    return s


def test_undo_of_enable_leaves_quickbooks_as_it_was(engine, configured_workspace, practice):
    qbo = configured_workspace.qbo_client()
    before = snapshot(qbo)
    summary = _enable(engine)
    assert not compare(before, snapshot(qbo)) == [], "the Enable run changed nothing in QuickBooks?"
    writes = OutboxEntry.select().where((OutboxEntry.run_id == summary.run_id) & (OutboxEntry.state == "done"))
    assert writes.count() > 5

    plan = undo.preview(engine, summary.run_id)
    assert plan.writes and not plan.blocked, [s.to_dict() for s in plan.blocked]
    kinds = {(s.action, s.entity) for s in plan.writes}
    assert ("delete", "Invoice") in kinds and ("deactivate", "Customer") in kinds, kinds
    # the dry run wrote nothing
    assert not compare(before, snapshot(qbo)) == []

    result = undo.undo(engine, summary.run_id, mode=undo.SYNC)
    assert result.state == "done" and not result.failed, result.to_dict()
    assert compare(before, snapshot(qbo)) == []
    run = Run.get_by_id(result.run_id)
    assert run.kind == "undo" and run.state == "done"
    assert AuditEntry.select().where((AuditEntry.run_id == run.id) & (AuditEntry.action == "undo")).count() == len(
        plan.writes) + len([s for s in plan.steps if s.side == "local"])
    # links of deleted transactions are gone
    assert not Link.select().where(Link.kind.in_(("invoice", "payment", "bill"))
                                   & (Link.origin == "created")).exists()
    # a second undo finds nothing left to write
    again = undo.preview(engine, summary.run_id)
    assert not again.writes and again.already_undone > 0
