"""Builds the UI for :func:`qbosync_desktop.desktop.app.main`: wizard or integration window, tray, error hooks.

The data folder is opened first (``dialogs.restore_dialog.open_workspace``): a damaged database is
never opened as a new one; the person is offered the newest good copy from ``backups/`` instead.
First start with no enabled integration → the setup wizard; later starts → the integration window,
or only the tray with ``--tray``. ``--demo`` is practice mode: both practice servers start with the
app, on 127.0.0.1, in a helper process of their own (practice.PracticeProcess: serving the sync's
requests must not compete with the window) and the wizard's "Practice company" is chosen for you;
everything else — the OAuth sign-in, the keyring, the sync — is the real code.

Closing the window keeps the app in the tray. Where no system tray exists, the first close asks once
whether to keep syncing in the background (the answer is remembered in appconfig).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from qbosync_desktop import APP_NAME
from qbosync_desktop.core import appconfig
from qbosync_desktop.core.errors import ConfigurationError, NeedsReconnect
from qbosync_desktop.desktop.service import prefer_gui_latency
from qbosync_desktop.desktop.ui.background import run_in_background
from qbosync_desktop.desktop.ui.crash import CrashReporter
from qbosync_desktop.desktop.ui.dialogs.error_dialog import show_error
from qbosync_desktop.desktop.ui.integration_window import IntegrationWindow
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.style import apply_style
from qbosync_desktop.desktop.ui.tray import Tray
from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
from qbosync_desktop.runtime.workspace import Workspace

log = logging.getLogger(__name__)


class Controller(QObject):
    """Owns the session, the current top-level window and the tray."""

    def __init__(self, app: QApplication, args: argparse.Namespace, *, workspace: Any = None,
                 practice_factory: Any = None, open_url: Any = None, minute_ms: int = 60_000,
                 ask_on_close: bool = True) -> None:
        super().__init__()
        self.app = app
        self.args = args
        self.ask_on_close = ask_on_close
        apply_style(app)
        prefer_gui_latency()
        self.crash = CrashReporter(self._show_unexpected, self)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        self.crash.install(loop)
        self.workspace = workspace or Workspace.open()
        self._owns_workspace = workspace is None
        self.practice_factory = practice_factory
        self.session = Session(self.workspace, open_url=open_url, minute_ms=minute_ms, schedule=False)
        self.session.service.needs_reconnect.connect(self._needs_reconnect)
        self.session.warm_up()
        self.tray = Tray(self.session.service, self)
        self.tray.open_requested.connect(self.show_window)
        self.tray.quit_requested.connect(self.quit)
        self.tray.show()
        app.installEventFilter(self)
        self.window: QWidget | None = None
        self.wizard: Any = None
        self.integration: Any = None
        self._quitting = False
        conn = self.workspace.connection
        if args.demo and conn is not None and conn.realm_id and conn.environment != "practice" \
                and conn.state != "disconnected":
            # Practice mode would sign this folder in to the practice company and forget the real
            # company's links; refuse and say how to rehearse safely.
            self.args = args = argparse.Namespace(**{**vars(args), "demo": False})
            if self.workspace.enabled:
                self.open_integration(show=True)
            else:
                self.open_wizard(show=True)
            self._show_unexpected(ConfigurationError(
                "This data folder is connected to a real QuickBooks company, so practice mode was not started.",
                field="demo", title="Practice mode needs its own folder",
                hint="Start practice mode in a folder of its own: qbosync-desktop --demo --home ~/qbosync-practice"))
        elif self.workspace.enabled and args.demo and conn is not None and conn.environment == "practice":
            self._resume_practice(show=not args.tray)
        elif self.workspace.enabled:
            self.open_integration(show=not args.tray)
        else:
            self.open_wizard(show=True)

    # ------------------------------------------------------------------ windows
    def open_wizard(self, show: bool = True) -> None:
        ctx = WizardContext(self.session, practice_mode=bool(self.args.demo), practice_factory=self.practice_factory)
        self.wizard = SetupWizard(ctx)
        self.wizard.setWindowTitle(self.wizard.windowTitle() + (self.tr(" — Practice company") if self.args.demo
                                                                else ""))
        self.wizard.completed.connect(lambda: self.open_integration(show=True))
        self.wizard.installEventFilter(self)
        self.window = self.wizard
        if show:
            self.wizard.show()
            if self.args.demo and not self.workspace.enabled:
                self.wizard.connect_page.start_practice()

    def open_integration(self, show: bool = True) -> None:
        if self.integration is None:
            self.integration = IntegrationWindow(self.session)
            self.integration.disconnected.connect(self._disconnected)
            self.integration.status_changed.connect(self.tray.set_status_line)
            self.tray.set_status_line(self.integration.status_text)
            self.integration.installEventFilter(self)
        service = self.session.service
        service.set_schedule(self.workspace.settings().schedule_minutes)
        if self.wizard is not None:
            self.wizard.hide()
            self.wizard.deleteLater()
            self.wizard = None
        self.window = self.integration
        if show:
            self.show_window()

    def _resume_practice(self, show: bool) -> None:
        """--demo with an enabled practice company: restart its servers and sign in again (new ports)."""
        ctx = WizardContext(self.session, practice_mode=True, practice_factory=self.practice_factory)
        self.open_integration(show=show)
        run_in_background(self, ctx.start_practice, on_done=lambda _c: self.integration.refresh(),
                          on_error=self._show_unexpected)

    def show_window(self) -> None:
        w = self.window
        if w is None:
            return
        w.show()
        w.raise_()
        w.activateWindow()

    def _disconnected(self) -> None:
        self.open_wizard(show=True)
        if self.integration is not None:
            self.integration.hide()

    # ------------------------------------------------------------------ errors
    def _needs_reconnect(self, exc: NeedsReconnect) -> None:
        if self.integration is not None:
            self.open_integration(show=True)
            self.integration.open_reconnect(exc)

    def _show_unexpected(self, exc: BaseException) -> None:
        show_error(exc, self.window if self.window is not None and self.window.isVisible() else None)

    # ------------------------------------------------------------------ closing
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Closing a window hides it into the tray instead of quitting (asks once when there is no tray).

        Qt 6's ``quit()`` (Quit in the tray, logout, ``--quit-after``) first asks every window to
        close; the application's Quit event arrives before those closes, so it marks the controller as
        quitting and the closes go through instead of being turned into "hide" (or a question nobody
        is there to answer).
        """
        if obj is self.app and event.type() == QEvent.Type.Quit:
            self._quitting = True
            return False
        if event.type() == QEvent.Type.Close and obj is self.window and not self._quitting:
            if obj is self.integration and not self._keep_running_in_background():
                self.quit()
                return False
            if obj is self.integration:
                self.integration.save_geometry()
                obj.hide()
                event.ignore()
                return True
        return super().eventFilter(obj, event)

    def _keep_running_in_background(self) -> bool:
        if Tray.available():
            return True
        if appconfig.get("tray_close_asked"):
            return bool(appconfig.get("keep_running_without_tray", True))
        if not self.ask_on_close:
            return True
        answer = QMessageBox.question(
            self.window, APP_NAME,
            self.tr("Keep syncing in the background after this window closes?\n\nThere is no system tray "
                    "here, so start QBO Sync again to reopen this window."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        keep = answer == QMessageBox.StandardButton.Yes
        appconfig.set_value("tray_close_asked", True)
        appconfig.set_value("keep_running_without_tray", keep)
        return keep

    def quit(self) -> None:
        self._quitting = True
        self.shutdown()
        self.app.quit()

    def shutdown(self) -> None:
        """Stop the schedule and the worker (it finishes its batch on its own), close windows and servers."""
        self._quitting = True
        self.session.close()
        for w in (self.wizard, self.integration):
            if w is not None:
                w.close()
        self.tray.hide()
        self.app.removeEventFilter(self)
        self.crash.uninstall()
        if self.session.practice is not None:
            self.session.practice.stop()


def start_ui(app: QApplication, args: argparse.Namespace) -> Controller | None:
    """The controller, or ``None`` when the data folder cannot be used (a damaged database the person
    chose not to restore, a read-only one, a full disk): the start-up dialog has said why."""
    from qbosync_desktop.desktop.ui.dialogs.restore_dialog import open_workspace

    apply_style(app)
    workspace = open_workspace()
    if workspace is None:
        return None
    return Controller(app, args, workspace=workspace)
