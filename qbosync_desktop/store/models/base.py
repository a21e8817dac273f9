"""What every store model shares: the database binding, the JSON column and the one time convention.

:class:`BaseModel` binds each model to :data:`qbosync_desktop.store.db.database` (a proxy the app
binds at start-up); :class:`JSONField` keeps a JSON document in a TEXT column; :func:`utcnow` is
naive UTC, the one time convention in the database (SQLite has no time zones).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import peewee

from qbosync_desktop.store.db import database


def utcnow() -> _dt.datetime:
    """Naive UTC: every timestamp in the database is UTC without tzinfo (peewee stores it as text)."""
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


class BaseModel(peewee.Model):
    class Meta:
        database = database
