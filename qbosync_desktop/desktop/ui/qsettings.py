"""Window geometry and small UI memories in a QSettings INI file inside the app's config folder.

Qt's default QSettings location is per user, shared by every data folder and by the tests; keeping
the file under ``AppPaths.config_dir`` isolates each ``--home`` (and each test) and keeps everything a
company's data folder owns in one place. Nothing secret is ever stored here.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from qbosync_desktop.core.paths import AppPaths, get_paths


def settings_path(paths: AppPaths | None = None) -> Path:
    return (paths or get_paths()).config_dir / "ui.ini"


def ui_settings(paths: AppPaths | None = None) -> QSettings:
    path = settings_path(paths)
    if not path.exists():
        # Created private (0600) like every file of the data folders; Qt keeps an existing file's
        # mode when it rewrites it, but would create a new one with the umask's (often 0644).
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError:  # a full or read-only disk: Qt reports its own failure to write
            pass
    return QSettings(str(path), QSettings.Format.IniFormat)
