"""Runs and cursors: the history of sync runs and the watermarks they advance.

``Cursor`` holds Work ``updated_since`` watermarks (and the CDC timestamp). A cursor only moves after
everything it covers is committed, so a crash re-reads rather than skips.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField, utcnow


class Cursor(BaseModel):
    """A named watermark, e.g. ``work.clients`` → the highest ``updated_at`` fully committed."""

    name = peewee.CharField(primary_key=True)
    value = peewee.TextField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sync_cursor"



class Run(BaseModel):
    id = peewee.AutoField()
    kind = peewee.CharField(default="incremental")  # initial | incremental | preview
    started_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
    state = peewee.CharField(default="running")  # running | done | failed | cancelled
    counts = JSONField(null=True)
    #: records left out on purpose, phase → reason → count (issue 16; sync/skips.py)
    skips = JSONField(null=True)
    qbo_requests = peewee.IntegerField(default=0)
    error = JSONField(null=True)

    class Meta:
        table_name = "sync_run"
