"""Connecting a company against the practice sandbox: both completions, state, denial, keyring."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import keyring
import pytest
import requests
from fixtures.qbo_client import connect_sandbox, follow_consent, oauth_for
from keyring.backends import fail

from qbosync_desktop.connectors.qbo.oauth.authorize import Authorizer, TokenManager, save_client_secret
from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.secrets import SecretStore


def with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_loopback_completion_saves_tokens_and_reads_the_company_name(qbo_sandbox, home, memory_keyring):
    oauth, result = connect_sandbox(qbo_sandbox, home)
    store = SecretStore(home)
    assert result.realm_id == qbo_sandbox.config.realm_id
    assert result.company_name == qbo_sandbox.store.get("CompanyInfo", "1")["CompanyName"]
    assert store.get(secrets.QBO_ACCESS_TOKEN) and store.get(secrets.QBO_REFRESH_TOKEN)
    assert float(store.get(secrets.QBO_ACCESS_EXPIRES_AT)) == pytest.approx(result.access_expires_at)
    # the saved tokens work against the API as they are (no refresh needed)
    tm = TokenManager(store, home, oauth, result.realm_id)
    resp = requests.get(
        f"{oauth.api_base}/company/{result.realm_id}/companyinfo/{result.realm_id}",
        headers={"Authorization": f"Bearer {tm.access_token()}", "Accept": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 200 and tm.refresh_count == 0
    # nothing secret outside the keyring
    for f in home.data_dir.rglob("*"):
        if f.is_file():
            text = f.read_bytes()
            assert all(v.encode() not in text for v in memory_keyring.values() if len(v) > 8)


def test_the_listener_answers_the_browser_with_a_connected_page(qbo_sandbox, home):
    save_client_secret(SecretStore(home), qbo_sandbox.config.client_secret)
    with Authorizer(oauth_for(qbo_sandbox), SecretStore(home)) as auth:
        location = follow_consent(auth.begin())
        assert auth.listening and location.startswith(qbo_sandbox.config.redirect_uri)
        page = requests.get(location, timeout=10)
        assert "Connected \u2014 you can close this window" in page.text
        assert requests.get(location.split("?")[0].rsplit("/", 1)[0] + "/favicon.ico", timeout=10).status_code == 404
        assert auth.complete(timeout=10).company_name


def test_pasted_address_completes_an_https_redirect(qbo_sandbox, home):
    https_redirect = "https://connect.example.com/qbo/callback"
    qbo_sandbox.register_redirect_uri(https_redirect)
    store = SecretStore(home)
    save_client_secret(store, qbo_sandbox.config.client_secret)
    with Authorizer(oauth_for(qbo_sandbox, https_redirect), store) as auth:
        location = follow_consent(auth.begin())
        assert not auth.listening  # production-style keys: no local listener
        assert location.startswith(https_redirect)
        threading.Timer(0.1, auth.submit_pasted, args=(f"  {location}\n",)).start()
        result = auth.complete(timeout=10)
    assert result.realm_id == qbo_sandbox.config.realm_id
    assert store.get(secrets.QBO_REFRESH_TOKEN)


def test_paste_works_while_the_listener_waits(qbo_sandbox, home):
    save_client_secret(SecretStore(home), qbo_sandbox.config.client_secret)
    with Authorizer(oauth_for(qbo_sandbox), SecretStore(home)) as auth:
        location = follow_consent(auth.begin())
        assert auth.listening
        auth.submit_pasted("?" + location.split("?", 1)[1])  # just the query part is enough
        assert auth.complete(timeout=10).realm_id == qbo_sandbox.config.realm_id
        assert not auth.listening  # closed after completing


def test_a_redirect_with_another_state_is_refused(qbo_sandbox, home):
    store = SecretStore(home)
    save_client_secret(store, qbo_sandbox.config.client_secret)
    with Authorizer(oauth_for(qbo_sandbox), store) as auth:
        forged = with_param(follow_consent(auth.begin()), state="attacker-state")
        page = requests.get(forged, timeout=10)
        assert "Could not finish connecting" in page.text
        with pytest.raises(errors.AuthorizationFailed) as info:
            auth.complete(timeout=10)
    assert info.value.details["reason"] == "state mismatch"
    assert store.get(secrets.QBO_REFRESH_TOKEN) is None


def test_denied_consent_becomes_authorization_denied(make_qbo_sandbox, home):
    sb = make_qbo_sandbox(auto_consent=False)
    store = SecretStore(home)
    save_client_secret(store, sb.config.client_secret)
    with Authorizer(oauth_for(sb), store) as auth:
        url = auth.begin()
        consent = requests.get(url, allow_redirects=False, timeout=10)
        assert consent.status_code == 200  # the consent page
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        answer = requests.post(
            url.split("?")[0], data={**params, "decision": "cancel"}, allow_redirects=False, timeout=10
        )
        page = requests.get(answer.headers["Location"], timeout=10)
        assert "not granted" in page.text
        with pytest.raises(errors.AuthorizationDenied):
            auth.complete(timeout=10)
    assert store.get(secrets.QBO_ACCESS_TOKEN) is None


def test_waiting_times_out_and_can_be_cancelled(qbo_sandbox, home):
    save_client_secret(SecretStore(home), qbo_sandbox.config.client_secret)
    auth = Authorizer(oauth_for(qbo_sandbox), SecretStore(home))
    auth.begin()
    try:
        with pytest.raises(errors.AuthorizationFailed):
            auth.wait(timeout=0.2)
        cancel = threading.Event()
        threading.Timer(0.1, cancel.set).start()
        with pytest.raises(errors.Cancelled):
            auth.wait(timeout=10, cancel=cancel)
        with pytest.raises(errors.AuthorizationFailed):
            auth.submit_pasted("hello")
    finally:
        auth.close()


def test_a_used_code_is_refused_cleanly(qbo_sandbox, home):
    store = SecretStore(home)
    save_client_secret(store, qbo_sandbox.config.client_secret)
    auth = Authorizer(oauth_for(qbo_sandbox), store)
    location = follow_consent(auth.begin())
    auth.close()
    auth.finish(location)
    with pytest.raises(errors.AuthorizationFailed) as info:
        auth.finish(location)  # the browser's back button, or a second paste
    assert info.value.details["oauth_error"] == "invalid_grant"


def test_unavailable_keyring_stops_before_the_browser_opens(qbo_sandbox, home):
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        auth = Authorizer(oauth_for(qbo_sandbox), SecretStore(home))
        with pytest.raises(errors.KeyringUnavailable):
            auth.begin()
        assert not auth.listening
        with pytest.raises(errors.KeyringUnavailable):
            TokenManager(SecretStore(home), home, oauth_for(qbo_sandbox), "1").access_token()
    finally:
        keyring.set_keyring(previous)
    assert not (home.data_dir / "secrets-insecure.json").exists()  # no silent plaintext fallback


def test_connect_interactive_runs_the_whole_flow_for_the_cli_and_wizard(qbo_sandbox, home):
    from qbosync_desktop.connectors.qbo.oauth.authorize import connect_interactive

    store = SecretStore(home)
    save_client_secret(store, qbo_sandbox.config.client_secret)
    seen = []

    def browser(url: str) -> None:  # what the system browser does, off the waiting thread
        threading.Thread(target=lambda: requests.get(follow_consent(url), timeout=10)).start()

    result = connect_interactive(oauth_for(qbo_sandbox), store, open_browser=browser, timeout=10,
                                 on_authorizer=seen.append)
    assert result.company_name == qbo_sandbox.store.get("CompanyInfo", "1")["CompanyName"]
    assert len(seen) == 1 and not seen[0].listening
