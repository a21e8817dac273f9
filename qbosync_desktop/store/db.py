"""The SQLite database, bound at start-up.

Models bind to :data:`database`, a ``peewee.DatabaseProxy``: the app binds the real file from the data
folder, tests bind a temp file. The file is created 0600 (it holds the audit log of a company's
books), runs in WAL mode so the GUI can read while the worker writes, and is migrated to the current
schema before anything else touches it.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import peewee

from qbosync_desktop.core.errors import DatabaseError

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

_open_lock = threading.Lock()

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # WAL + NORMAL is durable across application crashes (not power loss of the last txn).
    "synchronous": "normal",
    "busy_timeout": 15000,
}


def _touch_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def open_database(path: str | os.PathLike[str], *, migrate: bool = True) -> peewee.SqliteDatabase:
    """Open (creating if needed) the database at ``path``, bind the proxy and migrate it."""
    path = Path(path)
    with _open_lock:
        try:
            _touch_private(path)
            db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, timeout=15)
            db.connect(reuse_if_open=True)
        except (OSError, peewee.DatabaseError) as exc:
            raise DatabaseError(
                f"The database file {path} could not be opened.", details={"path": str(path), "error": str(exc)}
            ) from exc
        database.initialize(db)
        if migrate:
            from qbosync_desktop.store.migrations import migrate as run_migrations

            run_migrations(db, path)
        return db


def close_database() -> None:
    with _open_lock:
        obj = database.obj
        if obj is not None and not obj.is_closed():
            obj.close()
        database.initialize(None)
