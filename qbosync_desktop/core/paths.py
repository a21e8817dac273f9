"""Where QBO Sync keeps its files.

By default the platform folders (platformdirs): data (database, outbox), config (settings), logs.
``QBOSYNC_HOME`` or ``--home DIR`` puts everything under one folder instead: tests use it for
isolation, and specialists use it to manage several companies side by side (one folder each).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import platformdirs

from qbosync_desktop import APP_ID, ORG_NAME

HOME_ENV = "QBOSYNC_HOME"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "qbosync.sqlite3"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "qbosync.log"

    @property
    def lock_dir(self) -> Path:
        return self.data_dir / "locks"

    @property
    def backup_dir(self) -> Path:
        """Good copies of the database (``store.backups``, ``store.migrations``; ``qbosync restore``)."""
        return self.data_dir / "backups"

    def ensure(self) -> AppPaths:
        """Create the folders, private (0700): ``mkdir``'s mode is only used on creation and is
        subject to the umask, so folders made by an older version are tightened here too."""
        for d in (self.data_dir, self.config_dir, self.log_dir, self.lock_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if d.stat().st_mode & 0o777 != 0o700:
                try:
                    os.chmod(d, 0o700)
                except OSError:  # not ours (a shared --home): leave it, the files are still 0600
                    pass
        return self

    def lock_file(self, name: str) -> Path:
        return self.lock_dir / f"{name}.lock"

    def install_id(self) -> str:
        """A random id for this data folder, used to namespace keyring entries.

        Two data folders (two companies) on one machine must not share keyring entries, and the id
        must not reveal anything: a UUID written once, next to the database.
        """
        self.ensure()
        f = self.data_dir / "install-id"
        try:
            value = f.read_text(encoding="ascii").strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        value = uuid.uuid4().hex
        tmp = f.with_suffix(".tmp")
        with private_open(tmp, "w", encoding="ascii") as fh:
            fh.write(value)
        os.replace(tmp, f)
        return value


def private_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing as a file only this user can read (0600), whatever the umask.

    Every file QBO Sync writes that holds company data (the data folder's files, the audit export,
    settings) is created through this or with ``os.open(..., 0o600)``.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.chmod(path, 0o600)  # an existing file keeps its old mode on open: tighten it
        return open(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


_override: Path | None = None


def set_home(home: str | os.PathLike[str] | None) -> None:
    """Put everything under ``home`` (the CLI's ``--home``). ``None`` restores the default."""
    global _override
    _override = Path(home).expanduser().resolve() if home else None


def use_paths(paths: AppPaths | None) -> None:
    """Use exactly these folders (the sync worker process takes its parent's). ``None`` restores."""
    global _exact
    _exact = paths


_exact: AppPaths | None = None


def get_paths() -> AppPaths:
    if _exact is not None:
        return _exact
    home = _override or (Path(os.environ[HOME_ENV]).expanduser() if os.environ.get(HOME_ENV) else None)
    if home is not None:
        return AppPaths(data_dir=home / "data", config_dir=home / "config", log_dir=home / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_ID, ORG_NAME)),
        config_dir=Path(platformdirs.user_config_dir(APP_ID, ORG_NAME)),
        log_dir=Path(platformdirs.user_log_dir(APP_ID, ORG_NAME)),
    )
