"""Reading storage failures and database files, for :mod:`.db`, :mod:`.migrations` and :mod:`.backups`.

:func:`as_database_error` turns SQLite's and the OS's write failures (disk full, ``EFBIG`` from a
file size limit, read-only, corrupt) into the plain-language ``DatabaseError`` subclasses wherever
they surface; :func:`read_copy` says whether a database file (the live one or a copy in
``backups/``) is whole, without opening it for writing. Imports nothing of the store, so every store
module can use it without an import cycle.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

import peewee

from qbosync_desktop.core.errors import DatabaseDamaged, DatabaseError, DatabaseReadOnly, DiskFull

SQLITE_HEADER = b"SQLite format 3\x00"

#: errno values that mean "no room to write": disk full, quota, the process's file size limit.
FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if e is not None)
READ_ONLY_ERRNOS = frozenset((errno.EROFS, errno.EACCES, errno.EPERM))


def as_database_error(exc: BaseException, path: Path | str | None = None) -> DatabaseError | None:
    """The plain-language error for a low-level storage failure, or ``None`` when it is not one.

    SQLite reports a full disk as ``SQLITE_FULL``; a write refused with ``EFBIG`` (a file size limit)
    or cut short surfaces as ``SQLITE_IOERR_WRITE`` / "disk I/O error" - both mean the data folder
    could not take more bytes. Python-level writes (log, CSV, backup copies) raise ``OSError``.

    The whole exception chain is read: after ``SQLITE_FULL`` SQLite has already rolled the
    transaction back, so peewee's own rollback fails with "no transaction is active" and that
    second error is the one raised, with the real cause in its context.
    """
    if isinstance(exc, DatabaseError):
        return exc
    seen: BaseException | None = exc
    for _ in range(12):
        if seen is None:
            break
        if isinstance(seen, DatabaseError):
            return seen
        found = _classify(seen, path)
        if found is not None:
            return found
        seen = seen.__cause__ or seen.__context__
    return None


def _classify(exc: BaseException, path: Path | str | None) -> DatabaseError | None:
    details: dict[str, Any] = {"cause": f"{type(exc).__name__}: {exc}"}
    if path is not None:
        details["path"] = str(path)
    if isinstance(exc, OSError):
        if exc.errno in FULL_ERRNOS:
            return DiskFull(details=details)
        if exc.errno in READ_ONLY_ERRNOS and exc.filename is not None:
            # Only a refused *file* operation: a socket's EACCES (a firewall) is not a read-only disk.
            return DatabaseReadOnly(
                f"QBO Sync could not write {exc.filename}: it is read-only for your user account.",
                title="The data folder is read-only",
                details=details,
            )
        return None
    if not isinstance(exc, (sqlite3.Error, peewee.DatabaseError)):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc).lower()
    if name:
        details["sqlite"] = name
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text:
        return DiskFull(details=details)
    # Without extended result codes SQLite says only SQLITE_IOERR ("disk I/O error").
    if name in ("SQLITE_IOERR", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE") \
            or (not name and "disk i/o error" in text):
        return DiskFull(
            "QBO Sync could not write to its data folder. Usually this means the disk is full.",
            details=details,
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return DatabaseReadOnly(details=details)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
        return DatabaseDamaged(details=details)
    return None


def read_copy(path: Path) -> tuple[int | None, str | None]:
    """(schema version, None) for a whole database file; (None or version, why not) otherwise.

    Whole: not empty, a SQLite header, ``PRAGMA integrity_check`` says ok, and a schema version is
    recorded. Opened read-only (``mode=ro``): checking a copy never changes it.
    """
    version: int | None = None
    try:
        if path.stat().st_size == 0:
            raise ValueError("empty file")
        with open(path, "rb") as f:
            if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise ValueError("not a SQLite database")
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            if rows != ["ok"]:
                raise ValueError("integrity check: " + "; ".join(map(str, rows[:3])))
            row = con.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = int(row[0]) if row and row[0] else None
            if not version:
                raise ValueError("no schema version")
        finally:
            con.close()
    except (ValueError, sqlite3.Error, OSError) as exc:
        return version, str(exc)
    return version, None
