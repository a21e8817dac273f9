"""The setup wizard: Connect → Sync Settings → Review → Enable Integration (the seed's flow).

:class:`WizardContext` is what the pages share: the session (workspace + sync service), the practice
servers when the person chose the practice company, the settings to start from, and the preview's
record count (the Enable page's progress total). Pages never talk to each other directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QPushButton, QWidget, QWizard

from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.qsettings import ui_settings
from qbosync_desktop.desktop.ui.session import intuit_discovery_url
from qbosync_desktop.desktop.ui.style import icon
from qbosync_desktop.desktop.ui.wizard.connect import ConnectPage
from qbosync_desktop.desktop.ui.wizard.enable import EnablePage
from qbosync_desktop.desktop.ui.wizard.review import ReviewPage
from qbosync_desktop.desktop.ui.wizard.settings_page import SettingsPage
from qbosync_desktop.runtime.practice import PracticeProcess, connect_practice, practice_settings
from qbosync_desktop.sync.rules.settings import SyncSettings

log = logging.getLogger(__name__)


def default_practice_factory(workspace: Any) -> Any:
    """The desktop app's practice servers: in a process of their own (practice.PracticeProcess), so
    serving the sync's requests never competes with the window."""
    return PracticeProcess(data_dir=workspace.paths.data_dir / "practice")


class WizardContext:
    """Shared state of one wizard run. Blocking methods are called from background threads only."""

    def __init__(self, session: Any, *, practice_mode: bool = False,
                 practice_factory: Callable[[Any], Any] | None = None) -> None:
        self.session = session
        self.workspace = session.workspace
        self.open_url = session.open_url
        self.practice_mode = practice_mode
        self.practice_factory = practice_factory or default_practice_factory
        self.suggested_settings: SyncSettings | None = None
        self.total_estimate = 0
        #: names an account by its Id (the Sync Settings page's account list, once loaded)
        self.account_name: Callable[[str], str] | None = None
        #: environment → OpenID discovery address; Intuit's by default (a test points it at a sandbox)
        self.discovery_urls: dict[str, str] = {}

    def discovery_url(self, environment: str) -> str:
        return self.discovery_urls.get(environment) or intuit_discovery_url(environment)

    def connection_info(self) -> dict[str, Any] | None:
        """The saved connection (one local row; no secrets)."""
        conn = self.workspace.connection
        if conn is None:
            return None
        info = conn.to_dict()
        info.update(client_id=conn.client_id, redirect_uri=conn.redirect_uri)
        return info

    def initial_settings(self) -> SyncSettings:
        """The settings the Sync Settings page starts from: the saved ones when there are any (after
        Disconnect and Reconnect they are kept, as the Disconnect dialog promises), else suggestions."""
        if self.workspace.has_saved_settings:
            return self.workspace.settings()
        return self.suggested_settings or self.workspace.settings()

    def start_practice(self) -> Any:
        """Background: start the practice servers (once), connect through the real paths, and suggest
        the practice settings (everything on, accounts by their usual names)."""
        if self.session.practice is None:
            self.session.practice = self.practice_factory(self.workspace)
        conn = connect_practice(self.workspace, self.session.practice)
        if self.workspace.has_saved_settings:
            return conn  # saved settings win over suggestions (issue 17, bug 3)
        try:
            self.suggested_settings = practice_settings(self.workspace)
        except Exception:  # suggestions are a convenience; the page still loads the real lists
            log.warning("Could not prepare the practice settings", exc_info=True)
        return conn


class SetupWizard(QWizard):
    """Emits :attr:`completed` when the person lands on the integration (Finish or automatically)."""

    completed = Signal()

    def __init__(self, ctx: WizardContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("SetupWizard")
        self.setWindowTitle(self.tr("Set up QBO Sync"))
        self.setWindowIcon(icon("app"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.connect_page = ConnectPage(ctx)
        self.settings_page = SettingsPage(ctx)
        self.review_page = ReviewPage(ctx)
        self.enable_page = EnablePage(ctx)
        for page in (self.connect_page, self.settings_page, self.review_page, self.enable_page):
            self.addPage(page)
        self.accepted.connect(self._completed)
        #: the "Leave setup?" question while it is open (tests answer it)
        self.confirm_cancel: QMessageBox | None = None
        self._keyboard_safe_buttons()
        for page in (self.connect_page, self.settings_page, self.review_page, self.enable_page):
            page.completeChanged.connect(self._focus_forward)
        self.currentIdChanged.connect(lambda _id: self._focus_forward())
        data = ui_settings().value("wizard/geometry")
        if isinstance(data, QByteArray) and not data.isEmpty():
            self.restoreGeometry(data)
        else:
            self.resize(900, 860)

    # -- keyboard: Enter goes forward, Cancel asks (issue 17, bug 5) ------------------------------------
    def _keyboard_safe_buttons(self) -> None:
        """Enter presses the forward action on every page, never Cancel or Back: only the forward
        buttons are defaults, and Cancel (a button Enter would press while it has focus) asks first."""
        for which in (QWizard.WizardButton.CancelButton, QWizard.WizardButton.BackButton,
                      QWizard.WizardButton.HelpButton):
            button = self.button(which)
            if isinstance(button, QPushButton):
                button.setAutoDefault(False)
        cancel = self.button(QWizard.WizardButton.CancelButton)
        cancel.clicked.disconnect()
        cancel.clicked.connect(self.ask_cancel)

    def forward_button(self) -> QAbstractButton:
        for which in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.FinishButton):
            b = self.button(which)
            if b.isVisible():
                return b
        return self.button(QWizard.WizardButton.NextButton)

    def _focus_forward(self) -> None:
        """Make the forward button the default and, once the page is complete, give it the focus if
        the focus sits on Cancel/Back or on nothing usable (e.g. a button that just went disabled)."""
        forward = self.forward_button()
        if isinstance(forward, QPushButton):
            forward.setDefault(True)
        page = self.currentPage()
        if page is not None:
            # A page's own buttons (Start the practice company, Retry, Accept…) are pressed with Space;
            # Enter always means the forward action, also while one of them has the focus.
            for b in page.findChildren(QPushButton):
                if b.autoDefault():
                    b.setAutoDefault(False)
        if page is None or not page.isComplete() or not forward.isEnabled():
            return
        focus = QApplication.focusWidget()
        stuck = (focus is None or not focus.isEnabled() or not focus.isVisible()
                 or focus in (self.button(QWizard.WizardButton.CancelButton), self.button(QWizard.WizardButton.BackButton)))
        if stuck:
            forward.setFocus(Qt.FocusReason.OtherFocusReason)

    def ask_cancel(self) -> None:
        """Cancel (or Escape) asks before leaving: the settings chosen so far are not saved yet."""
        if self.confirm_cancel is not None and self.confirm_cancel.isVisible():
            return
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Leave setup?"),
                          self.tr("Leave the setup now? What this page has not saved yet is lost; you can start "
                                  "the setup again later."),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Leave setup"))
        box.button(QMessageBox.StandardButton.No).setText(self.tr("Stay"))
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda result: self.reject() if result == QMessageBox.StandardButton.Yes else None)
        self.confirm_cancel = box
        box.open()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.ask_cancel()
            return
        super().keyPressEvent(event)

    def _completed(self) -> None:
        self.save_geometry()
        emit(self.completed)

    def save_geometry(self) -> None:
        s = ui_settings()
        s.setValue("wizard/geometry", self.saveGeometry())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_geometry()
        super().closeEvent(event)
