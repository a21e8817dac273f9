"""With a data folder the practice company, its ids, its deletions, requestid answers and the OAuth
grant survive a restart; without one nothing is written to disk."""

from __future__ import annotations

import requests

from qbosync_desktop.sandbox.qbo import QboSandbox
from qbosync_desktop.sandbox.qbo.testing import qbo_sandbox_tokens
from tests.fixtures.qbo_sandbox import qbo_session


def test_company_and_credentials_survive_restart(tmp_path):
    data = tmp_path / "qbo"
    first = QboSandbox(auto_consent=True, throttle=False, data_dir=data, realm_id="4620816365000001")
    cfg1 = first.start()
    try:
        tokens = qbo_sandbox_tokens(first)
        http = qbo_session(first, tokens)
        made = http.post(f"{http.company_url}/customer", json={"DisplayName": "Kept Co"},
                         params={"requestid": "keep-1"}, timeout=10).json()
        bill = first.store.all("Bill")[0]
        first.user.delete("Bill", bill["Id"])
        seeded = len(first.store.all("Customer"))
    finally:
        first.stop()

    second = QboSandbox(auto_consent=True, throttle=False, data_dir=data, realm_id="999")
    cfg2 = second.start()
    try:
        assert (cfg2.realm_id, cfg2.client_id, cfg2.client_secret, cfg2.redirect_uri) == (
            "4620816365000001", cfg1.client_id, cfg1.client_secret, cfg1.redirect_uri)
        assert len(second.store.all("Customer")) == seeded  # not seeded twice
        kept = second.store.get("Customer", made["Customer"]["Id"])
        assert kept["DisplayName"] == "Kept Co" and kept["MetaData"] == made["Customer"]["MetaData"]
        http = qbo_session(second, tokens)  # the old access token still works
        replay = http.post(f"{http.company_url}/customer", json={"DisplayName": "Kept Co"},
                           params={"requestid": "keep-1"}, timeout=10)
        assert replay.json() == made
        new = http.post(f"{http.company_url}/customer", json={"DisplayName": "After Restart"}, timeout=10).json()
        assert int(new["Customer"]["Id"]) == int(made["Customer"]["Id"]) + 1
        assert second.store.deleted("Bill") == [bill["Id"]]
        refreshed = requests.post(cfg2.base_url + "/oauth2/v1/tokens/bearer", timeout=10,
                                  data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                                  auth=(cfg2.client_id, cfg2.client_secret))
        assert refreshed.status_code == 200
    finally:
        second.stop()


def test_without_data_dir_each_start_is_fresh(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    a = QboSandbox(throttle=False)
    cfg_a = a.start()
    a.user.create("Customer", {"DisplayName": "Ephemeral"})
    a.stop()
    b = QboSandbox(throttle=False)
    cfg_b = b.start()
    try:
        assert cfg_a.client_secret != cfg_b.client_secret
        assert b.store.find("Customer", DisplayName="Ephemeral") == []
    finally:
        b.stop()
    assert list(cwd.iterdir()) == []


def test_empty_seed_has_no_data(make_qbo_sandbox):
    sb = make_qbo_sandbox(seed="empty")
    assert sb.store.all("Customer") == [] and sb.store.all("Account") == []
