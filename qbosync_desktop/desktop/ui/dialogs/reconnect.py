"""The reconnect dialog: QuickBooks stopped accepting the grant; sign in again, nothing else is lost.

When a token is revoked or the refresh token dies (NeedsReconnect), the only fix is a new sign-in.
Everything else — settings, concept mappings, links, history — stays, and the dialog says so, so an
admin does not think they must set the integration up again. The sign-in itself runs off the GUI
thread (it waits for the browser) through the ``reconnect`` callable the controller provides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from qbosync_desktop.core.errors import NeedsReconnect, QboSyncError
from qbosync_desktop.desktop.ui.background import run_in_background

KEEPS = ("Your sync settings, contractor concept mappings, links between records and history are all kept: "
         "after signing in, syncing continues where it stopped.")


class ReconnectDialog(QDialog):
    """Explains, then runs ``reconnect()`` on a background thread; emits accept() on success."""

    def __init__(self, reconnect: Callable[[], Any], error: QboSyncError | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        error = error or NeedsReconnect()
        self._reconnect = reconnect
        self.setWindowTitle(self.tr("Reconnect QuickBooks"))
        self.setAccessibleName(self.windowTitle())
        self.setMinimumWidth(520)
        title = QLabel(error.title, self)
        title.setObjectName("PageTitle")
        title.setWordWrap(True)
        message = QLabel(error.message, self)
        message.setWordWrap(True)
        keeps = QLabel(self.tr(KEEPS), self)
        keeps.setWordWrap(True)
        self.status = QLabel("", self)
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.later_button = self.buttons.addButton(self.tr("Later"), QDialogButtonBox.ButtonRole.RejectRole)
        self.reconnect_button = self.buttons.addButton(self.tr("Reconnect"), QDialogButtonBox.ButtonRole.ActionRole)
        self.reconnect_button.setObjectName("Primary")
        self.reconnect_button.setDefault(True)
        self.reconnect_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        for w in (title, message, keeps, self.status, self.buttons):
            layout.addWidget(w)
        self.failure: BaseException | None = None

    def start(self) -> None:
        self.reconnect_button.setEnabled(False)
        self.status.setText(self.tr("Waiting for the QuickBooks sign-in in your browser…"))
        run_in_background(self, self._reconnect, on_done=self._done, on_error=self._failed)

    def _done(self, _result: Any) -> None:
        self.status.setText(self.tr("Connected again."))
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.failure = exc
        self.reconnect_button.setEnabled(True)
        message = exc.message if isinstance(exc, QboSyncError) else str(exc)
        hint = exc.hint if isinstance(exc, QboSyncError) else ""
        self.status.setText(self.tr("Could not reconnect: {0} {1}").format(message, hint).strip())
