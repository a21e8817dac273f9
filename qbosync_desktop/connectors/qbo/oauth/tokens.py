"""One company's OAuth tokens in the keyring, and the single-flight refresh that rotates them.

The rule that shapes this module (QBO_API_NOTES.md "Rotation"): a refresh may return a new refresh
token, and from then on the old one is dead - reusing it is ``invalid_grant``, which only a new
authorization by a company admin can fix. Two things therefore must never happen:

1. A new token is used before it is saved. If the app crashed after using it but before saving it,
   the keyring would hold a dead refresh token. So :func:`persist_token_response` writes every token
   response to the keyring (``set_many``) first, and only then is the access token handed out.
2. Two refreshes run at once. Both would send the same refresh token; the second one is a reuse, and
   whichever answer is saved last may be the dead one. The tray app's worker threads and a
   ``qbosync sync`` started by cron are different threads *and* processes, so the refresh holds a
   ``threading.Lock`` and a ``filelock.FileLock`` in the data folder, and after taking them re-reads
   the keyring: if someone else refreshed meanwhile, their tokens are used and no request is sent.

Expiry times are stored as Unix seconds (text), counted from *before* the token request was sent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import filelock

from qbosync_desktop.connectors.qbo.oauth import endpoint as tokenendpoint
from qbosync_desktop.connectors.qbo.oauth.config import OAuthConfig
from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.logs import register_secret
from qbosync_desktop.core.paths import AppPaths
from qbosync_desktop.core.secrets import SecretStore

log = logging.getLogger(__name__)

#: Refresh this long before the access token expires (Intuit's tokens last 60 minutes), so a token
#: never expires between being handed out and reaching QuickBooks.
EARLY_REFRESH_SECONDS = 300.0
LOCK_NAME = "qbo-token"
TOKEN_NAMES = (
    secrets.QBO_ACCESS_TOKEN,
    secrets.QBO_ACCESS_EXPIRES_AT,
    secrets.QBO_REFRESH_TOKEN,
    secrets.QBO_REFRESH_EXPIRES_AT,
)


@dataclass(frozen=True)
class TokenSet:
    access_token: str | None
    access_expires_at: float
    refresh_token: str | None
    refresh_expires_at: float | None = None

    def access_valid(self, now: float, margin: float) -> bool:
        return bool(self.access_token) and self.access_expires_at - margin > now


@dataclass(frozen=True)
class RevokeResult:
    """Disconnect's outcome: local tokens are always gone; ``problem`` says if Intuit was not told."""

    revoked_at_intuit: bool
    problem: errors.QboSyncError | None = None


def _float(value: str | None, default: float = 0.0) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def load_tokens(store: SecretStore) -> TokenSet:
    values = {n: store.get(n) for n in TOKEN_NAMES}
    for n in (secrets.QBO_ACCESS_TOKEN, secrets.QBO_REFRESH_TOKEN):
        register_secret(values[n])
    return TokenSet(
        access_token=values[secrets.QBO_ACCESS_TOKEN],
        access_expires_at=_float(values[secrets.QBO_ACCESS_EXPIRES_AT]),
        refresh_token=values[secrets.QBO_REFRESH_TOKEN],
        refresh_expires_at=_float(values[secrets.QBO_REFRESH_EXPIRES_AT]) or None,
    )


def persist_token_response(
    store: SecretStore, token: dict[str, Any], previous_refresh: str | None = None
) -> TokenSet:
    """Save a token endpoint answer to the keyring, all fields at once, and return it.

    A response without a refresh token keeps the previous one (allowed by RFC 6749; Intuit always
    sends one). If the keyring write fails, :class:`~qbosync_desktop.core.errors.KeyringUnavailable`
    propagates and the new token is never used.
    """
    obtained = float(token.get("obtained_at") or time.time())
    refresh_token = token.get("refresh_token") or previous_refresh
    if not token.get("access_token") or not refresh_token:
        raise errors.AuthorizationFailed("QuickBooks answered without the tokens the app needs.")
    ts = TokenSet(
        access_token=str(token["access_token"]),
        access_expires_at=obtained + float(token.get("expires_in") or 3600),
        refresh_token=str(refresh_token),
        refresh_expires_at=(
            obtained + float(token["x_refresh_token_expires_in"]) if token.get("x_refresh_token_expires_in") else None
        ),
    )
    register_secret(ts.access_token)
    register_secret(ts.refresh_token)
    values = {
        secrets.QBO_ACCESS_TOKEN: ts.access_token,
        secrets.QBO_ACCESS_EXPIRES_AT: f"{ts.access_expires_at:.3f}",
        secrets.QBO_REFRESH_TOKEN: ts.refresh_token,
    }
    if ts.refresh_expires_at is not None:
        values[secrets.QBO_REFRESH_EXPIRES_AT] = f"{ts.refresh_expires_at:.3f}"
    store.set_many(values)  # type: ignore[arg-type]
    return ts


class TokenManager:
    """Hands out a valid access token for one company; refreshes only when needed, one at a time.

    Thread-safe. Keyring access may block (a locked Secret Service prompts), so never call it from
    the GUI thread.
    """

    def __init__(
        self,
        secrets_store: SecretStore,
        paths: AppPaths,
        oauth: OAuthConfig,
        realm_id: str,
        *,
        timeout: float = 30,
        early_refresh: float = EARLY_REFRESH_SECONDS,
        lock_timeout: float = 90,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secrets = secrets_store
        self.paths = paths
        self.oauth = oauth
        self.realm_id = str(realm_id)
        self.timeout = timeout
        self.early_refresh = early_refresh
        self.lock_timeout = lock_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: TokenSet | None = None
        self.refresh_count = 0  # refreshes this object actually sent (tests and diagnostics)

    # -- public API -------------------------------------------------------------------------------
    def access_token(self) -> str:
        """A token valid for at least ``early_refresh`` more seconds (refreshing if necessary)."""
        cached = self._cached
        if cached is not None and cached.access_valid(self._clock(), self.early_refresh):
            return cached.access_token  # type: ignore[return-value]
        return self.refresh(force=False)

    def __call__(self) -> str:
        return self.access_token()

    def refresh(self, force: bool = False, rejected: str | None = None) -> str:
        """Make sure a fresh access token is stored and return it.

        ``force`` (after a 401) refreshes even if the stored token looks valid - unless the stored
        token is not the ``rejected`` one, i.e. another thread or process already replaced it.
        """
        started_with = self._cached.refresh_token if self._cached else None
        with self._lock, self._file_lock():
            stored = load_tokens(self.secrets)
            if not stored.refresh_token:
                raise errors.NotConnected(
                    "This app is not connected to a QuickBooks company (no saved sign-in).", field="qbo"
                )
            now = self._clock()
            someone_else_refreshed = started_with is not None and stored.refresh_token != started_with
            usable = stored.access_valid(now, self.early_refresh)
            if usable and (not force or someone_else_refreshed or (rejected and stored.access_token != rejected)):
                self._cached = stored
                return stored.access_token  # type: ignore[return-value]
            client_secret = self._client_secret()
            # Prove the keyring takes writes *before* the refresh burns the old refresh token: a
            # locked wallet found afterwards would lose the only live token (forced reconnect).
            self.secrets.set(secrets.QBO_REFRESH_TOKEN, stored.refresh_token)
            token = tokenendpoint.refresh(self.oauth, client_secret, stored.refresh_token, timeout=self.timeout)
            fresh = persist_token_response(self.secrets, token, previous_refresh=stored.refresh_token)
            self.refresh_count += 1
            self._cached = fresh
            log.info("QuickBooks access token refreshed for company %s", self.realm_id)
            return fresh.access_token  # type: ignore[return-value]

    def revoke(self) -> RevokeResult:
        """Disconnect: revoke the grant at Intuit, then delete the keyring tokens - even if Intuit
        could not be reached (the user asked to disconnect; the result reports the problem)."""
        with self._lock, self._file_lock():
            stored = load_tokens(self.secrets)
            token = stored.refresh_token or stored.access_token
            problem: errors.QboSyncError | None = None
            revoked = False
            if token:
                try:
                    tokenendpoint.revoke(self.oauth, self._client_secret(), token, timeout=self.timeout)
                    revoked = True
                except errors.KeyringUnavailable:
                    raise
                except errors.QboSyncError as exc:
                    problem = exc
                    log.warning("Could not revoke the QuickBooks grant: %s", exc.details_text())
            self.secrets.clear(TOKEN_NAMES)
            self._cached = None
            return RevokeResult(revoked_at_intuit=revoked, problem=problem)

    def stored(self) -> TokenSet:
        """The tokens as they are in the keyring now (diagnostics; never shown to a person)."""
        return load_tokens(self.secrets)

    # -- internals --------------------------------------------------------------------------------
    def _client_secret(self) -> str:
        return read_client_secret(self.secrets)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The cross-process half of single-flight refresh (tray app + cron CLI on one data folder)."""
        path = self.paths.lock_file(LOCK_NAME)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(path), timeout=self.lock_timeout, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise errors.ConnectionProblem(
                "Another QBO Sync window or command kept the QuickBooks sign-in busy for too long.",
                hint="Wait a minute and try again.",
                details={"lock": str(path)},
            ) from None
        try:
            yield
        finally:
            lock.release()


def read_client_secret(store: SecretStore) -> str:
    """The Intuit app's client secret from the keyring, or a clear error naming the setting."""
    value = store.get(secrets.QBO_CLIENT_SECRET)
    if not value:
        raise errors.ConfigurationError(
            "The Intuit app's client secret is not saved on this computer.",
            field="client_secret",
            hint="Enter the client ID and client secret from the Intuit developer portal, then connect again.",
        )
    register_secret(value)
    return value


def save_client_secret(store: SecretStore, client_secret: str) -> None:
    """The Intuit app's client secret goes to the keyring only (wizard, CLI, config import)."""
    if not client_secret:
        raise errors.ConfigurationError("The client secret is empty.", field="client_secret")
    register_secret(client_secret)
    store.set(secrets.QBO_CLIENT_SECRET, client_secret)
