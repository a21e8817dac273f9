"""Window geometry and small UI memories in a QSettings INI file inside the app's config folder.

Qt's default QSettings location is per user, shared by every data folder and by the tests; keeping
the file under ``AppPaths.config_dir`` isolates each ``--home`` (and each test) and keeps everything a
company's data folder owns in one place. Nothing secret is ever stored here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from qbosync_desktop.core.paths import AppPaths, get_paths


def settings_path(paths: AppPaths | None = None) -> Path:
    return (paths or get_paths()).config_dir / "ui.ini"


def ui_settings(paths: AppPaths | None = None) -> QSettings:
    return QSettings(str(settings_path(paths)), QSettings.Format.IniFormat)
