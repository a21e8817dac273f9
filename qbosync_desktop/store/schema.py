"""Registers the migration steps of every schema version.

Version 1 is the foundation's: a key/value table for small persistent facts. The sync engine's models
(``qbosync_desktop.store.models``) add their steps from version 2 on; their module is imported here so
that every step is registered whenever the runner runs.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.migrations import step


@step(1)
def _v1_meta(db: peewee.Database) -> None:
    db.execute_sql("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")


try:  # the engine's models register versions 2+
    import qbosync_desktop.store.models  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - only before the engine exists
    if exc.name != "qbosync_desktop.store.models":
        raise
