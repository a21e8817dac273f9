"""The SQLite database, bound at start-up.

Models bind to :data:`database`, a ``peewee.DatabaseProxy``: the app binds the real file from the data
folder, tests bind a temp file. The file is created 0600 (it holds the audit log of a company's
books), runs in WAL mode so the GUI can read while the worker writes, and is migrated to the current
schema before anything else touches it.

Opening checks the file before trusting it (docs/troubleshooting.md "The local database"):

* an **empty** (0-byte), **truncated** or **not-a-database** file, one that fails SQLite's
  ``PRAGMA integrity_check``, or one that lacks a table or column the models need, raises
  :class:`~qbosync_desktop.core.errors.DatabaseDamaged`. It is **never** treated as a fresh install:
  that would forget every link and the outbox without a word, and the next sync would write
  duplicates. The user restores a good copy from ``backups/`` (``qbosync restore``, or the app's
  start-up dialog; :mod:`qbosync_desktop.store.backups`).
* a file or folder that cannot be written raises :class:`~qbosync_desktop.core.errors.DatabaseReadOnly`.
* a fresh install is a database file that does not exist yet (and has no good copies in ``backups/``:
  a missing file next to its copies was lost, and is refused like a damaged one). It is created under
  a temporary name and renamed into place once SQLite has written its header, so a crash during
  creation can never leave the 0-byte file that a later start would have to call damaged.

:func:`as_database_error` turns SQLite's and the OS's write failures (disk full, ``EFBIG`` from a file
size limit, read-only, corrupt) into those plain-language errors wherever they surface.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

import peewee

from qbosync_desktop.core.errors import DatabaseDamaged, DatabaseError, DatabaseReadOnly
from qbosync_desktop.store.checks import SQLITE_HEADER, as_database_error, read_copy

__all__ = ["PRAGMAS", "SQLITE_HEADER", "as_database_error", "check_file", "close_database", "database",
           "integrity_check", "open_database"]

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

def _create_new(path: Path) -> None:
    """Create an empty, valid database at ``path``, atomically (see the module docstring)."""
    tmp = path.with_name(path.name + ".creating")
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        con = sqlite3.connect(str(tmp))
        try:
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            con.commit()
        finally:
            con.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def _refuse_if_copies_exist(path: Path) -> None:
    """A missing database next to good copies of it was lost (deleted by a sync tool, a clean-up, a
    disk error), not never created: starting over would forget every link, like an empty file."""
    folder = path.parent / "backups"
    if not folder.is_dir():
        return
    good = [p for p in sorted(folder.glob(f"{path.stem}.*{path.suffix}")) if read_copy(p)[1] is None]
    if good:
        raise DatabaseDamaged(
            f"The database file {path} is missing, but {folder} holds {len(good)} good "
            f"cop{'y' if len(good) == 1 else 'ies'} of it, so QBO Sync did not start over with a new one.",
            title="The database is missing",
            hint=DatabaseDamaged.hint + " To start over with a new database instead, move the backups folder "
                 "out of the data folder first.",
            details={"path": str(path), "good_copies": len(good)},
        )


def check_file(path: Path) -> None:
    """Refuse an empty or non-SQLite file, and a file or folder this process cannot write."""
    size = path.stat().st_size
    if size == 0:
        raise DatabaseDamaged(
            f"The database file {path} is empty (0 bytes). It held this company's links and sync state, "
            "so QBO Sync did not start over with a new one.",
            details={"path": str(path), "size": 0},
        )
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise DatabaseDamaged(
            f"The file {path} is not a QBO Sync database (its first bytes are not a SQLite header).",
            details={"path": str(path), "size": size},
        )
    for target, what in ((path, "file"), (path.parent, "folder")):
        if not os.access(target, os.W_OK):
            raise DatabaseReadOnly(
                f"QBO Sync cannot write to its database {what} ({target}), so it did not open it.",
                details={"path": str(target), "mode": oct(target.stat().st_mode & 0o777)},
            )


def integrity_check(db: peewee.Database | sqlite3.Connection, path: Path | str) -> None:
    """SQLite's ``PRAGMA integrity_check``: every page, row and index, index contents included (a 95 MB
    database: 0.11 s with a warm cache, docs/decisions.md)."""
    try:
        rows = [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()] if isinstance(db, sqlite3.Connection) \
            else [r[0] for r in db.execute_sql("PRAGMA integrity_check").fetchall()]
    except (sqlite3.Error, peewee.DatabaseError) as exc:
        raise _damaged(path, exc) from exc
    if rows != ["ok"]:
        raise DatabaseDamaged(
            f"The database file {path} failed SQLite's integrity check.",
            details={"path": str(path), "integrity_check": "; ".join(str(r) for r in rows[:5])},
        )


def _damaged(path: Path | str, exc: BaseException) -> DatabaseError:
    err = as_database_error(exc, path)
    if isinstance(err, DatabaseDamaged) and err.message == DatabaseDamaged.default_message():
        return DatabaseDamaged(
            f"The database file {path} is damaged (SQLite: {exc}).",
            details=err.details,
        )
    return err or DatabaseError(f"The database file {path} could not be opened.",
                                details={"path": str(path), "error": str(exc)})


def _check_not_emptied(db: peewee.Database, path: Path) -> None:
    """A database whose version is gone but whose tables are there is damaged, not new."""
    tables = set(db.get_tables()) - {"schema_version"}
    if not tables:
        return
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone() \
        if "schema_version" in db.get_tables() else None
    if not row or not row[0]:
        raise DatabaseDamaged(
            f"The database file {path} has lost its version record, so QBO Sync cannot tell what it holds.",
            details={"path": str(path), "tables": ", ".join(sorted(tables))},
        )


def open_database(path: str | os.PathLike[str], *, migrate: bool = True) -> peewee.SqliteDatabase:
    """Open (creating if needed) the database at ``path``, check it, bind the proxy and migrate it.

    Raises :class:`DatabaseDamaged`, :class:`DatabaseReadOnly` or :class:`DiskFull` (all
    :class:`DatabaseError`) with a plain message; never opens a damaged file as a new one.
    """
    path = Path(path)
    with _open_lock:
        db: peewee.SqliteDatabase | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                _refuse_if_copies_exist(path)
                _create_new(path)
            check_file(path)
            os.chmod(path, 0o600)
            db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, timeout=15)
            db.connect(reuse_if_open=True)
            integrity_check(db, path)
            _check_not_emptied(db, path)
            for side in ("-wal", "-shm"):
                _private(Path(str(path) + side))
        except DatabaseError:
            _close_quietly(db)
            raise
        except (OSError, sqlite3.Error, peewee.DatabaseError) as exc:
            _close_quietly(db)
            raise _damaged(path, exc) from exc
        database.initialize(db)
        if migrate:
            from qbosync_desktop.store.migrations import migrate as run_migrations
            from qbosync_desktop.store.migrations import schema_check

            try:
                run_migrations(db, path)
                schema_check(db, path)
            except BaseException as exc:
                database.initialize(None)
                _close_quietly(db)
                err = as_database_error(exc, path) if not isinstance(exc, DatabaseError) else None
                if err is not None:
                    raise err from exc
                raise
        return db


def _private(p: Path) -> None:
    try:
        os.chmod(p, 0o600)
    except FileNotFoundError:
        pass


def _close_quietly(db: peewee.Database | None) -> None:
    if db is None:
        return
    try:
        db.close()
    except Exception:
        pass


def close_database() -> None:
    with _open_lock:
        obj = database.obj
        if obj is not None and not obj.is_closed():
            obj.close()
        database.initialize(None)
