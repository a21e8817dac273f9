"""Good copies of the database in ``backups/``, and restoring one (``qbosync restore``, the app's dialog).

Two kinds of copy live in ``<data folder>/backups/`` (0700, each file 0600):

* ``qbosync.v<N>.<time>.sqlite3`` - taken by :mod:`~qbosync_desktop.store.migrations` before an upgrade
  from schema version N; kept until the user deletes them.
* ``qbosync.run.<time>.sqlite3`` - a good copy taken after every sync run that finished and changed
  something (:func:`after_run`), with SQLite's online backup API, so it is consistent even while
  the app reads. Only the newest :data:`KEEP_RUN_COPIES` are kept. A no-op run takes no copy: the
  newest one already holds the same links.

Why after every run that wrote: a copy older than the last write would not know the QuickBooks
records written since, so a sync after restoring it could write them again. Restoring the copy of the
last finished run loses at most what the run after it did (docs/troubleshooting.md says what to check).

:func:`restore` never deletes anything: the damaged file (and its ``-wal``/``-shm``, which belong to
it and must not be replayed into the restored copy) is renamed ``qbosync.sqlite3.damaged-<time>``.
It refuses while any QBO Sync program has the data folder open for writing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qbosync_desktop.core import writer_lock
from qbosync_desktop.core.errors import ConfigurationError, DatabaseDamaged, DatabaseError
from qbosync_desktop.core.paths import AppPaths
from qbosync_desktop.store.checks import as_database_error, read_copy

log = logging.getLogger(__name__)

KEEP_RUN_COPIES = 3
RUN_PREFIX = "run"
_NAME = re.compile(r"^(?P<stem>.+)\.(?P<kind>v\d+|run)\.(?P<time>\d{8}-\d{6})(?:-\d+)?\.sqlite3$")


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str  # "migration" or "run"
    taken_at: str  # YYYYMMDD-HHMMSS, local time (as in the name)
    size: int
    version: int | None  # schema version inside, None when unreadable
    good: bool
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "kind": self.kind, "taken_at": self.taken_at,
                "size": self.size, "schema_version": self.version, "good": self.good, "problem": self.problem}


def _private_dir(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(d, 0o700)


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _unique(dest: Path) -> Path:
    n = 1
    out = dest
    while out.exists():
        out = dest.with_name(dest.name.replace(".sqlite3", f"-{n}.sqlite3"))
        n += 1
    return out


def inspect(path: Path) -> Backup:
    """Read a copy: its schema version and whether it passes the integrity check."""
    m = _NAME.match(path.name)
    kind = "run" if m and m["kind"] == RUN_PREFIX else "migration"
    taken = m["time"] if m else time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    size = path.stat().st_size
    version, problem = read_copy(path)
    return Backup(path, kind, taken, size, version, problem is None, problem)


def list_backups(paths: AppPaths) -> list[Backup]:
    """Every copy in ``backups/``, newest first (by the time in its name)."""
    d = paths.backup_dir
    if not d.is_dir():
        return []
    found = [inspect(p) for p in d.glob("*.sqlite3") if p.is_file()]
    return sorted(found, key=lambda b: (b.taken_at, b.path.stat().st_mtime), reverse=True)


def newest_good(paths: AppPaths) -> Backup | None:
    from qbosync_desktop.store.migrations import latest_version

    latest = latest_version()
    return next((b for b in list_backups(paths) if b.good and (b.version or 0) <= latest), None)


def take_copy(db: Any, paths: AppPaths, *, kind: str = RUN_PREFIX) -> Path:
    """A consistent copy of the open database (SQLite's online backup API) into ``backups/``."""
    _private_dir(paths.backup_dir)
    dest = _unique(paths.backup_dir / f"{paths.db_path.stem}.{kind}.{_stamp()}{paths.db_path.suffix}")
    tmp = dest.with_name(dest.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        target = sqlite3.connect(str(tmp))
        try:
            source = db.connection() if hasattr(db, "connection") else db
            source.backup(target)
        finally:
            target.close()
        os.replace(tmp, dest)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    os.chmod(dest, 0o600)
    return dest


def prune_run_copies(paths: AppPaths, keep: int = KEEP_RUN_COPIES) -> None:
    runs = sorted((p for p in paths.backup_dir.glob(f"*.{RUN_PREFIX}.*.sqlite3")), key=lambda p: p.name, reverse=True)
    for old in runs[keep:]:
        try:
            old.unlink()
        except OSError as exc:  # pragma: no cover - best effort
            log.warning("Could not delete the old copy %s: %s", old, exc)


def after_run(db: Any, paths: AppPaths, counts: dict[str, dict[str, int]]) -> Path | None:
    """Take the good copy after a finished run that changed something; keep the newest few.

    Failing to take it (disk full) never fails the run: it is logged, and the previous copies stay.
    """
    changed = any(n for by_outcome in (counts or {}).values() for outcome, n in by_outcome.items()
                  if outcome not in ("skipped", "failed", "waiting"))
    if not changed and any(paths.backup_dir.glob(f"*.{RUN_PREFIX}.*.sqlite3")):
        return None
    try:
        dest = take_copy(db, paths)
    except (OSError, sqlite3.Error) as exc:
        log.warning("Could not take the after-run copy of the database (%s); the older copies are kept", exc)
        return None
    prune_run_copies(paths)
    log.info("Database copied to %s", dest)
    return dest


@dataclass(frozen=True)
class Restored:
    source: Backup
    damaged_kept_as: Path | None


def restore(paths: AppPaths, name: str | None = None) -> Restored:
    """Put a good copy in place of the database (the newest good one, or the one named ``name``).

    The data folder must not be open for writing by any QBO Sync program (the app, a sync): the copy
    would be swapped under it. The current file is renamed, never deleted.
    """
    from qbosync_desktop.store.migrations import latest_version

    copies = list_backups(paths)
    if name is not None:
        chosen = next((b for b in copies if b.name == name or str(b.path) == name), None)
        if chosen is None:
            raise ConfigurationError(f"There is no copy named {name} in {paths.backup_dir}.", field="name",
                                     hint="Run 'qbosync restore --list' to see the copies.")
        if not chosen.good:
            raise DatabaseDamaged(f"The copy {chosen.name} is damaged too ({chosen.problem}).",
                                  hint="Choose another copy from 'qbosync restore --list'.")
    else:
        chosen = next((b for b in copies if b.good and (b.version or 0) <= latest_version()), None)
        if chosen is None:
            raise DatabaseError(
                f"There is no good copy of the database in {paths.backup_dir}.",
                title="No copy to restore",
                hint=("If the database is damaged, move it out of the data folder and set QBO Sync up again "
                      "(Connect, then Enable: existing QuickBooks records are matched, not created again). "
                      "Keep the damaged file for support."),
                details={"backups": len(copies)},
            )
    with writer_lock.holding(paths, writer_lock.APP, timeout=0), writer_lock.holding(paths, writer_lock.SYNC, timeout=0):
        db = paths.db_path
        kept: Path | None = None
        try:
            if db.exists():
                kept = db.with_name(f"{db.name}.damaged-{_stamp()}")
                os.replace(db, kept)
                os.chmod(kept, 0o600)
            for side in ("-wal", "-shm"):
                p = Path(str(db) + side)
                if p.exists():
                    if kept is not None:
                        os.replace(p, Path(str(kept) + side))
                    else:
                        p.unlink()
            tmp = db.with_name(db.name + ".restoring")
            shutil.copyfile(chosen.path, tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, db)
        except OSError as exc:
            raise (as_database_error(exc, db) or DatabaseError(details={"error": str(exc)})) from exc
    log.warning("Database restored from %s (the previous file kept as %s)", chosen.path, kept)
    return Restored(chosen, kept)
