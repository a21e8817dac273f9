""""Edit settings" from the integration window: the same form as the wizard, saved off the GUI thread."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.desktop.ui.background import run_in_background
from qbosync_desktop.desktop.ui.settings_form import IssueBar, SyncSettingsForm
from qbosync_desktop.sync.rules.settings import SyncSettings


class SettingsDialog(QDialog):
    """Save is enabled only while the form is valid; the save runs in the background."""

    def __init__(self, session: Any, settings: SyncSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(self.tr("Sync Settings"))
        self.setAccessibleName(self.windowTitle())
        self.resize(760, 620)
        self.form = SyncSettingsForm(settings, load_accounts=session.load_accounts, load_work=session.load_work)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self.issue_bar = IssueBar(self.form, self)
        self.status = QLabel("", self)
        self.status.setObjectName("Reason")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("Primary")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.form.validity_changed.connect(lambda ok, _why: self.save_button.setEnabled(ok))
        self.save_button.setEnabled(self.form.is_valid())
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.issue_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.saved: SyncSettings | None = None

    def save(self) -> None:
        settings = self.form.settings()
        accounts = self.form.accounts_for_save()
        self.save_button.setEnabled(False)
        run_in_background(self, self.session.save_settings, settings, accounts, self.form.tax_for_save(),
                          on_done=self._saved, on_error=self._failed)

    def _saved(self, settings: SyncSettings) -> None:
        self.saved = settings
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.status.setText(exc.message + " " + exc.hint if isinstance(exc, QboSyncError) else str(exc))
