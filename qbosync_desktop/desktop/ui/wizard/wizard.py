"""The setup wizard: Connect → Sync Settings → Review → Enable Integration (the seed's flow).

:class:`WizardContext` is what the pages share: the session (workspace + sync service), the practice
servers when the person chose the practice company, the settings to start from, and the preview's
record count (the Enable page's progress total). Pages never talk to each other directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard

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
        return self.suggested_settings or self.workspace.settings()

    def start_practice(self) -> Any:
        """Background: start the practice servers (once), connect through the real paths, and suggest
        the practice settings (everything on, accounts by their usual names)."""
        if self.session.practice is None:
            self.session.practice = self.practice_factory(self.workspace)
        conn = connect_practice(self.workspace, self.session.practice)
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
        data = ui_settings().value("wizard/geometry")
        if isinstance(data, QByteArray) and not data.isEmpty():
            self.restoreGeometry(data)
        else:
            self.resize(900, 860)

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
