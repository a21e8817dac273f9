"""The large green check / red x next to each entity, always paired with words.

A check alone does not survive a compressed screen share or colour blindness, so the widget shows the
icon *and* a text ("On" / "Off" or a reason), and exposes the state as its accessible description for
screen readers. ``state`` is also a Qt property so tests (and style sheets) can read it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QPushButton, QVBoxLayout, QWidget

from qbosync_desktop.desktop.ui.style import pixmap

ICON_FOR_STATE = {"on": "check", "off": "cross", "warning": "warning", "syncing": "syncing", "info": "info"}


class StatusIcon(QLabel):
    """Just the icon, sized for a shared screen (32 px by default)."""

    def __init__(self, state: str = "off", size: int = 32, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self._state = ""
        self.setFixedSize(size, size)
        self.set_state(state)

    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        if state not in ICON_FOR_STATE:
            raise ValueError(f"unknown status {state!r}")
        self._state = state
        self.setProperty("state", state)
        self.setPixmap(pixmap(ICON_FOR_STATE[state], self._size))


class EntityStatus(QWidget):
    """Icon + entity name + a detail line (e.g. the chosen accounts) for the settings summary."""

    def __init__(self, entity: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entity = entity
        self.icon = StatusIcon("off", 36, self)
        self.title = QLabel(entity, self)
        self.title.setObjectName("SectionTitle")
        self.detail = QLabel("", self)
        self.detail.setObjectName("Muted")
        self.detail.setWordWrap(True)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.detail)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(12)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        #: the next step when the entity is on but cannot sync yet (e.g. "Map concepts…"); hidden otherwise
        self.action = QPushButton("", self)
        self.action.setObjectName("Primary")
        self.action.setVisible(False)
        self.action.setAccessibleName(self.tr("{0}: next step").format(entity))
        row.addWidget(self.action, 0, Qt.AlignmentFlag.AlignTop)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # Never squeezed below one line of title and one of detail (a short window squeezed the rows
        # into each other); the space comes from the tables below, which scroll.
        self.setMinimumHeight(self.title.sizeHint().height() + self.detail.sizeHint().height() + 10)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Ask for the height the wrapped detail needs at this width (layouts do not pass
        height-for-width up through the window's grid, so a short window overlapped the rows)."""
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        layout = self.layout()
        needed = layout.heightForWidth(self.width()) if layout is not None and layout.hasHeightForWidth() else -1
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    @property
    def on(self) -> bool:
        return self.icon.state == "on"

    def set_status(self, on: bool, detail: str = "", *, action: str = "") -> None:
        """``on`` shows the green check; off shows the red x with "Off" or, when the entity is on but
        cannot sync yet, the reason as ``detail`` and the next step as the ``action`` button's text."""
        self.icon.set_state("on" if on else "off")
        words = self.tr("On") if on else self.tr("Off")
        if not on and detail:
            words = self.tr("Needs attention")
        self.action.setText(action)
        self.action.setAccessibleName(f"{self.entity}: {action}" if action else self.tr("{0}: next step").format(
            self.entity))
        self.action.setVisible(bool(action))
        self.detail.setText(detail or words)
        _invalidate(self.layout())  # new text at the same width: no resize event would ask again
        self._fit_height()
        self.setAccessibleName(f"{self.entity}: {words}")
        self.setAccessibleDescription(detail or words)
        self.setToolTip(f"{self.entity}: {words}" + (f" — {detail}" if detail else ""))


def _invalidate(layout: QLayout | None) -> None:
    """Forget the height-for-width ``layout`` and the layouts in it cached (each caches its own, and
    invalidating the outer one leaves the inner ones' stale)."""
    if layout is None:
        return
    layout.invalidate()
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item is not None:
            _invalidate(item.layout())
