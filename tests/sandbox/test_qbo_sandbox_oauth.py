"""The sandbox's OAuth 2 server behaves as Intuit's: discovery, consent, code exchange, rotation, revoke,
expiry and the gateway's 401 — driven with plain ``requests``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from qbosync_desktop.sandbox.qbo.testing import authorization_redirect, exchange_code, qbo_sandbox_tokens


def _token(cfg, data, auth=None):
    return requests.post(cfg.base_url + "/oauth2/v1/tokens/bearer", data=data,
                         auth=auth or (cfg.client_id, cfg.client_secret), timeout=10)


def _api(cfg, access_token, path="/companyinfo/"):
    url = f"{cfg.api_base}/company/{cfg.realm_id}{path}{cfg.realm_id if path.endswith('/') else ''}"
    return requests.get(url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                        params={"minorversion": "75"}, timeout=10)


def test_discovery_document_lists_every_endpoint(qbo_sandbox):
    cfg = qbo_sandbox.config
    doc = requests.get(cfg.discovery_url, timeout=10).json()
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "revocation_endpoint", "userinfo_endpoint",
                "jwks_uri", "scopes_supported", "response_types_supported", "token_endpoint_auth_methods_supported"):
        assert key in doc, key
    assert doc["token_endpoint"].startswith(cfg.base_url)
    assert "com.intuit.quickbooks.accounting" in doc["scopes_supported"]
    assert requests.get(doc["jwks_uri"], timeout=10).status_code == 200


def test_consent_page_connect_and_cancel(make_qbo_sandbox):
    sb = make_qbo_sandbox(auto_consent=False)
    cfg = sb.config
    params = {"client_id": cfg.client_id, "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
              "redirect_uri": cfg.redirect_uri, "state": "s-123"}
    page = requests.get(cfg.base_url + "/connect/oauth2", params=params, allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert "Connect QBO Sync Desktop to Cedar &amp; Pine Home Services" in page.text
    assert "<form method='post'" in page.text and "Cancel" in page.text
    ok = authorization_redirect(cfg, state="s-123")
    assert ok["state"] == "s-123" and ok["realmId"] == cfg.realm_id and ok["code"]
    denied = authorization_redirect(cfg, state="s-9", decision="cancel")
    assert denied == {"error": "access_denied", "state": "s-9"}


def test_auto_consent_redirects_at_once(qbo_sandbox):
    cfg = qbo_sandbox.config
    resp = requests.get(cfg.base_url + "/connect/oauth2", allow_redirects=False, timeout=10, params={
        "client_id": cfg.client_id, "response_type": "code", "scope": "com.intuit.quickbooks.accounting openid",
        "redirect_uri": cfg.redirect_uri, "state": "xyz"})
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["xyz"] and query["realmId"] == [cfg.realm_id] and query["code"][0]


@pytest.mark.parametrize("change", [{"client_id": "nope"}, {"redirect_uri": "http://localhost:1/evil"}])
def test_unknown_client_or_redirect_gets_error_page_not_redirect(qbo_sandbox, change):
    cfg = qbo_sandbox.config
    params = {"client_id": cfg.client_id, "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
              "redirect_uri": cfg.redirect_uri, "state": "s", **change}
    resp = requests.get(cfg.base_url + "/connect/oauth2", params=params, allow_redirects=False, timeout=10)
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "text/html" in resp.headers["Content-Type"]


def test_registered_redirect_uri_is_accepted(qbo_sandbox):
    qbo_sandbox.register_redirect_uri("http://localhost:8765/cb")
    cfg = qbo_sandbox.config
    resp = requests.get(cfg.base_url + "/connect/oauth2", allow_redirects=False, timeout=10, params={
        "client_id": cfg.client_id, "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": "http://localhost:8765/cb", "state": "s"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("http://localhost:8765/cb?")


def test_code_exchange_rotation_and_old_refresh_token_refused(qbo_sandbox):
    cfg = qbo_sandbox.config
    code = authorization_redirect(cfg)["code"]
    first = exchange_code(cfg, code)
    assert first["token_type"] == "bearer" and first["expires_in"] == 3600
    assert first["x_refresh_token_expires_in"] > 86400 * 90
    # the code is single use
    again = _token(cfg, {"grant_type": "authorization_code", "code": code, "redirect_uri": cfg.redirect_uri})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # every refresh rotates; the previous refresh token is dead from then on
    second = _token(cfg, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reuse = _token(cfg, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reuse.status_code == 400 and reuse.json() == {"error": "invalid_grant"}
    third = _token(cfg, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    assert _api(cfg, third.json()["access_token"]).status_code == 200


def test_client_secret_post_is_accepted(qbo_sandbox):
    cfg = qbo_sandbox.config
    code = authorization_redirect(cfg)["code"]
    resp = requests.post(cfg.base_url + "/oauth2/v1/tokens/bearer", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": cfg.redirect_uri,
        "client_id": cfg.client_id, "client_secret": cfg.client_secret})
    assert resp.status_code == 200 and resp.json()["access_token"]


def test_redirect_uri_must_match_for_the_code(qbo_sandbox):
    cfg = qbo_sandbox.config
    code = authorization_redirect(cfg)["code"]
    resp = _token(cfg, {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:1/x"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(qbo_sandbox):
    cfg = qbo_sandbox.config
    tokens = qbo_sandbox_tokens(qbo_sandbox)
    resp = _token(cfg, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                  auth=(cfg.client_id, "wrong-secret"))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    # the failed attempt did not rotate anything
    assert _token(cfg, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 200


def test_unsupported_grant_type(qbo_sandbox):
    resp = _token(qbo_sandbox.config, {"grant_type": "password"})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoking_either_token_kills_the_grant(qbo_sandbox, which):
    cfg = qbo_sandbox.config
    tokens = qbo_sandbox_tokens(qbo_sandbox)
    assert _api(cfg, tokens["access_token"]).status_code == 200
    resp = requests.post(cfg.base_url + "/v2/oauth2/tokens/revoke", json={"token": tokens[which]},
                         auth=(cfg.client_id, cfg.client_secret), timeout=10)
    assert resp.status_code == 200
    denied = _api(cfg, tokens["access_token"])
    assert denied.status_code == 401
    assert denied.json()["fault"]["error"][0]["code"] == "3200"
    refresh = _token(cfg, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_expired_access_token_gets_gateway_401_until_refreshed(make_qbo_sandbox):
    sb = make_qbo_sandbox(access_token_ttl=60)
    cfg = sb.config
    tokens = qbo_sandbox_tokens(sb)
    assert _api(cfg, tokens["access_token"]).status_code == 200
    sb.clock.advance(61)
    resp = _api(cfg, tokens["access_token"])
    assert resp.status_code == 401
    body = resp.json()
    assert set(body) == {"fault", "time"}
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert body["fault"]["error"][0]["code"] == "3200"
    assert "expired" in body["fault"]["error"][0]["detail"].lower()
    assert resp.headers.get("intuit_tid")
    fresh = _token(cfg, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    assert _api(cfg, fresh["access_token"]).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_unknown_bearer_is_401_lowercase_fault(qbo_sandbox, header):
    cfg = qbo_sandbox.config
    headers = {"Authorization": header} if header else {}
    resp = requests.get(f"{cfg.api_base}/company/{cfg.realm_id}/customer/1", headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["fault"]["error"][0]["code"] == "3200"


def test_token_for_one_company_cannot_read_another(qbo_sandbox):
    cfg = qbo_sandbox.config
    tokens = qbo_sandbox_tokens(qbo_sandbox)
    resp = requests.get(f"{cfg.api_base}/company/123456789/customer/1",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10)
    assert resp.status_code == 403
    assert resp.json()["Fault"]["Error"][0]["code"] == "3100"


def test_userinfo_with_bearer(qbo_sandbox):
    cfg = qbo_sandbox.config
    tokens = qbo_sandbox_tokens(qbo_sandbox)
    doc = requests.get(cfg.discovery_url, timeout=10).json()
    info = requests.get(doc["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10)
    assert info.status_code == 200 and info.json()["email"]
