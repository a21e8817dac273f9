"""Locate the top-level ``resources/`` folder (icons, styles, OpenAPI document).

From a source checkout it sits beside the package; in a PyInstaller bundle it is unpacked under
``sys._MEIPASS``; ``QBOSYNC_RESOURCES`` overrides both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    env = os.environ.get("QBOSYNC_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent.parent / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def icon_path(name: str) -> Path:
    """``icon_path("check")`` → resources/icons/check.svg."""
    return resource("icons", f"{name}.svg")
