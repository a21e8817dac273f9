"""Problems: records that could not sync, in plain language with what to do next.

At most one *open* problem per (kind, work_id) - a partial unique index (schema version 10) enforces
it, because a record that fails on every run must not pile up rows the user has to dismiss one by one.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField, utcnow


class Problem(BaseModel):
    """A record that could not sync, told in plain language with what to do next."""

    id = peewee.AutoField()
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
