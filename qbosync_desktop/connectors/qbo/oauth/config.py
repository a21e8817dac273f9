"""The Intuit app's OAuth endpoints and API base, read from an OpenID discovery document.

Why discovery instead of hard-coded URLs: Intuit publishes one document per environment
(production, development/sandbox), and the practice sandbox serves its own, so "practice mode" is the
same code path with a different URL (QBO_API_NOTES.md "OAuth 2.0"). The API base is not in Intuit's
documents, so for Intuit environments it comes from :data:`INTUIT_API_BASES`; the practice sandbox
hands its own ``api_base`` to the caller (and may also put it in its discovery document).

Nothing secret lives here: the client secret is in the keyring (``secrets.QBO_CLIENT_SECRET``), so
an :class:`OAuthConfig` may be saved in settings and shown in "Details".
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from qbosync_desktop.core import errors

INTUIT_DISCOVERY_URLS = {
    "production": "https://developer.api.intuit.com/.well-known/openid_configuration",
    "sandbox": "https://developer.api.intuit.com/.well-known/openid_sandbox_configuration",
}
INTUIT_API_BASES = {
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}
ENVIRONMENTS = ("production", "sandbox", "practice")
SCOPE = "com.intuit.quickbooks.accounting"


def is_loopback_url(url: str) -> bool:
    """True for ``http(s)://localhost`` / ``127.0.0.0/8`` / ``[::1]`` addresses."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_safe_url(url: str, what: str) -> str:
    """Endpoints that carry the client secret or tokens must be HTTPS, except on this machine
    (the practice sandbox). This check is also what makes it safe for :mod:`.tokenendpoint` to
    relax oauthlib's HTTPS rule for loopback addresses."""
    parts = urlsplit(url or "")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_url(url)):
        return url
    raise errors.ConfigurationError(
        f"The QuickBooks {what} address must start with https:// (got '{url}').",
        field=what,
    )


@dataclass(frozen=True)
class OAuthConfig:
    """Where to send the user and the tokens for one Intuit app in one environment."""

    client_id: str
    redirect_uri: str
    environment: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    userinfo_endpoint: str | None
    api_base: str

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise errors.ConfigurationError(
                f"Unknown QuickBooks environment '{self.environment}'. Use production, sandbox or practice.",
                field="environment",
            )
        if not self.client_id:
            raise errors.ConfigurationError("The Intuit app's client ID is empty.", field="client_id")
        for what, url in (
            ("authorization_endpoint", self.authorization_endpoint),
            ("token_endpoint", self.token_endpoint),
            ("revocation_endpoint", self.revocation_endpoint),
            ("api_base", self.api_base),
        ):
            _require_safe_url(url, what)
        scheme = urlsplit(self.redirect_uri).scheme
        if scheme not in ("http", "https") or (scheme == "http" and not is_loopback_url(self.redirect_uri)):
            raise errors.ConfigurationError(
                "The redirect URI must be an https:// address, or http://localhost for development keys.",
                field="redirect_uri",
            )

    @property
    def uses_loopback(self) -> bool:
        """Development keys and practice mode redirect to this machine; production keys cannot."""
        return urlsplit(self.redirect_uri).scheme == "http" and is_loopback_url(self.redirect_uri)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OAuthConfig:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    @classmethod
    def from_discovery(
        cls,
        discovery_url: str | None,
        client_id: str,
        redirect_uri: str,
        environment: str,
        api_base: str | None = None,
        *,
        timeout: float = 30,
        session: requests.Session | None = None,
    ) -> OAuthConfig:
        """Read the endpoints from ``discovery_url`` (default: Intuit's for the environment)."""
        url = discovery_url or INTUIT_DISCOVERY_URLS.get(environment)
        if not url:
            raise errors.ConfigurationError(
                "Practice mode needs the practice sandbox's discovery address.", field="discovery_url"
            )
        doc = discover(url, timeout=timeout, session=session)
        base = api_base or INTUIT_API_BASES.get(environment) or doc.get("api_base") or doc.get("qbo_api_base")
        if not base:
            raise errors.ConfigurationError(
                "The QuickBooks API address is not known for this environment.", field="api_base"
            )
        try:
            return cls(
                client_id=client_id,
                redirect_uri=redirect_uri,
                environment=environment,
                authorization_endpoint=doc["authorization_endpoint"],
                token_endpoint=doc["token_endpoint"],
                revocation_endpoint=doc["revocation_endpoint"],
                userinfo_endpoint=doc.get("userinfo_endpoint"),
                api_base=str(base).rstrip("/"),
            )
        except KeyError as exc:
            raise errors.ConfigurationError(
                "The QuickBooks sign-in settings document is incomplete.",
                field="discovery_url",
                details={"missing": str(exc), "url": url},
            ) from None


def discover(discovery_url: str, *, timeout: float = 30, session: requests.Session | None = None) -> dict[str, Any]:
    """Fetch and decode an OpenID discovery document (network errors → ConnectionProblem)."""
    _require_safe_url(discovery_url, "discovery_url")
    http = session or requests
    try:
        resp = http.get(discovery_url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise errors.ConnectionProblem(
            "Could not reach QuickBooks to read its sign-in settings.",
            details={"url": discovery_url, "error": type(exc).__name__},
        ) from None
    if resp.status_code != 200:
        raise errors.ConnectionProblem(
            "QuickBooks did not return its sign-in settings.",
            details={"url": discovery_url, "http_status": resp.status_code},
        )
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise errors.ConfigurationError(
            "The QuickBooks sign-in settings address did not return a settings document.", field="discovery_url"
        )
    return doc
