"""Dropdowns and spin boxes take the mouse wheel only when they have focus.

Qt lets a combo box or spin box change its value on a wheel event even when the pointer merely
passes over it, so scrolling the Sync Settings page changed account choices on the way down (issue
17, bug 1) — postings could silently go to the wrong ledger account. One application-wide event
filter fixes it everywhere: a wheel event over an unfocused :class:`QComboBox` or
:class:`QAbstractSpinBox` (which includes the date edit) goes to the nearest scroll area around it, so
the page scrolls instead (or, with none, is left unaccepted for the parent). Clicking into the control (focus) gives the wheel back to it.
The controls also stop taking focus from the wheel (``StrongFocus``), or the first wheel turn would
focus them and the second would change them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

_GUARDED = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """The event filter (install with :func:`install_wheel_guard`)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, _GUARDED):
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Wheel and isinstance(watched, QWidget) and isinstance(event, QWheelEvent):
            control = _guarded_control(watched)
            if control is not None and not control.hasFocus():
                _scroll_instead(control, event)
                return True
        return False


def _can_scroll(area: QAbstractScrollArea, event: QWheelEvent) -> bool:
    dy = event.angleDelta().y()
    bar = area.verticalScrollBar()
    return (dy < 0 and bar.value() < bar.maximum()) or (dy > 0 and bar.value() > bar.minimum())


def _scroll_instead(control: QWidget, event: QWheelEvent) -> None:
    """Give the wheel to the nearest scroll area around ``control`` (the page scrolls), or leave it
    unaccepted so Qt passes it to the parent when there is none."""
    parent = control.parentWidget()
    while parent is not None and not (isinstance(parent, QAbstractScrollArea) and _can_scroll(parent, event)):
        parent = parent.parentWidget()  # a table that cannot scroll further hands on to the page
    if parent is None:
        event.ignore()
        return
    viewport = parent.viewport()
    pos = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
    forwarded = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                            event.modifiers(), event.phase(), event.inverted(), event.source())
    QApplication.sendEvent(viewport, forwarded)
    event.accept()


def _guarded_control(widget: QWidget) -> QWidget | None:
    """The combo or spin box ``widget`` is (or is inside: a spin box's line edit gets the event)."""
    for candidate in (widget, widget.parentWidget()):
        if isinstance(candidate, _GUARDED):
            return candidate
    return None


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install the guard on ``app`` once (idempotent: tests create many windows)."""
    existing = app.findChild(WheelGuard, "qbosync_wheel_guard")
    if existing is not None:
        return existing
    guard = WheelGuard(app)
    guard.setObjectName("qbosync_wheel_guard")
    app.installEventFilter(guard)
    return guard
