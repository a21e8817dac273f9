"""One data folder = one company connection: its database, its keyring entries, its connectors.

The CLI, the desktop service and the tests all start from :meth:`Workspace.open`. It binds the app
database (``store.database``, a process-wide proxy: one open workspace per process) and hands out the
connectors built from the :class:`~qbosync_desktop.store.models.connection.Connection` row plus the keyring, so
no caller ever assembles OAuth settings or reads a secret itself.

Disconnect follows the seeds and the issue: the QuickBooks grant is revoked and its keyring entries
deleted, the concept → expense-account mappings are forgotten (the contractor seed: "you do not need
to remap them ... unless you disconnect"), and the links are kept so that reconnecting to the same
company resumes without duplicates — unless the user asks to forget them. Connecting to a *different*
company forgets the links by itself: they hold the other company's QuickBooks Ids.

Cold start: the connectors (requests, OAuth) are imported by the methods that build them, so opening
a workspace — ``qbosync status``, ``settings show``, the window's first paint — does not load them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from qbosync_desktop.core import errors, secrets
from qbosync_desktop.core.logs import register_secret
from qbosync_desktop.core.paths import AppPaths, get_paths
from qbosync_desktop.store import close_database, database, open_database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.conflicts import Conflict
from qbosync_desktop.store.models.connection import (
    CONNECTED,
    DISCONNECTED,
    NEEDS_RECONNECT,
    ConceptMapping,
    Connection,
    SettingValue,
    TaxCodeMapping,
)
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.onboarding import MatchProposal
from qbosync_desktop.store.models.outbox import Batch, OutboxEntry, WorkWrite
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync.rules.settings import (
    ACCOUNT_FIELDS,
    LABELS,
    SyncSettings,
    TaxSetup,
    account_groups,
    check,
)

if TYPE_CHECKING:
    from qbosync_desktop.connectors.qbo.client import QboClient
    from qbosync_desktop.connectors.work.client import WorkClient

log = logging.getLogger(__name__)

#: The company grant: deleted on every disconnect.
#: The SettingValue key holding the chosen accounts' names (not a setting: SyncSettings ignores it).
ACCOUNT_NAMES_KEY = "account_names"
#: SettingValue keys holding Review decisions, not settings (sync/rules/keep.py, sync/clients/settle.py).
DECISION_PREFIX = "decision."

#: The problem kinds an entity's switch governs: turning it off closes their open problems.
TURNED_OFF_KINDS: dict[str, tuple[str, ...]] = {
    "invoices": ("invoice",),
    "payments": ("payment",),
    "bills": ("bill",),
    "sites": ("site",),
}

QBO_TOKENS = (
    secrets.QBO_ACCESS_TOKEN,
    secrets.QBO_ACCESS_EXPIRES_AT,
    secrets.QBO_REFRESH_TOKEN,
    secrets.QBO_REFRESH_EXPIRES_AT,
)


class Workspace:
    """The open data folder. Not a GUI object: call it from worker threads, never the GUI thread."""

    def __init__(self, paths: AppPaths, *, owns_database: bool = False) -> None:
        self.paths = paths
        self._owns_database = owns_database
        self.secrets = secrets.SecretStore(paths)
        self._lock = threading.RLock()
        self._qbo: QboClient | None = None
        self._work: WorkClient | None = None

    # -- life cycle ------------------------------------------------------------------------------
    @classmethod
    def open(cls, paths: AppPaths | None = None) -> Workspace:
        """Open (create and migrate if needed) the data folder's database and keyring namespace.

        The database proxy is process-wide. If it is already bound to this folder's database (the
        desktop service, or a test, holds a workspace while a command opens another), the new
        workspace shares it and its :meth:`close` leaves it open for the first one.
        """
        paths = (paths or get_paths()).ensure()
        bound = database.obj
        # (Not ``is_closed()``: peewee connections are per thread, a worker thread sees "closed".)
        if bound is not None and Path(bound.database) == paths.db_path:
            return cls(paths, owns_database=False)
        open_database(paths.db_path)
        return cls(paths, owns_database=True)

    def close(self) -> None:
        with self._lock:
            self._qbo = None
            self._work = None
        if self._owns_database:
            close_database()
            self._owns_database = False

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connection ------------------------------------------------------------------------------
    @property
    def connection(self) -> Connection | None:
        return Connection.get_or_none(Connection.id == 1)

    def require_qbo(self) -> Connection:
        """The connection row, or a plain-language error saying which step is missing."""
        conn = self.connection
        if conn is None or not conn.realm_id or conn.state == DISCONNECTED:
            raise errors.NotConnected(
                "QuickBooks is not connected in this data folder.",
                hint="Connect QuickBooks first: the setup wizard, or 'qbosync connect'.",
            )
        if conn.state == NEEDS_RECONNECT:
            raise errors.NeedsReconnect()
        return conn

    def require_work(self) -> Connection:
        conn = self.connection
        if conn is None or not conn.work_base_url or not self.secrets.get(secrets.WORK_API_KEY):
            raise errors.NotConnected(
                "Work is not connected in this data folder.",
                hint="Connect Work first: the setup wizard, or 'qbosync work-connect --url URL --api-key KEY'.",
            )
        return conn

    def record_connection(
        self,
        *,
        realm_id: str,
        company_name: str | None,
        environment: str,
        discovery_url: str,
        client_id: str,
        redirect_uri: str,
        api_base: str,
        oauth_endpoints: Mapping[str, Any] | None = None,
    ) -> Connection:
        """Store a completed authorization (the tokens are already in the keyring by then).

        A different realm than the one the links were made for forgets those links first: they name
        another company's QuickBooks records.
        """
        with self._writer(), database.atomic():
            conn = self.connection
            existed = conn is not None
            if conn is not None and conn.realm_id and conn.realm_id != realm_id:
                log.info("Connected to a different QuickBooks company; forgetting the previous company's links")
                self._forget_links()
            conn = conn or Connection(id=1)
            conn.realm_id = realm_id
            conn.company_name = company_name
            conn.environment = environment
            conn.discovery_url = discovery_url
            conn.client_id = client_id
            conn.redirect_uri = redirect_uri
            conn.api_base = api_base
            conn.oauth_endpoints = dict(oauth_endpoints) if oauth_endpoints else None
            conn.state = CONNECTED
            conn.connected_at = utcnow()
            conn.save(force_insert=not existed)
        with self._lock:
            self._qbo = None
        return conn

    def connect_quickbooks(
        self,
        *,
        discovery_url: str | None,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        environment: str | None = None,
        api_base: str | None = None,
        open_url: Callable[[str], object],
        timeout: float = 600,
        cancel: threading.Event | None = None,
        on_authorizer: Callable[[Any], None] | None = None,
    ) -> Connection:
        """The whole sign-in, for a real company and the practice one alike (same code path).

        Reads the endpoints from the discovery document, keeps the client secret in the keyring (an
        empty one reuses the saved secret: reconnecting), starts the authorization (loopback listener
        when the redirect URI is local), hands the address to ``open_url`` (a browser, or the CLI
        printing it), waits for the redirect or a pasted address (``on_authorizer`` receives the live
        :class:`~qbosync_desktop.connectors.qbo.oauth.authorize.Authorizer` for that), exchanges the code and records the
        connection. Never call on the GUI thread: it blocks until the user has signed in. If the
        sign-in fails, the client secret given here is removed from the keyring again.
        """
        from qbosync_desktop.connectors.qbo.oauth.authorize import Authorizer, OAuthConfig, save_client_secret

        env = environment or environment_for(discovery_url)
        if api_base is None and env == "practice" and discovery_url:
            # Intuit's discovery documents carry no API address and the practice server mimics them;
            # it serves the API under /v3 of the same origin.
            parts = urlsplit(discovery_url)
            api_base = f"{parts.scheme}://{parts.netloc}/v3"
        oauth = OAuthConfig.from_discovery(discovery_url, client_id, redirect_uri, env, api_base)
        previous_secret = self.secrets.get(secrets.QBO_CLIENT_SECRET) if client_secret else None
        if client_secret:
            save_client_secret(self.secrets, client_secret)
        try:
            with Authorizer(oauth, self.secrets) as auth:
                url = auth.begin()
                if on_authorizer is not None:
                    on_authorizer(auth)
                open_url(url)
                result = auth.complete(timeout=timeout, cancel=cancel)
        except BaseException:
            # A failed (or cancelled) connect keeps no secret it was given: the keyring is left as it
            # was before (the previous connection's secret, or none).
            if client_secret:
                try:
                    if previous_secret:
                        self.secrets.set(secrets.QBO_CLIENT_SECRET, previous_secret)
                    else:
                        self.secrets.delete(secrets.QBO_CLIENT_SECRET)
                except errors.QboSyncError as exc:  # the keyring went away meanwhile: say so in the log
                    log.warning("Could not remove the client secret after the failed connect: %s", exc.message)
            raise
        return self.record_connection(
            realm_id=result.realm_id,
            company_name=result.company_name,
            environment=env,
            discovery_url=discovery_url or "",
            client_id=client_id,
            redirect_uri=redirect_uri,
            api_base=oauth.api_base,
            oauth_endpoints=oauth.to_dict(),
        )

    def record_work_connection(self, base_url: str, api_key: str, company_name: str | None) -> Connection:
        """Keep the Work address and company name; the API key goes to the keyring only."""
        register_secret(api_key)
        self.secrets.set(secrets.WORK_API_KEY, api_key)
        with database.atomic():
            existed = self.connection
            conn = existed or Connection(id=1)
            conn.work_base_url = base_url.rstrip("/")
            conn.work_company_name = company_name
            conn.save(force_insert=existed is None)
        with self._lock:
            self._work = None
        return conn

    def connect_work(self, base_url: str, api_key: str) -> str:
        """Test the key against Work, then record the connection; returns Work's "Connected to ..." line.

        Tested first: a wrong key must not be stored and then fail every sync.
        """
        from qbosync_desktop.connectors.work.client import WorkClient

        register_secret(api_key)
        client = WorkClient(base_url, api_key)
        message = client.test_connection()
        self.record_work_connection(base_url, api_key, client.company().name)
        return message

    def mark_needs_reconnect(self) -> None:
        """Called when QuickBooks rejects the grant (refresh token dead or revoked)."""
        Connection.update(state=NEEDS_RECONNECT).where(Connection.id == 1, Connection.state == CONNECTED).execute()
        with self._lock:
            self._qbo = None

    def mark_enabled(self) -> None:
        """The first "Enable Integration": its date is the default invoice start date (the seed)."""
        Connection.update(integration_enabled_at=utcnow()).where(
            Connection.id == 1, Connection.integration_enabled_at.is_null()
        ).execute()

    def mark_onboarding_done(self) -> None:
        """After the initial sync: Sites stop syncing (the seed: two-way during onboarding only)."""
        Connection.update(onboarding_done_at=utcnow()).where(
            Connection.id == 1, Connection.onboarding_done_at.is_null()
        ).execute()

    @property
    def enabled(self) -> bool:
        conn = self.connection
        return bool(conn and conn.integration_enabled_at)

    def disconnect(self, forget: bool = False) -> None:
        """Stop syncing with this QuickBooks company.

        The grant is revoked at Intuit (best effort: a revoke that cannot reach the server must not
        keep the user connected locally), the QuickBooks keyring entries are deleted, the concept
        mappings are forgotten, and the links are kept unless ``forget``. The Intuit app's client secret
        and the Work connection are kept (they are not the company's grant: a bare reconnect works);
        ``forget`` removes them too, for a clean start. Waits for a run in progress (the data folder's
        sync lock, at most 10 s; then ``DataFolderBusy``).
        """
        with self._writer():  # not while a run uses the grant, the links or the outbox
            conn = self.connection
            if conn is not None and conn.realm_id and self.secrets.get(secrets.QBO_REFRESH_TOKEN):
                try:
                    self._token_manager(conn).revoke()
                except errors.QboSyncError as exc:
                    log.warning("Could not revoke the QuickBooks grant (%s); disconnecting locally anyway",
                                exc.message)
            self._disconnect_locked(conn, forget)

    def _disconnect_locked(self, conn: Connection | None, forget: bool) -> None:
        self.secrets.clear(QBO_TOKENS)
        with database.atomic():
            ConceptMapping.delete().execute()
            TaxCodeMapping.delete().execute()
            if conn is not None:
                conn.state = DISCONNECTED
                conn.connected_at = None
                if forget:
                    conn.integration_enabled_at = None
                    conn.realm_id = None
                    conn.company_name = None
                    conn.work_base_url = None
                    conn.work_company_name = None
                    conn.onboarding_done_at = None
                conn.save()
            if forget:
                self._forget_links()
        if forget:
            self.secrets.clear((secrets.QBO_CLIENT_SECRET, secrets.WORK_API_KEY))
        with self._lock:
            self._qbo = None
            if forget:
                self._work = None

    def _writer(self, timeout: float = 10.0) -> Any:
        """The data folder's sync lock (``core.writer_lock``): forgetting links or the outbox while a
        run (in the app, or a ``qbosync``) uses them would make it write records again. Waits a
        bounded time, then ``DataFolderBusy`` names who holds it."""
        from qbosync_desktop.core import writer_lock

        return writer_lock.holding(self.paths, writer_lock.SYNC, timeout=timeout)

    def _forget_links(self) -> None:
        """Delete what ties local state to one QuickBooks company (links, queue, cursors, reviews).

        Runs and the audit log are history and stay.
        """
        for model in (Conflict, MatchProposal, WorkWrite, Problem, OutboxEntry, Batch, Cursor, Link):
            model.delete().execute()
        # The person's Review decisions name this company's records ("keep QuickBooks' value").
        SettingValue.delete().where(SettingValue.key.startswith(DECISION_PREFIX)).execute()

    # -- settings --------------------------------------------------------------------------------
    def settings(self) -> SyncSettings:
        """The saved settings (defaults for anything never saved); concepts come from their table."""
        data = {row.key: row.value for row in SettingValue.select()}
        data["concepts"] = {m.concept: m.account_id for m in ConceptMapping.select()}
        data["tax_codes"] = {m.rate: m.code_id for m in TaxCodeMapping.select()}
        return SyncSettings.from_dict(data)

    def save_settings(
        self,
        settings: SyncSettings,
        *,
        accounts: Mapping[str, Iterable[Mapping[str, Any]]] | Iterable[Mapping[str, Any]] | None = None,
        concepts: Iterable[Any] | None = None,
        tax: TaxSetup | None = None,
    ) -> SyncSettings:
        """Validate (raising ``ConfigurationError`` naming the field), then save in one transaction.
        ``tax`` (the company's country and tax codes, Work's tax rates) names the tax-code mappings."""
        check(settings, accounts, concepts, tax)
        names = _account_names(accounts) if accounts is not None else {}
        data = settings.to_dict()
        concept_map = data.pop("concepts")
        tax_map = data.pop("tax_codes")
        previous = self.settings() if SettingValue.select().exists() else None
        with database.atomic():
            for key, value in data.items():
                SettingValue.insert(key=key, value=value).on_conflict_replace().execute()
            # The chosen accounts' names, so the window and `settings show` can name them when
            # QuickBooks cannot be asked (after a restart, offline): ids the list named now, else the
            # names kept from before.
            kept = self.account_names()
            chosen = {str(getattr(settings, key)): names.get(str(getattr(settings, key))) or
                      kept.get(str(getattr(settings, key))) for key in ACCOUNT_FIELDS if getattr(settings, key)}
            SettingValue.insert(key=ACCOUNT_NAMES_KEY, value={i: n for i, n in chosen.items() if n}) \
                .on_conflict_replace().execute()
            if previous is not None:
                self._close_turned_off(previous, settings)
            ConceptMapping.delete().where(ConceptMapping.concept.not_in(list(concept_map) or [""])).execute()
            for concept, account_id in concept_map.items():
                old = ConceptMapping.get_or_none(ConceptMapping.concept == concept)
                name = names.get(str(account_id)) or (old.account_name if old and old.account_id == account_id else None)
                ConceptMapping.insert(concept=concept, account_id=str(account_id), account_name=name) \
                    .on_conflict_replace().execute()
            TaxCodeMapping.delete().where(TaxCodeMapping.rate.not_in(list(tax_map) or [""])).execute()
            for rate, code_id in tax_map.items():
                old_code = TaxCodeMapping.get_or_none(TaxCodeMapping.rate == rate)
                TaxCodeMapping.insert(
                    rate=rate, code_id=str(code_id),
                    rate_name=(tax.rates.get(rate) if tax else None) or (old_code.rate_name if old_code else None),
                    code_name=((tax.codes or {}).get(str(code_id)) if tax else None)
                    or (old_code.code_name if old_code and old_code.code_id == code_id else None),
                ).on_conflict_replace().execute()
        return settings

    @property
    def has_saved_settings(self) -> bool:
        """True once settings were saved (they outlive Disconnect; only the concept mappings go)."""
        return SettingValue.select().where((SettingValue.key != ACCOUNT_NAMES_KEY)
                                           & ~SettingValue.key.startswith(DECISION_PREFIX)).exists()

    def account_names(self) -> dict[str, str]:
        """Id → name of the accounts the settings chose, as saved with them (concepts' included)."""
        row = SettingValue.get_or_none(SettingValue.key == ACCOUNT_NAMES_KEY)
        names = {str(k): str(v) for k, v in ((row.value if row is not None else None) or {}).items() if v}
        for m in ConceptMapping.select():
            if m.account_name:
                names.setdefault(str(m.account_id), m.account_name)
        return names

    def _close_turned_off(self, before: SyncSettings, after: SyncSettings) -> int:
        """An entity turned off no longer syncs, so its records' open problems can never be fixed by
        a sync: close them, each recorded as a skip in the activity log with the reason (issue 17)."""
        from qbosync_desktop.sync.problems import close_for_turned_off

        closed = 0
        for key, kinds in TURNED_OFF_KINDS.items():
            if getattr(before, key) and not getattr(after, key):
                closed += close_for_turned_off(kinds, f"{LABELS[key]} was turned off in the settings")
        return closed

    def tax_setup(self) -> TaxSetup:
        """The company's country and tax codes and Work's active tax rates (network: three reads), what
        the tax-code mapping is chosen from and checked against. A US company's codes are not read:
        it uses Automated Sales Tax, no mapping."""
        qbo = self.qbo_client()
        country = str(qbo.company_info().get("Country") or "US").upper()
        rates = {r.id: r.name for r in self.work_client().tax_rates() if r.active}
        codes = None
        if country != "US":
            codes = {str(c["Id"]): str(c.get("Name", "")) for c in qbo.query("TaxCode")}
        return TaxSetup(country=country, rates=rates, codes=codes)

    def tax_code_mappings(self) -> dict[str, TaxCodeMapping]:
        return {m.rate: m for m in TaxCodeMapping.select().order_by(TaxCodeMapping.rate_name)}

    def concept_mappings(self) -> dict[str, ConceptMapping]:
        return {m.concept: m for m in ConceptMapping.select().order_by(ConceptMapping.concept)}

    # -- connectors ------------------------------------------------------------------------------
    def _oauth_config(self, conn: Connection) -> Any:
        from qbosync_desktop.connectors.qbo.oauth.authorize import OAuthConfig

        if conn.oauth_endpoints and hasattr(OAuthConfig, "from_dict"):
            return OAuthConfig.from_dict(conn.oauth_endpoints)
        return OAuthConfig.from_discovery(conn.discovery_url, _saved(conn.client_id, "client ID of the app"),
                                          _saved(conn.redirect_uri, "sign-in return address"), conn.environment)

    def _token_manager(self, conn: Connection) -> Any:
        from qbosync_desktop.connectors.qbo.oauth.authorize import TokenManager

        return _GrantWatch(TokenManager(self.secrets, self.paths, self._oauth_config(conn),
                                        _saved(conn.realm_id, "company ID")),
                           self.mark_needs_reconnect)

    def qbo_client(self) -> QboClient:
        """The QuickBooks client for the connected company (cached; rebuilt after a reconnect)."""
        with self._lock:
            if self._qbo is None:
                from qbosync_desktop.connectors.qbo.client import QboClient

                conn = self.require_qbo()
                self._qbo = QboClient(_saved(conn.api_base, "QuickBooks address"), _saved(conn.realm_id, "company ID"),
                                      self._token_manager(conn))
            return self._qbo

    def work_client(self) -> WorkClient:
        """The Work client (cached); the API key is read from the keyring here and nowhere else."""
        with self._lock:
            if self._work is None:
                from qbosync_desktop.connectors.work.client import WorkClient

                conn = self.require_work()
                key = self.secrets.get(secrets.WORK_API_KEY) or ""
                register_secret(key)
                self._work = WorkClient(_saved(conn.work_base_url, "Work address"), key)
            return self._work

    # docs/architecture.md spells them ``ws.qbo()`` / ``ws.work()``.
    qbo = qbo_client
    work = work_client


class _GrantWatch:
    """The token manager, watched: when QuickBooks says the grant is gone (``NeedsReconnect`` from a
    refresh), the connection is marked ``needs_reconnect`` at once — whoever was syncing (the CLI, the
    desktop service's worker, a test) — so every window and command shows "Reconnect" from then on."""

    def __init__(self, tokens: Any, on_dead: Callable[[], None]) -> None:
        self._tokens = tokens
        self._on_dead = on_dead

    def _watch(self, fn: Callable[..., str], *args: Any, **kwargs: Any) -> str:
        try:
            return fn(*args, **kwargs)
        except errors.NeedsReconnect:
            self._on_dead()
            raise

    def access_token(self) -> str:
        return self._watch(self._tokens.access_token)

    def __call__(self) -> str:
        return self.access_token()

    def refresh(self, force: bool = False, rejected: str | None = None) -> str:
        return self._watch(self._tokens.refresh, force=force, rejected=rejected)

    def __getattr__(self, name: str) -> Any:  # revoke(), stored(), refresh_count ...
        return getattr(self._tokens, name)


def environment_for(discovery_url: str | None) -> str:
    """Intuit's two discovery documents name their environment; any other address is a practice server."""
    from qbosync_desktop.connectors.qbo.oauth.authorize import INTUIT_DISCOVERY_URLS

    for env, url in INTUIT_DISCOVERY_URLS.items():
        if discovery_url in (None, "", url):
            return env
    return "practice"


def _saved(value: str | None, what: str) -> str:
    """A connection field the connectors need; a row without it (an interrupted connect) is a plain
    "connect again", not a crash deep in a connector."""
    if not value:
        raise errors.NotConnected(f"The saved connection is missing the {what}.",
                                  hint="Connect again: the setup wizard, or 'qbosync connect' / 'qbosync work-connect'.")
    return value


def _account_names(accounts: Mapping[str, Iterable[Mapping[str, Any]]] | Iterable[Mapping[str, Any]]
                   ) -> dict[str, str]:
    names: dict[str, str] = {}
    for group in account_groups(accounts).values():
        names.update(group)
    return names
