"""One-click Connect: with a publisher profile (the Intuit app's keys shipped with the app, here in a
file named by QBOSYNC_PUBLISHER_PROFILE and pointing at the practice QuickBooks server standing in for
Intuit) the admin sees only "Connect to QuickBooks"; one press signs in through the real OAuth path.
The profile's client secret ends up in the keyring only — not in SQLite, not in the log."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QWizard

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.core.publisher import ENV_VAR, load_profile
from qbosync_desktop.desktop.ui.session import Session
from qbosync_desktop.desktop.ui.wizard.wizard import SetupWizard, WizardContext
from qbosync_desktop.runtime.workspace import Workspace
from tests.fixtures.qbo_client import follow_consent


def test_no_profile_means_the_keys_form_is_open(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("QBOSYNC_RESOURCES", str(tmp_path))
    assert load_profile() is None
    (tmp_path / "publisher.json").write_text(json.dumps({"client_id": "abc"}))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_profile()


@pytest.mark.timeout(120)
def test_profile_connects_with_one_button(qtbot, home, practice, monkeypatch, tmp_path, caplog):
    cfg = practice.qbo_config
    profile = tmp_path / "publisher.json"
    profile.write_text(json.dumps({"app_name": "QBO Sync", "client_id": cfg.client_id,
                                   "client_secret": cfg.client_secret, "redirect_uri": cfg.redirect_uri,
                                   "environment": "practice", "discovery_url": cfg.discovery_url}))
    monkeypatch.setenv(ENV_VAR, str(profile))
    followed: list[str] = []

    def browser(url: str) -> None:  # the person signs in and approves in the browser
        followed.append(url)
        import requests

        requests.get(follow_consent(url), timeout=10)

    ws = Workspace.open(home)
    session = Session(ws, schedule=False, open_url=browser)
    try:
        wizard = SetupWizard(WizardContext(session))
        qtbot.addWidget(wizard)
        wizard.show()
        page = wizard.connect_page
        assert page.uses_profile()
        assert page.connect_button.isVisible() and not page.client_id.isVisible() and not page.advanced_box.isVisible()
        assert page.advanced_button.isVisible() and not page.advanced_button.isChecked()
        page.connect_button.click()
        qtbot.waitUntil(lambda: page._qbo_company is not None, timeout=30_000)
        assert followed and ws.connection.client_id == cfg.client_id and ws.connection.state == "connected"
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled(), "Work is not connected yet"
        # Advanced still offers the developer-keys form
        page.advanced_button.click()
        assert page.client_id.isVisible() and not page.uses_profile()
    finally:
        session.close()
        qtbot.waitUntil(lambda: not session.service.thread.is_alive(), timeout=30_000)
        ws.close()
    stored = list(home.data_dir.glob("qbosync.sqlite3*"))
    assert home.db_path in stored
    for path in stored:
        assert cfg.client_secret.encode() not in path.read_bytes(), path
    assert cfg.client_secret not in caplog.text
