"""A stale SyncToken (QuickBooks error 5010) on a two-way customer update: send again, or defer.

5010 means someone changed the record in QuickBooks after this run read it. For the one-way writes
(invoices, payments, bills, items) Work owns what is sent, so the outbox re-reads the record and
sends the same body with the current SyncToken.

A customer update is different: the two-way merge decided to send Work's value of a field *because
QuickBooks had not changed it* (or because the conflict policy said so, knowing QuickBooks' value at
the read). If the person changed a field we write in the meantime, re-sending would overwrite their
edit without the conflict policy ever seeing it. So, after the re-read:

* none of the fields the update writes changed in QuickBooks since the sync read them → the same
  sparse update is safe to send with the current SyncToken (a new outbox entry and requestid);
* any of them changed → nothing is sent. The outbox entry is marked ``deferred`` and, for the
  customers phase's merged writes, the link's merge bases of those fields go back to what the merge
  started from, so the next merge of the pair sees both sides' changes and applies the policy (ask
  me → a conflict; Work wins → Work's value; QuickBooks wins → QuickBooks' value, written to Work).

The outbound ``clients`` phase's updates (a linked client Work changed after the merge read it) carry
every Work-owned field, so for them every shared field counts, compared with the link's ``qbo_seen``;
they never moved the bases, so a deferral leaves those alone.

Either way the link is flagged ``recheck`` (in ``Link.synced["twoway"]``) so the next merge looks at
the pair even if neither side's change feed reports it again: the person's concurrent edit, of the
fields we write or any other shared field, must reach the merge (and Work) instead of being taken
for our own write. The engine's read-back of the run's customer writes (``_settle_customers``)
usually does that within the same run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from peewee import SQL

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import RECHECK_PATH, RECHECK_SQL, Link
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.sync import audit
from qbosync_desktop.sync.clients.conflicts import FIELD_LABELS
from qbosync_desktop.sync.clients.fields import FIELDS, qbo_values
from qbosync_desktop.sync.clients.merge import equivalent

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

#: The outbox entry meta key the customers phase writes for a merged update (see ``governs``).
META_KEY = "twoway"
#: Link.synced["twoway"] flag: a concurrent QuickBooks edit the merge has not seen yet.
RECHECK = "recheck"
assert f"$.{META_KEY}.{RECHECK}" == RECHECK_PATH  # the store's partial index finds the flagged links
#: The run's count and the Observer outcome of a deferred write.
OUTCOME = "deferred"


class ChangedMeanwhile(QboSyncError):
    """Stored as the deferred entry's ``last_error`` (not a problem: the next merge settles it)."""

    title = "Changed in QuickBooks during the sync"
    hint = ("Nothing to do. The next sync merges both changes; with \u201cAsk me\u201d it lists the field "
            "under Conflicts for you to choose which value to keep.")


#: Phases whose Customer updates carry Work-owned fields of a two-way client.
PHASES = ("customers", "clients")


def governs(entry: OutboxEntry) -> bool:
    """Is this a sparse update of a customer whose fields the two-way merge governs?

    That is every Customer update of the ``customers`` phase (its own merged writes, marked with
    ``meta["twoway"]``; entries persisted by an older version are recognised by their phase) and of
    the outbound ``clients`` phase, which pushes a linked client's Work-owned fields when Work
    changed after the merge read it."""
    meta = entry.meta or {}
    if entry.operation != "update" or entry.entity != "Customer":
        return False
    return META_KEY in meta or meta.get("phase") in PHASES


def _mark(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Which fields the update writes, what the sync believed QuickBooks held for them, and (for
    merged writes, which move the link's bases before sending) the bases to put back."""
    if META_KEY in meta:
        return {**dict(meta[META_KEY]), "restore": True}
    if meta.get("phase") == "customers":  # persisted before the mark existed: its audit before/after
        return {"fields": sorted((meta.get("after") or {}).keys()), "seen": dict(meta.get("before") or {}),
                "base_work": None, "base_qbo": None, "restore": True}
    # The outbound clients phase: its body carries every Work-owned field it has a value for, and a
    # field it has none for (an email only QuickBooks has) is shared too - so all of them count.
    # QuickBooks as the sync last saw it is the link's qbo_seen, else what was last sent.
    tw = ((meta.get("synced") or {}).get("twoway") or {})
    seen = tw.get("qbo_seen")
    if seen is None and meta.get("before"):
        seen = qbo_values(meta["before"])
    return {"fields": list(FIELDS), "seen": seen, "restore": False}


def changed_fields(meta: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The fields this update writes that QuickBooks changed since the sync read them.

    Compared as the merge compares (equivalent values - case, spacing, phone punctuation - are not a
    change), against the values the merge decided on: a QuickBooks change the merge already saw and
    the policy already ruled on is not news. Nothing known to compare with → all count as changed."""
    mark = _mark(meta)
    now = qbo_values(current)
    seen = mark.get("seen")
    if seen is None:
        return [f for f in mark["fields"] if f in FIELDS]
    return [f for f in mark["fields"] if f in FIELDS and not equivalent(f, now.get(f), seen.get(f))]


def retry_meta(meta: dict[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Meta for re-sending a merged update: the link stored on success keeps QuickBooks' values as
    re-read (plus ours) and the ``recheck`` flag, so the concurrent edit of *other* fields is merged
    (and reaches Work) instead of hiding behind the SyncToken of our own write."""
    meta = dict(meta)
    if not _mark(meta)["restore"]:
        # An outbound push re-sent because QuickBooks changed no shared field: nothing to merge.
        return meta
    synced = dict(meta.get("synced") or {})
    tw = dict(synced.get("twoway") or {})
    written = {f: v for f, v in (meta.get("after") or {}).items() if f in FIELDS}
    tw["qbo_seen"] = {**qbo_values(current), **written}
    tw[RECHECK] = True
    synced["twoway"] = tw
    meta["synced"] = synced
    return meta


def _fields_text(fields: list[str]) -> str:
    """"the phone", "the phone and email", "the name, phone and email"."""
    words = [_WORDS.get(f) or FIELD_LABELS.get(f, f).lower() for f in fields]
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return "the " + text


_WORDS = {"active": "active status"}


def defer(ctx: RunContext, entry: OutboxEntry, current: Mapping[str, Any], changed: list[str]) -> None:
    """Do not send: mark the entry deferred, put the link's bases of the written fields back to what
    the merge started from, flag the pair for the next merge, audit and report it. One transaction."""
    meta = entry.meta or {}
    mark = _mark(meta)
    label = meta.get("label") or "this customer"
    fields = changed or [f for f in mark["fields"] if f in FIELDS]
    later = "Both changes are merged when the sync reads this customer again (by the next sync at the latest)."
    if changed:
        message = (f"QuickBooks changed {_fields_text(changed)} of \u201c{label}\u201d while the sync was running, so "
                   f"the sync did not overwrite it. {later}")
    else:  # a second 5010 in a row: someone is editing the customer right now
        message = (f"\u201c{label}\u201d kept changing in QuickBooks while the sync was sending its change, so the sync "
                   f"did not send it. {later}")
    err = ChangedMeanwhile(message, details={"fields": fields, "code": "5010"})
    phase = meta.get("phase", entry.kind)
    link = None
    with database.atomic():
        entry.state, entry.last_error = OUTCOME, err.to_dict()
        OutboxEntry.update(state=OUTCOME, last_error=entry.last_error, done_at=utcnow()).where(
            OutboxEntry.id == entry.id).execute()
        if entry.work_id is not None:
            link = Link.get_or_none((Link.kind == entry.kind) & (Link.work_id == entry.work_id))
        if link is not None:
            synced = dict(link.synced or {})
            tw = dict(synced.get("twoway") or {})
            if mark["restore"]:
                # The customers phase moved these bases before sending (see _apply_merge): put them back
                # so the next merge sees Work's change as a change again, next to QuickBooks' one.
                bases = {"work": dict(tw.get("work") or {}), "qbo": dict(tw.get("qbo") or {})}
                for side, used in (("work", mark.get("base_work")), ("qbo", mark.get("base_qbo"))):
                    for f in mark["fields"]:
                        if used is not None and f in used:
                            bases[side][f] = used[f]
                        else:  # the merge had no base for it: the next one uses its no-base rule again
                            bases[side].pop(f, None)
                tw.update(bases)
            tw["qbo_seen"] = qbo_values(current)
            tw[RECHECK] = True
            synced["twoway"] = tw
            link.synced = synced
            if current.get("SyncToken") is not None:
                link.qbo_sync_token = str(current["SyncToken"])
            link.updated_at = utcnow()
            link.save()
        ours = meta.get("after") or qbo_values(entry.payload or {})
        now = qbo_values(current)
        audit.record(OUTCOME, entry.kind, entry.work_id, (entry.payload or {}).get("Id"), run_id=ctx.run_id,
                     before={f: (mark.get("seen") or {}).get(f) for f in fields},
                     after={"quickbooks": {f: now.get(f) for f in fields}, "not_sent": {f: ours.get(f) for f in fields}},
                     message=message)
    if link is not None:
        ctx.remember_link(link)
    ctx.count(phase, OUTCOME)
    ctx.observer.record(phase, entry.work_id, OUTCOME, message)


class TwoWayCustomerUpdates:
    """This module as the outbox's stale-token policy (:class:`~qbosync_desktop.sync.plan.StalePolicy`)
    for two-way customer updates; the pipeline registers :data:`POLICY`."""

    def governs(self, entry: OutboxEntry) -> bool:
        return governs(entry)

    def resend_meta(self, ctx: RunContext, entry: OutboxEntry, meta: dict[str, Any],
                    current: Mapping[str, Any]) -> dict[str, Any] | None:
        """Re-send only when QuickBooks changed none of the written fields meanwhile, and not twice
        in a row (someone is editing the customer right now); else defer to the next merge."""
        changed = changed_fields(meta, current)
        if changed or meta.get("stale_retry"):
            defer(ctx, entry, current, changed)
            return None
        return retry_meta(meta, current)


POLICY = TwoWayCustomerUpdates()


def flagged_for_recheck(kind: str) -> dict[str, Link]:
    """Links of ``kind`` whose ``synced`` holds the recheck flag, by Work id: one query on a partial
    index (schema version 102), so the customers phase does not read every link to find the few."""
    return {lk.work_id: lk for lk in Link.select().where((Link.kind == kind) & SQL(RECHECK_SQL))}
