"""The outboxes: QuickBooks writes (``OutboxEntry`` in a ``Batch``) and Work writes (``WorkWrite``).

``OutboxEntry`` and ``Batch`` are the exactly-once mechanism: the intent, the exact payload, the
batch composition and the ``requestid`` are committed *before* anything is sent. After a crash or a
lost response the same request is replayed with the same ``requestid``; QBO answers a repeated
``requestid`` with the original response, so nothing is written twice. ``WorkWrite`` does the same
for the Work side with an ``Idempotency-Key``.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField, utcnow


class Batch(BaseModel):
    """One QBO request (a ``/batch`` of ≤ 30 operations, or a single write).

    ``composition`` is the ordered list ``[[bId, outbox_id], ...]``; a replay rebuilds exactly this
    request from the outbox rows, because QBO only returns the original response for a repeated
    ``requestid`` when the request is the same one.
    """

    id = peewee.AutoField()
    requestid = peewee.CharField(unique=True, max_length=50)
    run_id = peewee.IntegerField(null=True)
    composition = JSONField()
    #: single | batch
    mode = peewee.CharField(default="batch")
    #: pending (committed, maybe not sent) | sent | done
    state = peewee.CharField(default="pending", index=True)
    attempts = peewee.IntegerField(default=0)
    created_at = peewee.DateTimeField(default=utcnow)
    done_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "sync_batch"



class OutboxEntry(BaseModel):
    """One intended QBO write, persisted before it is sent.

    ``meta`` carries what applying the response needs (fingerprint, Work version, link origin, the
    audit before/after and message) so a replay after a crash can finish the job without the run that
    planned it.
    """

    id = peewee.AutoField()
    run_id = peewee.IntegerField(null=True)
    kind = peewee.CharField()
    work_id = peewee.CharField(null=True)
    #: create | update | void | delete
    operation = peewee.CharField()
    entity = peewee.CharField()
    payload = JSONField()
    requestid = peewee.CharField(unique=True, max_length=50)
    batch_id = peewee.IntegerField(null=True, index=True)
    batch_position = peewee.IntegerField(null=True)
    #: pending | sent | done | failed | stale (5010, re-read pending) | deferred (two-way: left to the
    #: next merge because QuickBooks changed the fields meanwhile; see sync/stale.py)
    state = peewee.CharField(default="pending", index=True)
    attempts = peewee.IntegerField(default=0)
    last_error = JSONField(null=True)
    meta = JSONField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    done_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "sync_outbox"



class WorkWrite(BaseModel):
    """A write to Work persisted before it is sent (the Work side of the outbox).

    Why: importing a QuickBooks customer creates a Work client; if the process dies after Work
    created it but before the link committed, a plain retry would create a second client. The body
    and its ``Idempotency-Key`` are committed first; the next run re-sends the *same* request, which
    the Work API answers with the original record (``Idempotent-Replayed``), and links that.
    """

    id = peewee.AutoField()
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
