"""Applying the answer to one undo write, inside the outbox's transaction (see :mod:`.undo`).

The outbox calls :func:`applied` for an entry whose ``meta`` carries ``"undo"``: instead of upserting
a link (a sync write's answer), the reversed record's link is removed (a deleted transaction) or kept
and marked for the next sync (a name made inactive, an update put back), the audit row it reverses is
marked done (:class:`UndoneWrite`, so a re-run plans only what is left) and, when the person chose
"undo and hold", the record is held (:class:`UndoHold`). Lives apart from :mod:`.undo` so the outbox,
which every run's replay uses, needs nothing of the planner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.store.models.undo import UndoHold, UndoneWrite

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

#: the cursor row listing the Work ids of site links flagged ``reactivate`` (a JSON list), so a sync
#: with nothing to do reads one cursor row by name and no link (sync/flows/sites.py SitesReactivate)
REACTIVATE_CURSOR = "undo.reactivate_sites"


def reactivation_ids() -> list[str]:
    row = Cursor.get_or_none(Cursor.name == REACTIVATE_CURSOR)
    return list(json.loads(row.value)) if row is not None and row.value else []


def set_reactivation_ids(ids: list[str]) -> None:
    """Call inside a transaction."""
    if ids:
        Cursor.insert(name=REACTIVATE_CURSOR, value=json.dumps(sorted(set(ids))),
                      updated_at=utcnow()).on_conflict_replace().execute()
    else:
        Cursor.delete().where(Cursor.name == REACTIVATE_CURSOR).execute()


#: what an undo write does to the link of its record
REMOVE = "remove"
KEEP = "keep"


def is_undo(entry: OutboxEntry) -> bool:
    return bool((entry.meta or {}).get("undo"))


def finish(info: dict[str, Any], *, kind: str, work_id: str | None, qbo_id: str | None, outcome: str,
           sync_token: str | None = None) -> None:
    """Record one reversed audit row (call inside the transaction that applies the answer)."""
    wid = str(work_id) if work_id is not None else None
    if wid is not None:
        link = Link.get_or_none((Link.kind == kind) & (Link.work_id == wid))
        if link is not None:
            if info.get("link") == REMOVE:
                link.delete_instance()
            else:
                # Kept, but no longer "in step": the next sync looks at it again (and, unless it is
                # held, sends Work's values again).
                link.fingerprint = None
                if sync_token is not None and not info.get("resync"):
                    # "sync again" keeps the old token on purpose: the next sync then sees QuickBooks'
                    # record as changed and merges it (an update with it meets 5010 and is re-read).
                    link.qbo_sync_token = sync_token
                if info.get("reactivate"):
                    # a sub-customer made inactive, "sync again": sites sync only at onboarding, so a
                    # later run's sites phase makes it active again (sync/flows/sites.py)
                    link.synced = {**(link.synced or {}), "reactivate": info["reactivate"]}
                    set_reactivation_ids([*reactivation_ids(), wid])
                twoway = info.get("twoway")
                if twoway:
                    synced = dict(link.synced or {})
                    tw = dict(synced.get("twoway") or {})
                    for side, values in twoway.items():
                        tw[side] = {**(tw.get(side) or {}), **values}
                    synced["twoway"] = tw
                    link.synced = synced
                link.updated_at = utcnow()
                link.save()
        reason = info.get("hold")
        if reason and not UndoHold.select().where((UndoHold.kind == kind) & (UndoHold.work_id == wid)
                                                  & (UndoHold.state == "held")).exists():
            UndoHold.create(kind=kind, work_id=wid, qbo_id=qbo_id, run_id=int(info["run_id"]),
                            undo_run_id=info.get("undo_run_id"), reason=str(reason))
    for audit_id in info.get("audit_ids") or [info["audit_id"]]:
        if not UndoneWrite.select().where(UndoneWrite.audit_id == int(audit_id)).exists():
            UndoneWrite.create(audit_id=int(audit_id), undo_run_id=info.get("undo_run_id"), outcome=outcome)


def applied(entry: OutboxEntry, obj: dict[str, Any]) -> None:
    """The outbox's hook for a successful undo write."""
    meta = entry.meta or {}
    token = obj.get("SyncToken")
    finish(meta["undo"], kind=entry.kind, work_id=entry.work_id, qbo_id=meta.get("qbo_id"),
           outcome=str(meta.get("outcome", entry.operation)), sync_token=str(token) if token is not None else None)


@dataclass
class _Held:
    by_kind: dict[str, dict[str, str]] | None = None


def held(ctx: RunContext, kind: str) -> dict[str, str]:
    """Records held after an undo, of one kind: work id → the reason (read once per run)."""
    st = ctx.flow_state(_Held)
    if st.by_kind is None:
        st.by_kind = {}
        for h in UndoHold.select().where(UndoHold.state == "held"):
            st.by_kind.setdefault(h.kind, {})[h.work_id] = (
                f"held after undo of sync run {h.run_id}: {h.reason} (release it with 'qbosync undo --release {h.run_id}')")
    return st.by_kind.get(kind, {})
