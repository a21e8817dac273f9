"""The sync engine's tables: links, outbox, batches, cursors, runs, problems and the audit log.

Schema versions 10-99 belong to this module (see :mod:`qbosync_desktop.store.migrations`).

Why these tables exist:

* ``Link`` binds one Work record to one QBO record. Both directions are unique, because QBO's
  DisplayName rule means one QBO customer can only ever stand for one Work client: a second link to
  the same QBO id would make two Work clients overwrite each other.
* ``OutboxEntry`` and ``Batch`` are the exactly-once mechanism: the intent, the exact payload, the
  batch composition and the ``requestid`` are committed *before* anything is sent. After a crash or a
  lost response the same request is replayed with the same ``requestid``; QBO answers a repeated
  ``requestid`` with the original response, so nothing is written twice.
* ``Cursor`` holds Work ``updated_since`` watermarks (and E's CDC timestamp). A cursor only moves after
  everything it covers is committed, so a crash re-reads rather than skips.
* ``Problem``: at most one *open* problem per (kind, work_id) - a partial unique index enforces it,
  because a record that fails on every run must not pile up rows the user has to dismiss one by one.
* ``AuditEntry``: every create / update / link / skip / void with before and after values.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import peewee

from qbosync_desktop.store.db import database
from qbosync_desktop.store.migrations import step


def utcnow() -> _dt.datetime:
    """Naive UTC timestamps everywhere in the store (SQLite has no time zones)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


class JSONField(peewee.TextField):
    """JSON text column; ``None`` stays NULL. Keys are sorted so equal values compare equal as text."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.loads(value)


class SyncModel(peewee.Model):
    class Meta:
        database = database


# Kinds of linked records. Work entity names, so problems and audit rows read naturally.
KINDS = ("client", "site", "item", "invoice", "payment", "vendor", "bill")


class Link(SyncModel):
    """One Work record ⇄ one QBO record.

    ``synced`` keeps the field values last written/read on both sides (E uses it as the merge base of
    the two-way client sync); ``fingerprint`` is a hash of the payload last sent, so an unchanged Work
    record costs no QBO request at all.
    """

    kind = peewee.CharField()
    work_id = peewee.CharField()
    qbo_id = peewee.CharField()
    qbo_sync_token = peewee.CharField(null=True)
    work_version = peewee.CharField(null=True)
    fingerprint = peewee.CharField(null=True)
    #: created | matched | imported | linked_by_name
    origin = peewee.CharField(default="created")
    synced = JSONField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sync_link"
        indexes = ((("kind", "work_id"), True), (("kind", "qbo_id"), True))


class Batch(SyncModel):
    """One QBO request (a ``/batch`` of ≤ 30 operations, or a single write).

    ``composition`` is the ordered list ``[[bId, outbox_id], ...]``; a replay rebuilds exactly this
    request from the outbox rows, because QBO only returns the original response for a repeated
    ``requestid`` when the request is the same one.
    """

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


class OutboxEntry(SyncModel):
    """One intended QBO write, persisted before it is sent.

    ``meta`` carries what applying the response needs (fingerprint, Work version, link origin, the
    audit before/after and message) so a replay after a crash can finish the job without the run that
    planned it.
    """

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


class Cursor(SyncModel):
    """A named watermark, e.g. ``work.clients`` → the highest ``updated_at`` fully committed."""

    name = peewee.CharField(primary_key=True)
    value = peewee.TextField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sync_cursor"


class Run(SyncModel):
    kind = peewee.CharField(default="incremental")  # initial | incremental | preview
    started_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
    state = peewee.CharField(default="running")  # running | done | failed | cancelled
    counts = JSONField(null=True)
    qbo_requests = peewee.IntegerField(default=0)
    error = JSONField(null=True)

    class Meta:
        table_name = "sync_run"


class Problem(SyncModel):
    """A record that could not sync, told in plain language with what to do next."""

    kind = peewee.CharField()
    work_id = peewee.CharField()
    qbo_id = peewee.CharField(null=True)
    title = peewee.TextField()
    message = peewee.TextField()
    hint = peewee.TextField(null=True)
    details = JSONField(null=True)
    code = peewee.CharField(null=True)
    state = peewee.CharField(default="open", index=True)  # open | closed
    #: set by "retry": the next run re-reads and re-sends the record even if nothing changed
    retry_requested = peewee.BooleanField(default=False)
    first_seen_run = peewee.IntegerField(null=True)
    last_seen_run = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    closed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "sync_problem"


class AuditEntry(SyncModel):
    run_id = peewee.IntegerField(null=True, index=True)
    at = peewee.DateTimeField(default=utcnow)
    #: create | update | link | skip | void | import | conflict | resolve | fail
    action = peewee.CharField()
    kind = peewee.CharField()
    work_id = peewee.CharField(null=True)
    qbo_id = peewee.CharField(null=True)
    before = JSONField(null=True)
    after = JSONField(null=True)
    message = peewee.TextField(null=True)

    class Meta:
        table_name = "sync_audit"


SYNC_MODELS = [Link, Batch, OutboxEntry, Cursor, Run, Problem, AuditEntry]


@step(10)
def _v10_sync_tables(db: peewee.Database) -> None:
    # The runner binds the proxy to ``db`` before migrating, so the models create in ``db``.
    db.create_tables(SYNC_MODELS, safe=True)
    # At most one open problem per record (a partial unique index; peewee cannot declare it).
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS sync_problem_one_open ON sync_problem (kind, work_id) "
        "WHERE state = 'open'"
    )
    db.execute_sql("CREATE INDEX IF NOT EXISTS sync_audit_record ON sync_audit (kind, work_id)")

