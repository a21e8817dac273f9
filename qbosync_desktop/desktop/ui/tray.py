"""The tray icon: idle / syncing / needs attention, a small menu, and notifications.

The app lives in the tray and syncs in the background (DESIGN §1), so the tray is where a person
learns that something needs them: the icon turns to "attention" when problems are open or QuickBooks
needs reconnecting, and a notification is shown when a run ends with *new* problems (not on every
run that still has the same old ones — that would teach people to ignore it) or when a reconnect is
needed. The menu is rebuilt on ``aboutToShow`` so its status line is never stale (Vorta's habit).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from qbosync_desktop.desktop.service import ATTENTION, PAUSED, SYNCING
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.start_at_login import StartAtLoginAction
from qbosync_desktop.desktop.ui.style import icon
from qbosync_desktop.desktop.ui.text import tr

TRAY_ICONS = {"idle": "tray-idle", PAUSED: "tray-idle", SYNCING: "tray-syncing", ATTENTION: "tray-attention"}


class Tray(QObject):
    """Wraps QSystemTrayIcon; works (minus the visible icon) where no system tray exists."""

    open_requested = Signal()
    quit_requested = Signal()
    notified = Signal(str, str)  # title, message (also shown as a desktop notification)

    def __init__(self, service: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.icon_name = ""
        self.status_text = tr("Idle")
        #: the integration window's status line ("Up to date · synced 2 minutes ago"); wins over the state words
        self.status_line = ""
        self._known_problems: int | None = None
        self.tray = QSystemTrayIcon(self)
        self.tray.setToolTip(tr("QBO Sync"))
        self.menu = QMenu()
        self.status_action = QAction(self.status_text, self.menu)
        self.status_action.setEnabled(False)
        self.sync_action = QAction(tr("Sync now"), self.menu)
        self.sync_action.triggered.connect(lambda: self.service.sync_now())
        self.pause_action = QAction(tr("Pause"), self.menu)
        self.pause_action.triggered.connect(self.toggle_pause)
        self.open_action = QAction(tr("Open QBO Sync"), self.menu)
        self.open_action.triggered.connect(lambda: emit(self.open_requested))
        self.autostart_action = StartAtLoginAction(self.menu)
        self.autostart_action.write_failed.connect(lambda exc: self.notify(exc.title, f"{exc.message} {exc.hint}"))
        self.menu.aboutToShow.connect(self.autostart_action.refresh)
        self.quit_action = QAction(tr("Quit"), self.menu)
        self.quit_action.triggered.connect(lambda: emit(self.quit_requested))
        self.menu.aboutToShow.connect(self.update_menu)
        self._fill_menu()
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self._activated)
        service.state_changed.connect(self._on_state)
        service.finished.connect(self._on_finished)
        service.needs_reconnect.connect(self._on_reconnect)
        service.failed.connect(self._on_failed)
        self._on_state(service.state)

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        if self.available():
            self.tray.show()

    def hide(self) -> None:
        self.tray.hide()

    def _fill_menu(self) -> None:
        self.menu.clear()
        for action in (self.status_action, None, self.sync_action, self.pause_action, self.open_action,
                       self.autostart_action, None, self.quit_action):
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)

    def update_menu(self) -> None:
        """Status line and Pause/Resume reflect the service right now."""
        self.status_action.setText(self.status_text)
        self.pause_action.setText(tr("Resume") if self.service.paused else tr("Pause"))
        self.sync_action.setEnabled(not self.service.busy)

    def toggle_pause(self) -> None:
        if self.service.paused:
            self.service.resume()
        else:
            self.service.pause()
        self.update_menu()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            emit(self.open_requested)

    def _on_state(self, state: str) -> None:
        self.icon_name = TRAY_ICONS.get(state, "tray-idle")
        self.tray.setIcon(icon(self.icon_name))
        self.status_text = self.status_line or {
            SYNCING: tr("Syncing…"),
            PAUSED: tr("Scheduled syncs paused"),
            ATTENTION: tr("Needs attention"),
        }.get(state, tr("Up to date"))
        self.tray.setToolTip(tr("QBO Sync — {0}").format(self.status_text))
        self.update_menu()

    def set_status_line(self, text: str, _level: str = "") -> None:
        """The window's status line becomes the tooltip and the first menu line (same words everywhere)."""
        self.status_line = text
        self._on_state(self.service.state)

    def _on_finished(self, summary: Any) -> None:
        count = int(getattr(summary, "open_problems", 0) or 0)
        previous = self._known_problems
        self._known_problems = count
        if count and (previous is None or count > previous):
            new = count - (previous or 0)
            self.notify(tr("Sync finished with problems"),
                        tr("{0} record(s) could not be synced. Open QBO Sync to see what to do.").format(new))

    def _on_failed(self, exc: Any) -> None:
        if type(exc).__name__ == "NeedsReconnect":
            return  # its own notification
        title = getattr(exc, "title", tr("Sync stopped"))
        if not self.status_line:
            self.status_text = tr("Last sync stopped: {0}").format(title)
        self.notify(tr("Sync stopped"), f"{title}. " + str(getattr(exc, "hint", "") or ""))

    def _on_reconnect(self, exc: Any) -> None:
        self.notify(tr("QuickBooks needs to be reconnected"),
                    tr("Syncing is stopped until you sign in to QuickBooks again. Your settings are kept."))

    def notify(self, title: str, message: str) -> None:
        emit(self.notified, title, message)
        if self.available() and self.tray.isVisible():
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 10_000)
