"""Field conflicts of the two-way client sync.

One field changed differently on both sides under the "ask me" policy. At most one *open* conflict per
(kind, work_id, field) (a partial unique index, schema version 100): a record that stays in conflict
across runs updates its row instead of piling up new ones the user has to answer one by one.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField, utcnow


class Conflict(BaseModel):
    id = peewee.AutoField()
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
