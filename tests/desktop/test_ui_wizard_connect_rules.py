"""Connect page for a real company (here the practice QuickBooks server standing in for Intuit): the
sign-in completes from a pasted redirect address; Work's Test connection names the company or says
what is wrong; Next stays disabled until both are connected. The Enable page's Cancel stops the first
sync after the batch in flight."""

from __future__ import annotations

import pytest
import requests
from PySide6.QtWidgets import QWizard

from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
from qbosync_desktop.runtime.workspace import Workspace

PASTED_REDIRECT = "https://app.example.com/qbo/callback"


@pytest.fixture
def wizard_for(qtbot, home):
    made = []

    def make(workspace, **ctx_options):
        session = Session(workspace, schedule=False, open_url=ctx_options.pop("open_url", lambda url: None))
        ctx = WizardContext(session, **ctx_options)
        w = SetupWizard(ctx)
        qtbot.addWidget(w)
        made.append(session)
        return w, ctx

    yield make
    for session in made:
        session.close()
        qtbot.waitUntil(lambda s=session: not s.service.thread.is_alive(), timeout=30_000)


def test_real_company_sign_in_by_pasted_address_and_work_test(qtbot, home, practice, wizard_for):
    cfg = practice.qbo_config
    practice.qbo.register_redirect_uri(PASTED_REDIRECT)  # an HTTPS redirect page: no loopback listener
    urls: list[str] = []
    ws = Workspace.open(home)
    try:
        wizard, ctx = wizard_for(ws, open_url=urls.append)
        ctx.discovery_urls = {"sandbox": cfg.discovery_url}
        wizard.show()
        page = wizard.connect_page
        assert page.real_choice.isChecked() and not page.isComplete()
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()

        page.connect_button.click()
        assert "client ID" in page.status.text(), "nothing starts without the app's client ID"
        page.client_id.setText(cfg.client_id)
        page.client_secret.setText(cfg.client_secret)
        page.redirect_uri.setText(PASTED_REDIRECT)
        page.connect_button.click()
        qtbot.waitUntil(lambda: bool(urls) and page._authorizer is not None, timeout=10_000)
        # The person signs in in the browser; QuickBooks sends the browser to the redirect page.
        consent = requests.get(urls[0], allow_redirects=False, timeout=10)
        sent_to = consent.headers["Location"]
        assert sent_to.startswith(PASTED_REDIRECT)
        page.paste.setText("not an address")
        page.paste_button.click()
        assert "does not look like" in page.status.text()
        page.paste.setText(sent_to)
        page.paste_button.click()
        qtbot.waitUntil(lambda: page._qbo_company is not None, timeout=20_000)
        assert "connected to" in page.qbo_status.text()
        assert not page.isComplete(), "Work is not connected yet"

        page.work_url.setText(practice.work_config.base_url)
        page.work_key.setText("wrong-key-123456")
        page.test_work_button.click()
        qtbot.waitUntil(lambda: not page.busy, timeout=10_000)
        assert page.status.text().startswith("Not connected") and page._work_company is None
        page.work_key.setText(practice.work_config.api_key)
        page.test_work_button.click()
        qtbot.waitUntil(page.isComplete, timeout=10_000)
        assert "connected to" in page.work_status.text()
        assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        assert ws.connection.environment == "sandbox" and ws.connection.state == "connected"
    finally:
        ws.close()


def test_enable_page_cancel_stops_after_the_batch_in_flight(qtbot, home, make_practice, wizard_for):
    from qbosync_desktop.runtime.practice import connect_practice, practice_settings
    from qbosync_desktop.store.models.outbox import OutboxEntry

    practice = make_practice(latency_ms=25)
    ws = Workspace.open(home)
    try:
        connect_practice(ws, practice)
        ws.save_settings(practice_settings(ws))
        wizard, ctx = wizard_for(ws)
        wizard.setStartId(wizard.pageIds()[-1])  # straight to Enable Integration
        wizard.show()
        enable = wizard.enable_page
        assert enable.running and not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
        qtbot.waitUntil(lambda: enable.table.rowCount() >= 1, timeout=60_000)
        enable.cancel_button.click()
        assert "Stopping after the current batch" in enable.phase_label.text()
        qtbot.waitUntil(lambda: enable.summary is not None, timeout=60_000)
        assert enable.summary.state == "cancelled"
        assert "cancelled" in enable.result_label.text() and "kept" in enable.result_label.text()
        assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
        assert OutboxEntry.select().where(OutboxEntry.state.in_(("pending", "sent"))).count() == 0
        assert ws.enabled, "Enable Integration recorded the integration date"
    finally:
        ws.close()
