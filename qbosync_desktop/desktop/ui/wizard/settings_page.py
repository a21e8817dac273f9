"""Wizard page 2 — Sync Settings: the shared form; Next only when valid, the reason shown in words."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWizardPage

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.background import run_in_background
from qbosync_desktop.desktop.ui.settings_form import IssueBar, SyncSettingsForm
from qbosync_desktop.desktop.ui.text import heading


class SettingsPage(QWizardPage):
    """Wraps :class:`SyncSettingsForm`. Leaving the page saves the settings off the GUI thread first."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle(heading(self.tr("QuickBooks Online Sync Settings")))
        self.setSubTitle(self.tr("Decide what is synced. Clients and Sites are two-way; Invoices, Payments and "
                                 "Contractor bills go from Work into QuickBooks."))
        self.form: SyncSettingsForm | None = None
        self._saved = False
        self._saving = False
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.issue_bar: IssueBar | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.scroll, 1)

    def initializePage(self) -> None:
        session = self.ctx.session
        self.form = SyncSettingsForm(self.ctx.initial_settings(), load_accounts=session.load_accounts,
                                     load_work=session.load_work)
        self.form.validity_changed.connect(lambda _ok, _why: emit(self.completeChanged))
        self.ctx.account_name = self.form.account_name
        self.scroll.setWidget(self.form)
        if self.issue_bar is not None:
            self.issue_bar.setParent(None)
            self.issue_bar.deleteLater()
        self.issue_bar = IssueBar(self.form, self)
        self._layout.addWidget(self.issue_bar)
        self._saved = False
        emit(self.completeChanged)

    def isComplete(self) -> bool:
        return self.form is not None and not self._saving and self.form.is_valid()

    def reason(self) -> str:
        return self.form.reason_text() if self.form is not None else ""

    def validatePage(self) -> bool:
        """Save first (in the background); the wizard moves on when the save has committed."""
        if self._saved:
            return True
        if self.form is None or self._saving:
            return False
        self._saving = True
        emit(self.completeChanged)
        run_in_background(self, self.ctx.session.save_settings, self.form.settings(), self.form.accounts_for_save(),
                          self.form.tax_for_save(), on_done=self._done, on_error=self._failed)
        return False

    def _done(self, _settings: Any) -> None:
        self._saving = False
        self._saved = True
        emit(self.completeChanged)
        self.wizard().next()

    def _failed(self, exc: BaseException) -> None:
        self._saving = False
        emit(self.completeChanged)
        if self.issue_bar is not None:
            self.issue_bar.label.setText(f"{exc.message} {exc.hint}" if isinstance(exc, QboSyncError) else str(exc))
            self.issue_bar.setVisible(True)
