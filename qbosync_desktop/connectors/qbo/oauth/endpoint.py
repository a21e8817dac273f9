"""Talking to Intuit's authorization, token and revocation endpoints (requests-oauthlib underneath).

One place turns every way these calls fail into the app's errors, because the two callers (the
connect flow and the refresh) must agree on them: a rejected refresh token (``invalid_grant``) is
:class:`~qbosync_desktop.core.errors.NeedsReconnect`, a rejected client secret is a configuration
problem, a network failure is transient.

Why a scoped HTTPS exemption: oauthlib refuses ``http://`` endpoints unless the process-wide
``OAUTHLIB_INSECURE_TRANSPORT`` variable is set. The practice sandbox runs on ``http://127.0.0.1``.
We set the variable only around calls whose endpoint is a loopback address (checked by
:class:`~.oauthconfig.OAuthConfig`, which rejects every other plain-HTTP endpoint), under a lock, and
restore it afterwards.

The client is authenticated with HTTP Basic (client_id:client_secret), as Intuit requires. Logging of
requests-oauthlib/oauthlib is held at INFO: at DEBUG they log request bodies and token dicts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from oauthlib.oauth2 import rfc6749
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from qbosync_desktop.connectors.qbo.oauth.config import SCOPE, OAuthConfig, is_loopback_url
from qbosync_desktop.core import errors
from qbosync_desktop.core.logs import register_secret

log = logging.getLogger(__name__)
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)

_ENV = "OAUTHLIB_INSECURE_TRANSPORT"
_env_lock = threading.RLock()


@contextlib.contextmanager
def _allow_loopback_http(url: str) -> Iterator[None]:
    if not (url.startswith("http://") and is_loopback_url(url)):
        yield
        return
    with _env_lock:
        previous = os.environ.get(_ENV)
        os.environ[_ENV] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(_ENV, None)
            else:
                os.environ[_ENV] = previous


def authorization_url(cfg: OAuthConfig, state: str, scope: str = SCOPE) -> str:
    """The address the browser opens (client_id, response_type=code, scope, redirect_uri, state)."""
    session = OAuth2Session(cfg.client_id, redirect_uri=cfg.redirect_uri, scope=[scope], state=state)
    with _allow_loopback_http(cfg.authorization_endpoint):
        url, _ = session.authorization_url(cfg.authorization_endpoint, state=state)
    return str(url)


def _raise_for_server_error(resp: requests.Response) -> requests.Response:
    """Hook run before oauthlib parses the body: a 5xx page is not an OAuth error, it is an outage."""
    if resp.status_code >= 500:
        raise errors.ServerError(
            "The QuickBooks sign-in service had a temporary problem.",
            status=resp.status_code,
            intuit_tid=resp.headers.get("intuit_tid"),
        )
    return resp


def _session(cfg: OAuthConfig) -> OAuth2Session:
    # scope=None: Intuit may echo the scope (or add openid) and oauthlib would raise a Warning for a
    # changed scope; the grant's scope is decided on the consent page, not here.
    s = OAuth2Session(cfg.client_id, redirect_uri=cfg.redirect_uri)
    s.register_compliance_hook("access_token_response", _raise_for_server_error)
    s.register_compliance_hook("refresh_token_response", _raise_for_server_error)
    return s


def _map_oauth_error(exc: Exception, *, refreshing: bool) -> errors.QboSyncError:
    code = getattr(exc, "error", None) or type(exc).__name__
    details = {"oauth_error": code, "description": getattr(exc, "description", None)}
    if isinstance(exc, rfc6749.errors.InvalidGrantError):
        if refreshing:
            return errors.NeedsReconnect(
                "QuickBooks no longer accepts this app's sign-in for the company "
                "(the access was revoked, expired after 100 days unused, or replaced by a newer one).",
                details=details,
            )
        return errors.AuthorizationFailed(
            "QuickBooks did not accept the sign-in code (it expired or was already used).", details=details
        )
    if isinstance(exc, (rfc6749.errors.InvalidClientError, rfc6749.errors.UnauthorizedClientError)):
        return errors.AuthorizationFailed(
            "QuickBooks did not accept the app's client ID or client secret.",
            hint="Check the client ID and client secret from the Intuit developer portal, then connect again.",
            details=details,
        )
    return errors.AuthorizationFailed("QuickBooks answered the sign-in request with an error.", details=details)


def _token_call(cfg: OAuthConfig, fn: Any, *, refreshing: bool) -> dict[str, Any]:
    started = time.time()
    try:
        with _allow_loopback_http(cfg.token_endpoint):
            token = dict(fn())
    except errors.QboSyncError:
        raise
    except requests.RequestException as exc:
        raise errors.ConnectionProblem(
            "Could not reach the QuickBooks sign-in service.", details={"error": type(exc).__name__}
        ) from None
    except rfc6749.errors.OAuth2Error as exc:
        raise _map_oauth_error(exc, refreshing=refreshing) from None
    except ValueError as exc:  # a body that is not JSON at all
        raise errors.AuthorizationFailed(
            "The QuickBooks sign-in service sent an answer the app could not read.",
            details={"error": type(exc).__name__},
        ) from None
    for key in ("access_token", "refresh_token", "id_token"):
        register_secret(token.get(key))
    token["obtained_at"] = started  # expiry counts from before the request: never optimistic
    log.debug("token endpoint answered in %.3f s (%s)", time.time() - started, "refresh" if refreshing else "code")
    return token


def exchange_code(cfg: OAuthConfig, client_secret: str, code: str, *, timeout: float = 30) -> dict[str, Any]:
    """``grant_type=authorization_code``: the one-time code from the redirect for the first tokens."""
    session = _session(cfg)
    return _token_call(
        cfg,
        lambda: session.fetch_token(
            cfg.token_endpoint,
            code=code,
            auth=HTTPBasicAuth(cfg.client_id, client_secret),
            include_client_id=False,
            timeout=timeout,
        ),
        refreshing=False,
    )


def refresh(cfg: OAuthConfig, client_secret: str, refresh_token: str, *, timeout: float = 30) -> dict[str, Any]:
    """``grant_type=refresh_token``. The answer may carry a *new* refresh token: the caller must
    persist it before anything else (the old one is dead from now on)."""
    session = _session(cfg)
    return _token_call(
        cfg,
        lambda: session.refresh_token(
            cfg.token_endpoint,
            refresh_token=refresh_token,
            auth=HTTPBasicAuth(cfg.client_id, client_secret),
            timeout=timeout,
        ),
        refreshing=True,
    )


def revoke(
    cfg: OAuthConfig, client_secret: str, token: str, *, timeout: float = 30, http: requests.Session | None = None
) -> None:
    """Revoke the grant at Intuit (JSON ``{"token": ...}``, Basic auth). Revoking the refresh token
    ends the whole grant, access tokens included. An already-dead token is not an error."""
    post = (http or requests).post
    try:
        with _allow_loopback_http(cfg.revocation_endpoint):
            resp = post(
                cfg.revocation_endpoint,
                json={"token": token},
                auth=HTTPBasicAuth(cfg.client_id, client_secret),
                headers={"Accept": "application/json"},
                timeout=timeout,
            )
    except requests.RequestException as exc:
        raise errors.ConnectionProblem(
            "Could not reach QuickBooks to withdraw the app's access.", details={"error": type(exc).__name__}
        ) from None
    if resp.status_code in (200, 204):
        return
    if resp.status_code == 400:  # invalid/unknown token: the grant is already gone
        log.info("revocation: token was already invalid at QuickBooks")
        return
    if resp.status_code >= 500:
        raise errors.ServerError("The QuickBooks sign-in service had a temporary problem.", status=resp.status_code)
    raise errors.AuthorizationFailed(
        "QuickBooks refused to withdraw the app's access.",
        details={"http_status": resp.status_code, "intuit_tid": resp.headers.get("intuit_tid")},
    )
