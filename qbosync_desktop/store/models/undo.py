"""Undo of a sync run (issue 15 part 2): which audit rows an undo has reversed, and the records held.

``UndoneWrite`` marks one audit row of the undone run as reversed, in the same transaction as the
reversing write's answer, so a re-run after a crash plans only what is left (exactly once together with
the outbox's persisted ``requestid``). ``UndoHold`` is "undo and hold these records": the next syncs
skip a held record, with the reason, as a counted skip, instead of silently redoing what was undone.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, utcnow


class UndoneWrite(BaseModel):
    """One audit row of an undone run that has been reversed (or deliberately left: ``outcome``)."""

    id = peewee.AutoField()
    audit_id = peewee.IntegerField(unique=True)
    undo_run_id = peewee.IntegerField(null=True, index=True)
    #: deleted | deactivated | restored | forgotten
    outcome = peewee.CharField()
    at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "undo_done"


class UndoHold(BaseModel):
    """A record the person asked to hold after an undo: syncs skip it until the hold is released."""

    id = peewee.AutoField()
    kind = peewee.CharField()
    work_id = peewee.CharField()
    qbo_id = peewee.CharField(null=True)
    #: the run that was undone, and the undo run that set the hold
    run_id = peewee.IntegerField()
    undo_run_id = peewee.IntegerField(null=True)
    reason = peewee.TextField()
    #: held | released
    state = peewee.CharField(default="held", index=True)
    created_at = peewee.DateTimeField(default=utcnow)
    released_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "undo_hold"
