"""Small machine-level preferences that are not sync settings (those live in the database).

Stored as JSON in the config folder and written atomically (temp file + ``os.replace``), so a crash
mid-write never leaves a half file. Nothing secret may be stored here (a test greps for it).

Keys used: ``insecure_file_secrets`` (the user's explicit opt-in to a plaintext secrets file when no
keyring exists), ``start_at_login``, ``start_in_tray``, ``tray_close_asked``.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from qbosync_desktop.core.paths import AppPaths, get_paths, private_open

_lock = threading.Lock()


def _file(paths: AppPaths | None) -> Any:
    return (paths or get_paths()).config_dir / "app.json"


def load(paths: AppPaths | None = None) -> dict[str, Any]:
    try:
        data = json.loads(_file(paths).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def get(key: str, default: Any = None, paths: AppPaths | None = None) -> Any:
    return load(paths).get(key, default)


def set_value(key: str, value: Any, paths: AppPaths | None = None) -> None:
    with _lock:
        f = _file(paths)
        f.parent.mkdir(parents=True, exist_ok=True)
        data = load(paths)
        data[key] = value
        tmp = f.with_suffix(".tmp")
        with private_open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, f)
