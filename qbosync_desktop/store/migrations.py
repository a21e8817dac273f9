"""Schema versions and the migration runner.

One function per schema version, registered with :func:`step`. Each step runs in its own
transaction together with the version bump, so a crash leaves the database at a whole version.
Before the first step of an upgrade the database file is copied to ``backups/`` (an upgrade of a
database that already holds a company's links must be reversible by hand).

Adding a version: write ``@step(N)`` in a module imported by ``qbosync_desktop.store.schema``
(steps create or alter tables, e.g. with peewee's ``SchemaMigrator``). Version numbers may have gaps:
each feature area owns a range (foundation 1, connection/settings 2-9, sync engine 10-99, two-way/onboarding 100-199), so two
areas never claim the same number. Steps run in ascending order. Never edit a released step.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import peewee

from qbosync_desktop.core.errors import DatabaseDamaged, DatabaseError
from qbosync_desktop.store.checks import as_database_error

log = logging.getLogger(__name__)

Step = Callable[[peewee.Database], None]
_STEPS: dict[int, Step] = {}


def step(version: int) -> Callable[[Step], Step]:
    def deco(fn: Step) -> Step:
        if version in _STEPS and _STEPS[version] is not fn:
            raise RuntimeError(f"two migration steps for version {version}")
        _STEPS[version] = fn
        return fn

    return deco


def registered_steps() -> dict[int, Step]:
    _load_step_modules()
    return dict(sorted(_STEPS.items()))


def latest_version() -> int:
    steps = registered_steps()
    return max(steps) if steps else 0


def _load_step_modules() -> None:
    # The schema module registers the steps of every released version.
    import qbosync_desktop.store.schema  # noqa: F401


def current_version(db: peewee.Database) -> int:
    db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def backup(path: Path, from_version: int) -> Path | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    dest_dir = path.parent / "backups"
    dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = dest_dir / f"{path.stem}.v{from_version}.{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
    shutil.copy2(path, dest)
    for suffix in ("-wal",):
        side = Path(str(path) + suffix)
        if side.exists():
            shutil.copy2(side, Path(str(dest) + suffix))
    dest.chmod(0o600)
    return dest


def migrate(db: peewee.Database, path: Path | None = None, *, target: int | None = None) -> int:
    """Bring ``db`` up to ``target`` (default: latest). Returns the version reached."""
    steps = registered_steps()
    target = latest_version() if target is None else target
    have = current_version(db)
    if have > target:
        raise DatabaseError(
            "This database was written by a newer version of QBO Sync.",
            hint="Install the newer version of QBO Sync again, or restore a backup from the backups folder.",
            details={"database_version": have, "app_version": target},
        )
    if have == target:
        return have
    if path is not None and have > 0:
        # WAL content must be in the main file before copying it.
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        saved = backup(path, have)
        log.info("Database backed up to %s before migrating from version %s", saved, have)
    for version, fn in steps.items():
        if version <= have or version > target:
            continue
        log.info("Migrating database to version %s", version)
        try:
            with db.atomic():
                fn(db)
                db.execute_sql("INSERT INTO schema_version (version) VALUES (?)", (version,))
        except peewee.DatabaseError as exc:
            specific = as_database_error(exc, path)
            if specific is not None:
                specific.details["migration"] = version
                raise specific from exc
            raise DatabaseError(details={"migration": version, "error": str(exc)}) from exc
    return target


def expected_schema() -> dict[str, set[str]]:
    """Every table (and its columns) of the concrete models bound to the app database's proxy."""
    _load_step_modules()  # imports every model module
    out: dict[str, set[str]] = {}
    seen: set[type] = set()
    todo: list[type] = list(peewee.Model.__subclasses__())
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        subclasses: list[type] = model.__subclasses__()
        todo.extend(subclasses)
        meta = getattr(model, "_meta", None)
        if subclasses:  # a base class (BaseModel, SyncModel): its subclasses are the tables
            continue
        # Bound to the app database's proxy (store.db.database); the Work sandbox's models bind a file.
        if meta is None or not isinstance(meta.database, peewee.DatabaseProxy) \
                or not getattr(meta, "table_name", None):
            continue
        out.setdefault(meta.table_name, set()).update(f.column_name for f in meta.sorted_fields)
    return out


def schema_check(db: peewee.Database, path: Path | str) -> None:
    """After migrating: every table and column the models need exists (a damaged file that SQLite
    still reads, or a database some other program emptied, must not look like a working one)."""
    have = set(db.get_tables())
    missing: list[str] = []
    for table, columns in sorted(expected_schema().items()):
        if table not in have:
            missing.append(table)
            continue
        present = {c.name for c in db.get_columns(table)}
        missing += [f"{table}.{c}" for c in sorted(columns - present)]
    if missing:
        raise DatabaseDamaged(
            f"The database file {path} is missing parts QBO Sync needs ({', '.join(missing[:5])}"
            f"{' ...' if len(missing) > 5 else ''}).",
            details={"path": str(path), "missing": ", ".join(missing)},
        )
