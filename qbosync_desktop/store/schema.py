"""Registers the migration steps of every schema version.

Version 1 is the foundation's: a key/value table for small persistent facts. The engine's models
(``store.models``, versions 2-99) and the onboarding/two-way models (``store.models_twoway``, 100-199)
are imported here so that every step is registered whenever the runner runs.
"""

from __future__ import annotations

import importlib

import peewee

from qbosync_desktop.store.migrations import step


@step(1)
def _v1_meta(db: peewee.Database) -> None:
    db.execute_sql("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")


# Engine core (versions 2-99) and two-way/onboarding (100-199) register their steps on import.
for _module in ("qbosync_desktop.store.models", "qbosync_desktop.store.models_twoway"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as exc:  # pragma: no cover - only before that area exists
        if exc.name != _module:
            raise
