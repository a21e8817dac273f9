"""Wizard page 1 — Connect: QuickBooks (a real company or the practice one) and Work.

The seed's flow: "Select Connect to QuickBooks. This will bring up the QuickBooks authorization page
... If you successfully authorize access the window will close and you will be brought to the
QuickBooks Online Sync Settings." Signing in waits for a browser, so it runs on a background thread;
the page completes by itself when the loopback redirect arrives, or when the person pastes the
address the browser was sent to (production Intuit keys need an HTTPS redirect page, QBO_API_NOTES).

With a publisher profile (:mod:`qbosync_desktop.core.publisher`: the Intuit app's keys shipped with
the app) the admin sees only **Connect to QuickBooks**; the developer-keys form (Client ID, secret,
redirect URI, environment) is under **Advanced**, open by itself when no profile is shipped.

"Practice company" starts both practice servers in this process and connects through the very same
OAuth and Work code paths (practice.connect_practice), so a rehearsal exercises the real thing.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.core.publisher import PublisherProfile, load_profile
from qbosync_desktop.desktop.signals import emit
from qbosync_desktop.desktop.ui.background import run_in_background
from qbosync_desktop.desktop.ui.text import heading

DEFAULT_REDIRECT = "http://localhost:8725/callback"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, QboSyncError):
        return f"{exc.message} {exc.hint}".strip()
    return str(exc) or type(exc).__name__


class ConnectPage(QWizardPage):
    """Complete when QuickBooks and Work are both connected."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle(heading(self.tr("Connect QuickBooks and Work")))
        self.setSubTitle(self.tr("Choose the QuickBooks company to sync with Work, sign in, then connect Work."))
        self._qbo_company: str | None = None
        self._work_company: str | None = None
        self._authorizer: Any = None
        self._cancel = threading.Event()
        self.busy = False
        self.profile: PublisherProfile | None = None
        self.profile_error = ""
        try:
            self.profile = load_profile()
        except QboSyncError as exc:  # a broken profile: say so, and the keys form stays usable
            self.profile_error = _error_text(exc)

        self.real_choice = QRadioButton(self.tr("My QuickBooks company"), self)
        self.practice_choice = QRadioButton(self.tr("Practice company (runs on this computer; nothing is sent "
                                                    "anywhere)"), self)
        group = QButtonGroup(self)
        group.addButton(self.real_choice)
        group.addButton(self.practice_choice)
        self.real_choice.setChecked(True)
        self.real_choice.toggled.connect(self._mode_changed)

        # Real company: sign-in (keys from the publisher profile, or under Advanced), paste box, Work
        self.real_box = QFrame(self)
        self.real_box.setObjectName("Card")
        form = QFormLayout(self.real_box)
        form.setContentsMargins(18, 14, 18, 14)
        form.setVerticalSpacing(8)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.sign_in_hint = QLabel(self.tr("Sign in as an admin of the QuickBooks company. QBO Sync asks for "
                                           "accounting access only."), self.real_box)
        self.sign_in_hint.setWordWrap(True)
        self.sign_in_hint.setObjectName("Muted")
        if self.profile_error:
            self.sign_in_hint.setText(self.profile_error)
            self.sign_in_hint.setObjectName("Reason")
        form.addRow(self.sign_in_hint)
        self.advanced_button = QToolButton(self.real_box)
        self.advanced_button.setText(self.tr("Advanced: use your own Intuit app keys"))
        self.advanced_button.setAccessibleName(self.tr("Advanced: use your own Intuit app keys"))
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.toggled.connect(self._advanced_toggled)
        self.advanced_box = QWidget(self.real_box)
        keys = QFormLayout(self.advanced_box)
        keys.setContentsMargins(0, 0, 0, 0)
        keys.setVerticalSpacing(8)
        self.client_id = QLineEdit(self.real_box)
        self.client_id.setAccessibleName(self.tr("Intuit app client ID"))
        self.client_secret = QLineEdit(self.real_box)
        self.client_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.client_secret.setAccessibleName(self.tr("Intuit app client secret"))
        self.client_secret.setPlaceholderText(self.tr("kept in the system keyring"))
        self.redirect_uri = QLineEdit(DEFAULT_REDIRECT, self.real_box)
        self.redirect_uri.setAccessibleName(self.tr("Redirect URI"))
        self.environment = QComboBox(self.real_box)
        self.environment.setAccessibleName(self.tr("QuickBooks environment"))
        self.environment.addItem(self.tr("Sandbox (development keys)"), "sandbox")
        self.environment.addItem(self.tr("Production"), "production")
        for w in (self.client_id, self.client_secret, self.redirect_uri, self.environment):
            w.setParent(self.advanced_box)
        keys.addRow(self.tr("Client ID"), self.client_id)
        keys.addRow(self.tr("Client secret"), self.client_secret)
        keys.addRow(self.tr("Redirect URI"), self.redirect_uri)
        keys.addRow(self.tr("Environment"), self.environment)
        self.connect_button = QPushButton(self.tr("Connect to QuickBooks"), self.real_box)
        self.connect_button.setObjectName("Primary")
        self.connect_button.clicked.connect(self.connect_quickbooks)
        self.cancel_connect_button = QPushButton(self.tr("Stop waiting"), self.real_box)
        self.cancel_connect_button.clicked.connect(self._cancel.set)
        self.cancel_connect_button.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.connect_button)
        row.addWidget(self.cancel_connect_button)
        row.addStretch(1)
        form.addRow(row)
        self.paste = QLineEdit(self.real_box)
        self.paste.setAccessibleName(self.tr("The address QuickBooks sent your browser to"))
        self.paste.setPlaceholderText(self.tr("If the browser did not come back here, paste its address here"))
        self.paste_button = QPushButton(self.tr("Use this address"), self.real_box)
        self.paste_button.clicked.connect(self.use_pasted)
        self.paste_button.setEnabled(False)
        prow = QHBoxLayout()
        prow.addWidget(self.paste, 1)
        prow.addWidget(self.paste_button)
        form.addRow(prow)
        form.addRow(self.advanced_button)
        form.addRow(self.advanced_box)
        # Without a profile the keys are needed: Advanced starts open
        self.advanced_button.setChecked(self.profile is None)
        self._advanced_toggled(self.profile is None)
        self.work_url = QLineEdit(self.real_box)
        self.work_url.setAccessibleName(self.tr("Work address"))
        self.work_url.setPlaceholderText(self.tr("https://yourcompany.work.example/api"))
        self.work_key = QLineEdit(self.real_box)
        self.work_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.work_key.setAccessibleName(self.tr("Work API key"))
        self.work_key.setPlaceholderText(self.tr("kept in the system keyring"))
        self.test_work_button = QPushButton(self.tr("Test connection"), self.real_box)
        self.test_work_button.clicked.connect(self.connect_work)
        form.addRow(self.tr("Work address"), self.work_url)
        form.addRow(self.tr("Work API key"), self.work_key)
        form.addRow(self.test_work_button)

        # Practice company
        self.practice_box = QFrame(self)
        self.practice_box.setObjectName("Card")
        pl = QVBoxLayout(self.practice_box)
        pl.setContentsMargins(18, 14, 18, 14)
        info = QLabel(self.tr("A practice QuickBooks company and a Work demo company start on this computer, with "
                              "sample clients, invoices and contractors. The sign-in, the sync and every screen "
                              "are the real ones — use it to rehearse onboarding."), self.practice_box)
        info.setWordWrap(True)
        self.practice_button = QPushButton(self.tr("Start the practice company"), self.practice_box)
        self.practice_button.setObjectName("Primary")
        self.practice_button.clicked.connect(self.start_practice)
        pl.addWidget(info)
        pl.addWidget(self.practice_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Connection status"))
        self.qbo_status = QLabel(self.tr("QuickBooks: not connected"), self)
        self.qbo_status.setObjectName("SectionTitle")
        self.work_status = QLabel(self.tr("Work: not connected"), self)
        self.work_status.setObjectName("SectionTitle")

        # The page scrolls vertically (the real-company form with Advanced open is taller than a 650 px
        # screen); never sideways
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget(self.scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        layout = QVBoxLayout(content)
        layout.setSpacing(10)
        layout.addWidget(self.real_choice)
        layout.addWidget(self.practice_choice)
        layout.addWidget(self.real_box)
        layout.addWidget(self.practice_box)
        layout.addWidget(self.qbo_status)
        layout.addWidget(self.work_status)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.scroll.setWidget(content)
        self._mode_changed()

    # ------------------------------------------------------------------ page
    def initializePage(self) -> None:
        conn = self.ctx.connection_info()
        if conn:
            if conn.get("client_id") and conn.get("environment") != "practice":
                self.client_id.setText(conn["client_id"])
                self.redirect_uri.setText(conn.get("redirect_uri") or DEFAULT_REDIRECT)
            if conn.get("state") == "connected" and conn.get("realm_id"):
                self._set_qbo(conn.get("company_name") or conn["realm_id"])
            if conn.get("work_base_url"):
                self.work_url.setText(conn["work_base_url"])
                self._set_work(conn.get("work_company_name") or conn["work_base_url"])
        if self.ctx.practice_mode:
            self.practice_choice.setChecked(True)

    def isComplete(self) -> bool:
        return bool(self._qbo_company and self._work_company) and not self.busy

    def _advanced_toggled(self, on: bool) -> None:
        self.advanced_box.setVisible(on)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def uses_profile(self) -> bool:
        """Connect with the publisher's keys (a profile exists and Advanced is closed)."""
        return self.profile is not None and not self.advanced_button.isChecked()

    def _mode_changed(self) -> None:
        practice = self.practice_choice.isChecked()
        self.real_box.setVisible(not practice)
        self.practice_box.setVisible(practice)

    def _busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        for w in (self.connect_button, self.practice_button, self.test_work_button, self.real_choice,
                  self.practice_choice):
            w.setEnabled(not busy)
        if text:
            self.status.setText(text)
        emit(self.completeChanged)

    def _set_qbo(self, name: str) -> None:
        self._qbo_company = name
        self.qbo_status.setText(self.tr("QuickBooks: connected to “{0}”").format(name))

    def _set_work(self, name: str) -> None:
        self._work_company = name
        self.work_status.setText(self.tr("Work: connected to “{0}”").format(name))

    def _failed(self, exc: BaseException) -> None:
        self.cancel_connect_button.setVisible(False)
        self.paste_button.setEnabled(False)
        self._busy(False, self.tr("Not connected: {0}").format(_error_text(exc)))

    # ------------------------------------------------------------------ actions
    def connect_quickbooks(self) -> None:
        profile = self.profile if self.uses_profile() else None
        if profile is not None:
            env, client_id, secret, redirect = (profile.environment, profile.client_id, profile.client_secret,
                                                profile.redirect_uri)
        else:
            env = self.environment.currentData()
            client_id, secret = self.client_id.text().strip(), self.client_secret.text()
            redirect = self.redirect_uri.text().strip() or DEFAULT_REDIRECT
        if not client_id:
            self.advanced_button.setChecked(True)
            self.status.setText(self.tr("Enter the client ID of your Intuit app (developer.intuit.com → Keys)."))
            self.client_id.setFocus()
            return
        self._cancel.clear()
        workspace, open_url = self.ctx.workspace, self.ctx.open_url
        discovery = (profile.discovery_url if profile is not None and profile.discovery_url
                     else self.ctx.discovery_url(env))

        def sign_in() -> Any:
            return workspace.connect_quickbooks(
                discovery_url=discovery, client_id=client_id, client_secret=secret or None,
                redirect_uri=redirect, environment=env, open_url=open_url, cancel=self._cancel,
                on_authorizer=lambda auth: setattr(self, "_authorizer", auth))

        self.cancel_connect_button.setVisible(True)
        self.paste_button.setEnabled(True)
        self._busy(True, self.tr("Sign in to QuickBooks in your browser and choose Connect. This page continues "
                                 "by itself when QuickBooks sends you back."))
        run_in_background(self, sign_in, on_done=self._qbo_connected, on_error=self._failed)

    def use_pasted(self) -> None:
        auth = self._authorizer
        if auth is None:
            return
        try:
            auth.submit_pasted(self.paste.text())
        except QboSyncError as exc:
            self.status.setText(_error_text(exc))

    def _qbo_connected(self, conn: Any) -> None:
        self.cancel_connect_button.setVisible(False)
        self.paste_button.setEnabled(False)
        self._set_qbo(conn.company_name or conn.realm_id)
        self._busy(False, self.tr("Connected to QuickBooks. Now connect Work."))

    def connect_work(self) -> None:
        url, key = self.work_url.text().strip(), self.work_key.text().strip()
        if not url or not key:
            self.status.setText(self.tr("Enter the Work address and an API key (Work: Settings > API keys)."))
            return
        self._busy(True, self.tr("Testing the Work connection…"))
        run_in_background(self, self.ctx.workspace.connect_work, url, key, on_done=self._work_connected,
                          on_error=self._failed)

    def _work_connected(self, message: str) -> None:
        conn = self.ctx.connection_info() or {}
        self._set_work(conn.get("work_company_name") or message)
        self._busy(False, message)

    def start_practice(self) -> None:
        self._busy(True, self.tr("Starting the practice company and signing in…"))
        run_in_background(self, self.ctx.start_practice, on_done=self._practice_connected, on_error=self._failed)

    def _practice_connected(self, conn: Any) -> None:
        self._set_qbo(conn.company_name or conn.realm_id)
        self._set_work(conn.work_company_name or conn.work_base_url)
        self._busy(False, self.tr("Practice company connected."))
