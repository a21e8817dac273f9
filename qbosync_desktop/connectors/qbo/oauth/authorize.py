"""Connecting a QuickBooks company: the OAuth 2 authorization-code flow, completed either way.

The flow (QBO_API_NOTES.md "OAuth 2.0"): send the browser to Intuit's authorization endpoint with a
random ``state``; Intuit redirects to our redirect URI with ``code``, ``state`` and ``realmId`` (or
``error=access_denied``); we check the state (it proves the redirect answers *our* request, not a
forged link), exchange the code with the client secret (HTTP Basic), save the tokens in the keyring
and read the company's name from CompanyInfo so the wizard can say which company was connected.

Two completions, both armed at once because the app cannot know which one the user will manage:
the loopback listener (redirect URI ``http://localhost:<port>/...``: development keys, practice mode)
and "paste the address you were sent to" (production keys need an HTTPS redirect page, which then
shows the address). :meth:`Authorizer.wait` returns whichever arrives first, honours a timeout and a
cancel event, and :meth:`Authorizer.finish` treats both the same.

Usage (off the GUI thread)::

    auth = Authorizer(cfg, SecretStore(paths))
    url = auth.begin()                      # also starts the loopback listener when it applies
    webbrowser.open(url)
    result = auth.complete(timeout=600, cancel=event)   # meanwhile the UI may call auth.submit_pasted(text)

This module re-exports :class:`OAuthConfig`, :func:`discover` and :class:`TokenManager`, the names
``docs/architecture.md`` imports from here.
"""

from __future__ import annotations

import logging
import queue
import secrets as pysecrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from qbosync_desktop.connectors.qbo.oauth import endpoint as tokenendpoint
from qbosync_desktop.connectors.qbo.oauth.config import (
    INTUIT_API_BASES,
    INTUIT_DISCOVERY_URLS,
    SCOPE,
    OAuthConfig,
    discover,
)
from qbosync_desktop.connectors.qbo.oauth.loopback import LoopbackListener
from qbosync_desktop.connectors.qbo.oauth.tokens import (
    TokenManager,
    persist_token_response,
    read_client_secret,
    save_client_secret,
)
from qbosync_desktop.core import errors
from qbosync_desktop.core.logs import register_secret
from qbosync_desktop.core.secrets import SecretStore

__all__ = [
    "INTUIT_API_BASES",
    "INTUIT_DISCOVERY_URLS",
    "SCOPE",
    "Authorizer",
    "ConnectResult",
    "OAuthConfig",
    "TokenManager",
    "connect_interactive",
    "discover",
    "save_client_secret",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectResult:
    """What the wizard/CLI needs after connecting; the tokens are already in the keyring."""

    realm_id: str
    company_name: str
    environment: str
    access_expires_at: float


def _query_of(address: str) -> dict[str, str]:
    """Parameters of a redirect address, full URL or just its ``?code=...`` part (people paste both)."""
    text = address.strip()
    parts = urlsplit(text)
    query = parts.query or (text.lstrip("?") if "=" in text and "://" not in text else "")
    return {k: v[0] for k, v in parse_qs(query).items() if v}


class Authorizer:
    """One connection attempt. Not reusable after :meth:`finish`; create a new one to retry."""

    def __init__(
        self,
        oauth: OAuthConfig,
        secrets_store: SecretStore,
        *,
        timeout: float = 30,
        company_name_reader: Callable[[OAuthConfig, str, str], str] | None = None,
    ) -> None:
        self.oauth = oauth
        self.secrets = secrets_store
        self.timeout = timeout
        self.state = pysecrets.token_urlsafe(24)
        self._read_company_name = company_name_reader or read_company_name
        self._arrivals: queue.Queue[str] = queue.Queue()
        self._listener: LoopbackListener | None = None
        self._client_secret: str | None = None

    # -- start ------------------------------------------------------------------------------------
    def begin(self) -> str:
        """Check the keyring and the client secret *before* the user signs in, start the loopback
        listener if the redirect URI is local, and return the authorization address."""
        self.secrets.check()
        self._client_secret = read_client_secret(self.secrets)
        if self.oauth.uses_loopback and self._listener is None:
            self._listener = LoopbackListener(self.oauth.redirect_uri, self._arrivals.put, self.state).start()
        return self.authorization_url()

    def authorization_url(self) -> str:
        return tokenendpoint.authorization_url(self.oauth, self.state)

    @property
    def listening(self) -> bool:
        return self._listener is not None

    # -- the two completions ----------------------------------------------------------------------
    def submit_pasted(self, address: str) -> None:
        """The "paste the address you were sent to" box. Thread-safe; the UI thread may call it."""
        if not _query_of(address):
            raise errors.AuthorizationFailed(
                "That does not look like the address QuickBooks sent you to.",
                hint="Copy the whole address from the browser's address bar after pressing Connect, and paste it.",
            )
        self._arrivals.put(address.strip())

    def wait(self, timeout: float = 600, cancel: threading.Event | None = None) -> str:
        """The redirect address from whichever completion arrives first."""
        deadline = time.monotonic() + timeout
        while True:
            if cancel is not None and cancel.is_set():
                raise errors.Cancelled("Connecting to QuickBooks was cancelled.", title="Connection cancelled",
                                       hint="Press Connect to QuickBooks to start again.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.AuthorizationFailed(
                    "QuickBooks did not answer in time.",
                    hint="Press Connect to QuickBooks again and finish signing in within a few minutes.",
                )
            try:
                return self._arrivals.get(timeout=min(0.1, remaining))
            except queue.Empty:
                continue

    def finish(self, redirect_address: str) -> ConnectResult:
        """Check the redirect, exchange the code, save the tokens, read the company name."""
        params = _query_of(redirect_address)
        if params.get("error"):
            if params["error"] == "access_denied":
                raise errors.AuthorizationDenied(details={"oauth_error": params["error"]})
            raise errors.AuthorizationFailed(
                "QuickBooks did not grant access.",
                details={"oauth_error": params["error"], "description": params.get("error_description")},
            )
        if params.get("state") != self.state:
            raise errors.AuthorizationFailed(
                "The answer from QuickBooks does not belong to this connection attempt, so it was not used.",
                hint="Start the connection again from QBO Sync, and use only the QuickBooks window it opens.",
                details={"reason": "state mismatch"},
            )
        code, realm_id = params.get("code"), params.get("realmId")
        if not code or not realm_id:
            raise errors.AuthorizationFailed(
                "The answer from QuickBooks is missing the company or the sign-in code.",
                details={"missing": "code" if not code else "realmId"},
            )
        register_secret(code)
        secret = self._client_secret or read_client_secret(self.secrets)
        token = tokenendpoint.exchange_code(self.oauth, secret, code, timeout=self.timeout)
        saved = persist_token_response(self.secrets, token)
        try:
            name = self._read_company_name(self.oauth, realm_id, saved.access_token or "")
        except (errors.ConnectionProblem, errors.QuickBooksError) as exc:
            log.warning("Connected, but could not read the company name: %s", exc.details_text())
            name = f"Company {realm_id}"
        log.info("Connected to QuickBooks company %s (%s)", realm_id, self.oauth.environment)
        return ConnectResult(realm_id, name, self.oauth.environment, saved.access_expires_at)

    def complete(self, timeout: float = 600, cancel: threading.Event | None = None) -> ConnectResult:
        try:
            return self.finish(self.wait(timeout, cancel))
        finally:
            self.close()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> Authorizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_company_name(oauth: OAuthConfig, realm_id: str, access_token: str) -> str:
    """CompanyName (or LegalName) from CompanyInfo, through the normal client."""
    from qbosync_desktop.connectors.qbo.client import QboClient

    info = QboClient(oauth.api_base, realm_id, lambda: access_token, max_retries=2).company_info()
    return str(info.get("CompanyName") or info.get("LegalName") or f"Company {realm_id}")


def connect_interactive(
    oauth: OAuthConfig,
    secrets_store: SecretStore,
    *,
    open_browser: Callable[[str], object] | None = None,
    timeout: float = 600,
    cancel: threading.Event | None = None,
    on_authorizer: Callable[[Authorizer], None] | None = None,
) -> ConnectResult:
    """The whole flow for the CLI and the wizard's worker: begin, open the browser, wait, finish.

    ``on_authorizer`` receives the live :class:`Authorizer` so a caller can wire its paste box to
    :meth:`Authorizer.submit_pasted` while this function waits.
    """
    import webbrowser

    auth = Authorizer(oauth, secrets_store)
    url = auth.begin()
    if on_authorizer is not None:
        on_authorizer(auth)
    (open_browser or webbrowser.open)(url)
    return auth.complete(timeout=timeout, cancel=cancel)
