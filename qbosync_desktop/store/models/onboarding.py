"""Match proposals: the onboarding review of existing QuickBooks customers/vendors.

A proposal links an existing QuickBooks customer/vendor to a Work client/contractor, shown in match
review before the first sync. At most one *accepted* proposal per QuickBooks record and per Work record
(partial unique indexes, schema version 100), because a QuickBooks customer linked to two Work clients
would receive both clients' edits.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, utcnow


class MatchProposal(BaseModel):
    id = peewee.AutoField()
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
