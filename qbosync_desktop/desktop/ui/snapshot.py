"""Everything the integration window shows, read from the database in one go, off the GUI thread.

The window never queries the database itself: a refresh calls :func:`load_snapshot` on a background
thread and renders the plain data it returns. Reading all panels at once (connection, settings,
problems, conflicts, runs, recent activity) keeps them consistent with each other — the Problems tab
never disagrees with the tray's count because they came from different moments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.runs import Cursor, Run
from qbosync_desktop.sync import problems as problems_mod
from qbosync_desktop.sync import undo as undo_mod
from qbosync_desktop.sync.rules.settings import COUNTRY_CURSOR, SyncSettings, kept_country

#: How much history the window shows; the CSV export has everything.
RUN_LIMIT = 100
AUDIT_LIMIT = 2000


@dataclass
class Snapshot:
    connection: dict[str, Any] | None = None
    settings: SyncSettings = field(default_factory=SyncSettings)
    concept_names: dict[str, str] = field(default_factory=dict)  # concept -> account name
    account_names: dict[str, str] = field(default_factory=dict)  # account id -> name, as saved with the settings
    matches: list[dict[str, Any]] = field(default_factory=list)  # match review proposals, best first
    problems: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    #: the company's country as the last sync kept it (None: not known); outlives Disconnect
    country: str | None = None
    #: records held after an undo (syncs skip them until released): sync/undo.py ``holds``
    holds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def company_name(self) -> str:
        c = self.connection or {}
        return c.get("company_name") or c.get("realm_id") or ""

    @property
    def state(self) -> str:
        return (self.connection or {}).get("state") or "disconnected"

    @property
    def last_run(self) -> dict[str, Any] | None:
        finished = [r for r in self.runs if r.get("state") != "running"]
        return finished[0] if finished else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _conflict_dict(c: Any) -> dict[str, Any]:
    if isinstance(c, dict):
        return c
    to_dict = getattr(c, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return {k: getattr(c, k, None) for k in ("id", "kind", "work_id", "qbo_id", "label", "field", "work_value",
                                             "qbo_value", "base_value", "state")}


def load_snapshot(workspace: Any) -> Snapshot:
    """Read the window's data. Call on a worker thread (it is database work)."""
    conn = workspace.connection
    snap = Snapshot(connection=conn.to_dict() if conn is not None else None, settings=workspace.settings())
    if conn is not None and snap.connection is not None:
        snap.connection["api_base"] = conn.api_base  # where "Open in QuickBooks" points for the practice company
    cursor = Cursor.get_or_none(Cursor.name == COUNTRY_CURSOR)
    snap.country = kept_country(cursor.value if cursor is not None else None, conn.realm_id if conn else None)
    snap.concept_names = {name: (m.account_name or m.account_id) for name, m in workspace.concept_mappings().items()}
    snap.account_names = workspace.account_names()
    snap.matches = stored_matches()
    snap.problems = problems_mod.open_problems()
    snap.conflicts = open_conflicts()
    for r in Run.select().order_by(Run.id.desc()).limit(RUN_LIMIT):
        seconds = (r.finished_at - r.started_at).total_seconds() if r.finished_at and r.started_at else None
        snap.runs.append({"id": r.id, "kind": r.kind, "state": r.state, "started_at": r.started_at,
                          "finished_at": r.finished_at, "seconds": seconds, "counts": r.counts or {},
                          "skips": r.skips or {}, "qbo_requests": r.qbo_requests, "error": r.error})
    snap.holds = undo_mod.holds()
    for e in AuditEntry.select().order_by(AuditEntry.id.desc()).limit(AUDIT_LIMIT):
        snap.audit.append({"id": e.id, "run_id": e.run_id, "at": e.at, "action": e.action, "kind": e.kind,
                           "work_id": e.work_id, "qbo_id": e.qbo_id, "message": e.message or "",
                           "before": e.before, "after": e.after})
    return snap


def stored_matches() -> list[dict[str, Any]]:
    """Every stored match proposal (waiting ones first, then best first); no reading of either system."""
    from qbosync_desktop.sync.onboarding.review import stored

    rows = [m.to_dict() for m in stored()]
    return sorted(rows, key=lambda m: (m["state"] != "proposed", m["kind"], -int(m["score"] or 0), m["id"]))


def open_conflicts() -> list[dict[str, Any]]:
    """Open field conflicts (the two-way client sync's), oldest first."""
    return [_conflict_dict(c) for c in Conflict.select().where(Conflict.state == "open").order_by(Conflict.id)]
