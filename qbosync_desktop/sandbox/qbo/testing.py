"""Test and development helpers for other areas: get tokens from the sandbox without a browser.

``qbo_sandbox_tokens(sb)`` walks the real OAuth flow over plain HTTP — the authorize request, the
redirect carrying ``code``/``state``/``realmId`` (auto-consent, or the consent form's Connect button
when auto-consent is off), then the code exchange with HTTP Basic — so fixtures of the QBO connector
and the engine start from genuinely issued tokens.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from qbosync_desktop.sandbox.qbo.oauth import ACCOUNTING_SCOPE
from qbosync_desktop.sandbox.qbo.server import QboSandbox, SandboxConfig


def authorization_redirect(cfg: SandboxConfig, *, state: str | None = None, scope: str = ACCOUNTING_SCOPE,
                           decision: str = "connect", session: requests.Session | None = None) -> dict[str, str]:
    """Run the authorize step and return the redirect's query parameters (code, state, realmId or error)."""
    http = session or requests.Session()
    params = {"client_id": cfg.client_id, "response_type": "code", "scope": scope,
              "redirect_uri": cfg.redirect_uri, "state": state or secrets.token_urlsafe(8)}
    resp = http.get(cfg.base_url + "/connect/oauth2", params=params, allow_redirects=False, timeout=10)
    if resp.status_code == 200:  # the consent page: press a button
        resp = http.post(cfg.base_url + "/connect/oauth2", data={**params, "decision": decision},
                         allow_redirects=False, timeout=10)
    if resp.status_code != 302:
        raise RuntimeError(f"authorize answered {resp.status_code}, expected a redirect")
    location = resp.headers["Location"]
    if not location.startswith(cfg.redirect_uri):
        raise RuntimeError(f"redirected to {location!r}, not to the registered redirect URI")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange_code(cfg: SandboxConfig, code: str, session: requests.Session | None = None) -> dict[str, Any]:
    http = session or requests.Session()
    resp = http.post(
        cfg.base_url + "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": cfg.redirect_uri},
        auth=(cfg.client_id, cfg.client_secret), headers={"Accept": "application/json"}, timeout=10,
    )
    resp.raise_for_status()
    return resp.json()


def qbo_sandbox_tokens(sb: QboSandbox | SandboxConfig) -> dict[str, Any]:
    """Tokens for a started sandbox: the token response plus ``realm_id``.

    Keys: access_token, refresh_token, token_type, expires_in, x_refresh_token_expires_in, realm_id.
    """
    cfg = sb.config if isinstance(sb, QboSandbox) else sb
    if cfg is None:
        raise RuntimeError("start the sandbox first")
    redirect = authorization_redirect(cfg)
    if "code" not in redirect:
        raise RuntimeError(f"authorization refused: {redirect.get('error')}")
    return {**exchange_code(cfg, redirect["code"]), "realm_id": redirect["realmId"]}
