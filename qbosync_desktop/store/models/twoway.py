"""The two-way/onboarding tables: match proposals and field conflicts.

Schema versions 100-199 belong to this module (see :mod:`qbosync_desktop.store.migrations`).

* ``MatchProposal`` - a proposed link between an existing QuickBooks customer/vendor and a Work
  client/contractor, shown in match review before the first sync. At most one *accepted* proposal
  per QuickBooks record and per Work record (partial unique indexes), because a QuickBooks customer
  linked to two Work clients would receive both clients' edits.
* ``WorkWrite`` - a Work create persisted before it is sent, so a crash never duplicates it.
* ``Conflict`` - one field changed differently on both sides under the "ask me" policy. At most one
  *open* conflict per (kind, work_id, field): a record that stays in conflict across runs updates
  its row instead of piling up new ones the user has to answer one by one.

The per-side merge bases live in ``Link.synced`` (engine tables), as ``{"work": {...}, "qbo": {...}}``.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.migrations import step
from qbosync_desktop.store.models.sync import JSONField, SyncModel, utcnow


class MatchProposal(SyncModel):
    #: client | vendor (the Work kind; the QuickBooks entity is Customer | Vendor)
    kind = peewee.CharField()
    work_id = peewee.CharField()
    qbo_id = peewee.CharField()
    work_name = peewee.TextField(default="")
    qbo_name = peewee.TextField(default="")
    score = peewee.IntegerField()
    reason = peewee.TextField()
    exact = peewee.BooleanField(default=False)
    #: proposed | accepted | rejected
    state = peewee.CharField(default="proposed", index=True)
    #: auto (pre-accepted exact match) | user
    decided_by = peewee.CharField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    decided_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "twoway_match"
        indexes = ((("kind", "work_id", "qbo_id"), True),)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "work_id": self.work_id,
            "qbo_id": self.qbo_id,
            "work_name": self.work_name,
            "qbo_name": self.qbo_name,
            "score": self.score,
            "reason": self.reason,
            "exact": self.exact,
            "state": self.state,
            "decided_by": self.decided_by,
        }


class Conflict(SyncModel):
    kind = peewee.CharField()
    work_id = peewee.CharField()
    qbo_id = peewee.CharField(null=True)
    label = peewee.TextField(default="")
    field = peewee.CharField()
    work_value = JSONField(null=True)
    qbo_value = JSONField(null=True)
    base_value = JSONField(null=True)
    #: open | resolved
    state = peewee.CharField(default="open", index=True)
    #: work | quickbooks (which side's value was kept)
    resolution = peewee.CharField(null=True)
    first_seen_run = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    resolved_at = peewee.DateTimeField(null=True)
    #: set when the sync after the decision has written the kept value to the other side
    applied_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "twoway_conflict"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "work_id": self.work_id,
            "qbo_id": self.qbo_id,
            "label": self.label,
            "field": self.field,
            "work_value": self.work_value,
            "qbo_value": self.qbo_value,
            "base_value": self.base_value,
            "state": self.state,
            "resolution": self.resolution,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


class WorkWrite(SyncModel):
    """A write to Work persisted before it is sent (the Work side of the outbox).

    Why: importing a QuickBooks customer creates a Work client; if the process dies after Work
    created it but before the link committed, a plain retry would create a second client. The body
    and its ``Idempotency-Key`` are committed first; the next run re-sends the *same* request, which
    the Work API answers with the original record (``Idempotent-Replayed``), and links that.
    """

    #: client | site
    kind = peewee.CharField()
    qbo_id = peewee.CharField()
    #: create (updates carry a version check instead: a stale one is simply re-merged)
    operation = peewee.CharField(default="create")
    body = JSONField()
    idempotency_key = peewee.CharField(unique=True)
    #: what applying the answer needs (link origin, merge bases, parent ids)
    meta = JSONField(null=True)
    #: pending | done | failed
    state = peewee.CharField(default="pending", index=True)
    work_id = peewee.CharField(null=True)
    run_id = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    done_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "twoway_work_write"


TWOWAY_MODELS = [MatchProposal, Conflict, WorkWrite]


@step(100)
def _v100_twoway_tables(db: peewee.Database) -> None:
    db.create_tables(TWOWAY_MODELS, safe=True)
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS twoway_match_one_accepted_qbo ON twoway_match (kind, qbo_id) "
        "WHERE state = 'accepted'"
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS twoway_match_one_accepted_work ON twoway_match (kind, work_id) "
        "WHERE state = 'accepted'"
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS twoway_conflict_one_open ON twoway_conflict (kind, work_id, field) "
        "WHERE state = 'open'"
    )
