"""Registers the migration steps of every schema version.

Version 1 is the foundation's: a key/value table for small persistent facts. The engine's models
(``store.models`` 2-9 connection and settings, ``store.models_sync`` 10-99 links/outbox/runs/problems/
audit, ``store.models_twoway`` 100-199 matches/conflicts) are imported here so that every step is registered whenever the runner runs.
"""

from __future__ import annotations

import importlib

import peewee

from qbosync_desktop.store.migrations import step


@step(1)
def _v1_meta(db: peewee.Database) -> None:
    db.execute_sql("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")


# Each area registers its steps on import: connection/settings (versions 2-9), sync engine (10-99),
# onboarding/two-way (100-199).
_AREAS = ("qbosync_desktop.store.models.connection", "qbosync_desktop.store.models.sync", "qbosync_desktop.store.models.twoway")
for _module in _AREAS:
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as exc:  # pragma: no cover - only before that area exists
        if exc.name != _module:
            raise
