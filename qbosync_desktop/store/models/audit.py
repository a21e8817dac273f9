"""The audit log: every create / update / link / skip / void with before and after values."""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField, utcnow


class AuditEntry(BaseModel):
    id = peewee.AutoField()
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
