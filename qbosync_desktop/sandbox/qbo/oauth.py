"""OAuth 2.0 as Intuit runs it: clients, one-time codes, grants, rotating refresh tokens.

The rules real integrations trip over are enforced exactly:

* an authorization code works once, and only with the redirect URI it was issued for;
* every refresh returns a *new* refresh token and the previous one answers 400 ``invalid_grant``
  from then on — a client that does not persist the newest token at once is disconnected;
* a wrong client secret is 401 ``invalid_client``;
* revoking either token of a grant kills the whole grant;
* an access token lives ``access_token_ttl`` seconds (sandbox clock, see :class:`clock.Clock`).

State is small, so with a data folder it is persisted as one JSON blob after every change.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from qbosync_desktop.core.logs import register_secret
from qbosync_desktop.sandbox.qbo.clock import Clock
from qbosync_desktop.sandbox.qbo.storage import Persistence

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
SCOPES = (ACCOUNTING_SCOPE, "com.intuit.quickbooks.payment", "openid", "profile", "email", "phone", "address")
CODE_TTL = 600
REFRESH_TTL = 8_726_400  # ~101 days, rolling, as Intuit reports in x_refresh_token_expires_in


class OAuthError(Exception):
    """An RFC 6749 error response: ``{"error": code}`` with its HTTP status."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str] = field(default_factory=list)


def _token(prefix: str, size: int) -> str:
    value = prefix + secrets.token_urlsafe(size)
    register_secret(value)
    return value


class OAuthServer:
    def __init__(self, clock: Clock, access_token_ttl: int, persistence: Persistence | None = None) -> None:
        self.clock = clock
        self.access_token_ttl = int(access_token_ttl)
        self.persistence = persistence
        self.lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.access: dict[str, dict[str, Any]] = {}  # token -> {grant, expires}
        self.refresh: dict[str, dict[str, Any]] = {}  # token -> {grant, current, expires}

    # --- persistence ---------------------------------------------------------------------------
    def _save(self) -> None:
        if self.persistence:
            self.persistence.put("oauth", "state", {
                "clients": {k: vars(c) for k, c in self.clients.items()},
                "grants": self.grants, "access": self.access, "refresh": self.refresh,
            })

    def load(self) -> None:
        if not self.persistence:
            return
        state = self.persistence.load("oauth").get("state")
        if not state:
            return
        self.clients = {k: Client(**v) for k, v in state["clients"].items()}
        self.grants, self.access, self.refresh = state["grants"], state["access"], state["refresh"]
        for client in self.clients.values():
            register_secret(client.client_secret)
        for token in (*self.access, *self.refresh):
            register_secret(token)

    # --- clients -------------------------------------------------------------------------------
    def ensure_client(self, name: str) -> Client:
        """The sandbox's one app (created on first start, kept with a data folder)."""
        with self.lock:
            if not self.clients:
                client = Client("AB" + secrets.token_hex(20), _token("", 30), name)
                self.clients[client.client_id] = client
                self._save()
            return next(iter(self.clients.values()))

    def register_redirect_uri(self, client_id: str, uri: str) -> None:
        with self.lock:
            client = self.clients[client_id]
            if uri not in client.redirect_uris:
                client.redirect_uris.append(uri)
                self._save()

    def authenticate(self, client_id: str | None, client_secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.client_secret, client_secret or ""):
            raise OAuthError(401, "invalid_client")
        return client

    # --- authorization -------------------------------------------------------------------------
    def issue_code(self, client: Client, redirect_uri: str, scope: str, realm_id: str) -> str:
        code = _token("AB11", 24)
        with self.lock:
            self.codes[code] = {"client_id": client.client_id, "redirect_uri": redirect_uri, "scope": scope,
                                "realm_id": realm_id, "expires": self.clock.now() + CODE_TTL}
        return code

    def exchange_code(self, client: Client, code: str | None, redirect_uri: str | None) -> dict[str, Any]:
        with self.lock:
            entry = self.codes.pop(code or "", None)  # single use, even when the exchange fails
            if (entry is None or entry["client_id"] != client.client_id or entry["expires"] < self.clock.now()):
                raise OAuthError(400, "invalid_grant")
            if redirect_uri != entry["redirect_uri"]:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization request")
            grant_id = secrets.token_hex(8)
            self.grants[grant_id] = {"client_id": client.client_id, "realm_id": entry["realm_id"],
                                     "scope": entry["scope"], "revoked": False}
            return self._issue(grant_id)

    def refresh_grant(self, client: Client, refresh_token: str | None) -> dict[str, Any]:
        with self.lock:
            entry = self.refresh.get(refresh_token or "")
            if entry is None or not entry["current"] or entry["expires"] < self.clock.now():
                raise OAuthError(400, "invalid_grant")
            grant = self.grants[entry["grant"]]
            if grant["revoked"] or grant["client_id"] != client.client_id:
                raise OAuthError(400, "invalid_grant")
            entry["current"] = False  # rotation: the old refresh token is dead from now on
            return self._issue(entry["grant"])

    def _issue(self, grant_id: str) -> dict[str, Any]:
        now = self.clock.now()
        access = _token("eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..", 96)
        refresh = _token("AB11", 36)
        self.access[access] = {"grant": grant_id, "expires": now + self.access_token_ttl}
        self.refresh[refresh] = {"grant": grant_id, "current": True, "expires": now + REFRESH_TTL}
        self._save()
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_token_ttl,
            "x_refresh_token_expires_in": REFRESH_TTL,
        }

    def revoke(self, client: Client, token: str | None) -> None:
        """RFC 7009: unknown tokens are not an error; a known one ends its whole grant."""
        with self.lock:
            entry = self.access.get(token or "") or self.refresh.get(token or "")
            if entry is None:
                return
            grant = self.grants.get(entry["grant"])
            if grant is not None and grant["client_id"] == client.client_id:
                grant["revoked"] = True
                self._save()

    def check_bearer(self, header: str | None) -> dict[str, Any]:
        """The grant behind an ``Authorization: Bearer`` header, or an ``OAuthError`` with the reason."""
        if not header or not header.lower().startswith("bearer "):
            raise OAuthError(401, "invalid_token", "Authorization header is missing or is not a Bearer token")
        token = header[7:].strip()
        entry = self.access.get(token)
        if entry is None:
            raise OAuthError(401, "invalid_token", "Token invalid: the access token is unknown")
        grant = self.grants[entry["grant"]]
        if grant["revoked"]:
            raise OAuthError(401, "invalid_token", "Token revoked: the connection was disconnected")
        if entry["expires"] < self.clock.now():
            raise OAuthError(401, "invalid_token", "Token expired: refresh the access token")
        return grant
