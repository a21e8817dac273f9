"""The application's look: one style sheet and the SVG status icons from ``resources/``.

Screen-sharing is the design constraint: a specialist shares this window with an admin over a video
call, so type is large, colours are few and meaningful (green = synced, red = off or failing, amber =
needs a look), and status is always an icon *and* words (colour alone does not survive compression
or colour blindness).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication

from qbosync_desktop.core.resources import icon_path, resource

#: Status icon names (resources/icons/<name>.svg) the UI relies on.
ICON_NAMES = ("app", "check", "cross", "warning", "syncing", "info", "tray-idle", "tray-syncing", "tray-attention")


def style_sheet() -> str:
    """The application style sheet text (empty if the file is missing: the app still works)."""
    try:
        return resource("styles", "app.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def apply_style(app: QApplication) -> None:
    """Install the style sheet and the wheel guard (dropdowns and spin boxes take the mouse wheel
    only when focused, :mod:`~qbosync_desktop.desktop.ui.widgets.wheel_guard`) once per application
    (idempotent: tests create many windows)."""
    from qbosync_desktop.desktop.ui.widgets.wheel_guard import install_wheel_guard

    install_wheel_guard(app)
    if not app.property("qbosync_styled"):
        app.setStyleSheet(style_sheet())
        app.setProperty("qbosync_styled", True)


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons; cached because tables ask for the same icon per row."""
    return QIcon(str(icon_path(name)))


def pixmap(name: str, size: int) -> QPixmap:
    """The SVG rendered at ``size`` logical pixels (sharp on high-DPI screens)."""
    return icon(name).pixmap(QSize(size, size))


ALIGN_LEFT_MIDDLE = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
