"""``QboSandbox``: start the practice QuickBooks server in-process, act on it, stop it.

The server is werkzeug's threaded WSGI server on a loopback address only, in a daemon thread, so
tests, practice mode and benchmarks talk real HTTP to it. :meth:`QboSandbox.stop` also closes the
keep-alive connections that clients still hold, otherwise a pooled connection would keep talking to
a "stopped" server.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.sandbox.qbo import operations
from qbosync_desktop.sandbox.qbo.app import OddAnswer, SandboxApp, Settings, Stats
from qbosync_desktop.sandbox.qbo.clock import Clock
from qbosync_desktop.sandbox.qbo.oauth import OAuthServer
from qbosync_desktop.sandbox.qbo.seed import seed_practice
from qbosync_desktop.sandbox.qbo.storage import ENTITIES, Company, Persistence
from qbosync_desktop.sandbox.qbo.tax import FLAVOURS
from qbosync_desktop.sandbox.qbo.throttle import Throttle

log = logging.getLogger(__name__)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
APP_NAME = "QBO Sync Desktop"


@dataclass(frozen=True)
class SandboxConfig:
    """What a client needs to connect; the CLI prints it as its first stdout line."""

    base_url: str
    discovery_url: str
    api_base: str
    realm_id: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


#: What :meth:`QboSandbox.snapshot` copies of the company and of the OAuth server.
_COMPANY_STATE = ("objects", "stamps", "tombstones", "next_ids", "replay", "index", "relations", "touched",
                  "_in_order")
_OAUTH_STATE = ("clients", "codes", "grants", "access", "refresh")


@dataclass(frozen=True)
class SandboxSnapshot:
    """A started sandbox's state at one moment (see :meth:`QboSandbox.snapshot`)."""

    state: dict[str, dict[str, Any]]
    stats: dict[str, int]
    settings: Settings
    throttle: bool
    clock_offset: float
    rng: Any


class _Handler(WSGIRequestHandler):
    """werkzeug's request handler with keep-alive, quiet, and tracked so stop() can close connections.

    werkzeug 3's ``run_wsgi`` answers every request with ``Connection: close`` (then drains the
    socket), so each request paid for a new TCP connection and a new thread — most of the server's
    cost. The sandbox's WSGI app always reads the whole request body first (``app.SandboxApp``), which
    is what makes keep-alive safe here, so this ``run_wsgi`` keeps the connection open, writes status,
    headers and body in one send, and leaves everything else (parsing, ``make_environ``) to werkzeug.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Several small writes per response: without TCP_NODELAY, Nagle's algorithm would hold the
        # last one until the client's delayed ACK.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        with self.server.connections_lock:  # type: ignore[attr-defined]
            self.server.connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:  # type: ignore[attr-defined]
                self.server.connections.discard(self.connection)  # type: ignore[attr-defined]

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        started: list[Any] = []
        body: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return body.append

        try:
            result = self.server.app(environ, start_response)
            try:
                body.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except (TimeoutError, ConnectionError):  # dropped on purpose (drills) or by the client
            self.close_connection = True
            return
        except Exception:
            log.exception("QBO sandbox handler failed")
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            body[:] = [b"Internal Server Error"]
            self.close_connection = True
        status, headers = started
        payload = b"" if environ["REQUEST_METHOD"] == "HEAD" else b"".join(body)
        lines = [f"{self.protocol_version} {status}", f"Date: {self.date_time_string()}", "Server: qbo-sandbox"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in ("content-length", "connection")]
        lines.append(f"Content-Length: {len(b''.join(body))}")
        if self.close_connection:
            lines.append("Connection: close")
        try:
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        except (TimeoutError, ConnectionError):
            self.close_connection = True


def _canonical(entity: str) -> str:
    for name in ENTITIES:
        if name.lower() == entity.lower():
            return name
    raise KeyError(f"unknown entity {entity!r}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoreView:
    """Read access for assertions: copies, so a test cannot change the company by accident."""

    def __init__(self, company: Company) -> None:
        self._company = company

    def all(self, entity: str) -> list[dict[str, Any]]:
        with self._company.lock:
            objs = self._company.all(_canonical(entity))
            return sorted((copy.deepcopy(o) for o in objs), key=lambda o: int(o["Id"]))

    def get(self, entity: str, obj_id: str | int) -> dict[str, Any] | None:
        with self._company.lock:
            obj = self._company.get(_canonical(entity), str(obj_id))
            return copy.deepcopy(obj) if obj is not None else None

    def find(self, entity: str, **fields: Any) -> list[dict[str, Any]]:
        """Objects whose top-level fields equal ``fields`` (e.g. ``find("Customer", DisplayName="Ann Lee")``)."""
        return [o for o in self.all(entity) if all(o.get(k) == v for k, v in fields.items())]

    def deleted(self, entity: str) -> list[str]:
        with self._company.lock:
            return sorted(self._company.tombstones[_canonical(entity)], key=int)


class SandboxUser:
    """Acts "as a QuickBooks user would": the same rules and SyncToken bumps as the API, no HTTP.

    Two-way and conflict tests use it to change QuickBooks behind the sync's back. Faults raise
    :class:`qbosync_desktop.sandbox.qbo.faults.ApiFault`.
    """

    def __init__(self, company: Company) -> None:
        self._company = company

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._company.write_lock():
            return copy.deepcopy(operations.create(self._company, _canonical(entity), body))

    def update(self, entity: str, obj_id: str | int, **fields: Any) -> dict[str, Any]:
        """Sparse update of the given fields with the current SyncToken."""
        entity = _canonical(entity)
        with self._company.write_lock():
            current = operations.read(self._company, entity, str(obj_id))
            body = {**copy.deepcopy(fields), "Id": str(obj_id), "SyncToken": current["SyncToken"], "sparse": True}
            return copy.deepcopy(operations.update(self._company, entity, body))

    def update_customer(self, obj_id: str | int, **fields: Any) -> dict[str, Any]:
        return self.update("Customer", obj_id, **fields)

    def set_active(self, entity: str, obj_id: str | int, active: bool) -> dict[str, Any]:
        return self.update(entity, obj_id, Active=bool(active))

    def _by_token(self, entity: str, obj_id: str | int, action: Any) -> dict[str, Any]:
        with self._company.write_lock():
            current = operations.read(self._company, entity, str(obj_id))
            return copy.deepcopy(action(self._company, entity, {"Id": str(obj_id), "SyncToken": current["SyncToken"]}))

    def void_invoice(self, obj_id: str | int) -> dict[str, Any]:
        return self._by_token("Invoice", obj_id, operations.void)

    def void_payment(self, obj_id: str | int) -> dict[str, Any]:
        return self._by_token("Payment", obj_id, operations.void)

    def delete(self, entity: str, obj_id: str | int) -> dict[str, Any]:
        return self._by_token(_canonical(entity), obj_id, operations.delete)

    def merge_customers(self, merged_id: str | int, into_id: str | int) -> dict[str, Any]:
        """Merge customer ``merged_id`` into ``into_id`` as a QuickBooks Online user does: in the web
        app, renaming a customer to another customer's display name and confirming merges them (the
        API has no merge, and names cannot be deleted through it - a write answers 6240 "Duplicate
        Name" and ``operation=delete`` on a Customer is refused). Its transactions and
        sub-customers move to ``into_id`` (each saved with its next SyncToken) and it is deleted: the
        change feed reports it as ``status: Deleted`` with only its Id, and nothing says which
        customer it went into; reading it answers 610 "Object Not Found" and a transaction naming it
        2500 "Invalid Reference Id". Returns the customer it was merged into."""
        return copy.deepcopy(operations.merge_customers(self._company, str(merged_id), str(into_id)))


class QboSandbox:
    """The embedded QuickBooks Online practice server (see docs/qbo-sandbox.md)."""

    def __init__(
        self,
        realm_id: str | None = None,
        auto_consent: bool = False,
        throttle: bool = True,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        lost_response_rate: float = 0.0,
        access_token_ttl: int = 3600,
        data_dir: str | Path | None = None,
        time_scale: float = 1.0,
        seed: str | None = "practice",
        redirect_uris: tuple[str, ...] | list[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        throttle_xml: bool = False,
        random_seed: int | None = None,
        app_name: str = APP_NAME,
        company: str = "us",
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ConfigurationError(
                f"The practice QuickBooks server only listens on this computer, not on {host}.",
                hint="Use --host 127.0.0.1 (the default).", field="host",
            )
        if seed not in (None, "", "practice", "empty"):
            raise ConfigurationError(f"Unknown practice data set {seed!r}.", hint="Use 'practice' or 'empty'.", field="seed")
        if company not in FLAVOURS:
            raise ConfigurationError(f"Unknown practice company {company!r}.",
                                     hint="Use 'us' (Automated Sales Tax) or 'ca' (Canadian tax codes).", field="company")
        if time_scale <= 0:
            raise ConfigurationError("time_scale must be positive.", hint="Use 1 for real time, 60 for a 1-second minute.",
                                     field="time_scale")
        self.realm_id_requested = realm_id
        self.settings = Settings(latency_ms=latency_ms, fault_rate=fault_rate, lost_response_rate=lost_response_rate,
                                 auto_consent=auto_consent, throttle_xml=throttle_xml)
        self.access_token_ttl = access_token_ttl
        self.data_dir = Path(data_dir) if data_dir else None
        self.seed = seed
        self.company_flavour = company
        self.redirect_uris = list(redirect_uris)
        self.host = host
        self.port = port
        self.app_name = app_name
        self.clock = Clock()
        self._throttle = Throttle(enabled=throttle, time_scale=time_scale, now=self.clock.monotonic)
        self._stats = Stats()
        self._rng = random.Random(random_seed)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._persistence: Persistence | None = None
        self.company: Company | None = None
        self.oauth: OAuthServer | None = None
        self.config: SandboxConfig | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SandboxConfig:
        if self._server is not None:
            raise RuntimeError("QboSandbox already started")
        persistence = Persistence(self.data_dir) if self.data_dir else None
        self._persistence = persistence
        realm_id = self._realm_id(persistence)
        company = Company(realm_id, self.clock, persistence)
        company.load()
        if company.is_empty() and self.seed == "practice":
            with company.write_lock():
                seed_practice(company, self.company_flavour)
        oauth = OAuthServer(self.clock, self.access_token_ttl, persistence)
        oauth.load()
        client = oauth.ensure_client(self.app_name)
        if not client.redirect_uris:
            oauth.register_redirect_uri(client.client_id, f"http://localhost:{_free_port()}/callback")
        for uri in self.redirect_uris:
            oauth.register_redirect_uri(client.client_id, uri)
        self.company, self.oauth = company, oauth
        app = SandboxApp(company, oauth, self._throttle, self.settings, self._stats, self.app_name, self._rng)
        server = make_server(self.host, self.port, app, threaded=True, request_handler=_Handler)
        server.connections = set()  # type: ignore[attr-defined]
        server.connections_lock = threading.Lock()  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="qbo-sandbox", daemon=True)
        self._thread.start()
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{server.server_port}"
        self.config = SandboxConfig(
            base_url=base, discovery_url=base + "/.well-known/openid_configuration", api_base=base + "/v3",
            realm_id=realm_id, client_id=client.client_id, client_secret=client.client_secret,
            redirect_uri=client.redirect_uris[0],
        )
        return self.config

    def _realm_id(self, persistence: Persistence | None) -> str:
        stored = persistence.load("meta").get("realm_id") if persistence else None
        realm = stored or self.realm_id_requested or str(random.SystemRandom().randint(9130_3500_0000_0000, 9130_3599_9999_9999))
        if persistence and not stored:
            persistence.put("meta", "realm_id", realm)
        return str(realm)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.connections_lock:  # type: ignore[attr-defined]
            live = list(server.connections)  # type: ignore[attr-defined]
        for conn in live:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._persistence is not None:
            with self.company.lock if self.company else threading.Lock():
                self._persistence.close()

    def __enter__(self) -> QboSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- snapshot / restore ----------------------------------------------------------------------
    def snapshot(self) -> SandboxSnapshot:
        """Everything a test can change, copied: the company, the OAuth grants and tokens, the request
        counters, the drill settings, the throttle switch, the clock offset and the random state.

        With :meth:`restore` one started server serves many tests, each from the same state, for the
        cost of a copy (tests start the practice servers once per module). In-memory companies only:
        a server with a data folder is restarted instead.
        """
        company, oauth = self._started(), self.oauth
        assert oauth is not None
        if self._persistence is not None:
            raise RuntimeError("snapshot() needs an in-memory sandbox (no data_dir)")
        with company.lock, oauth.lock:
            state = {
                "company": {k: copy.deepcopy(getattr(company, k)) for k in _COMPANY_STATE},
                "oauth": {k: copy.deepcopy(getattr(oauth, k)) for k in _OAUTH_STATE},
            }
        return SandboxSnapshot(
            state=state, stats=self._stats.snapshot(), settings=copy.copy(self.settings),
            throttle=self._throttle.enabled, clock_offset=self.clock.offset, rng=self._rng.getstate(),
        )

    def restore(self, snap: SandboxSnapshot) -> None:
        """Put the server back exactly as :meth:`snapshot` found it (the address stays the same)."""
        company, oauth = self._started(), self.oauth
        assert oauth is not None
        with company.lock, oauth.lock:
            for k, v in snap.state["company"].items():
                setattr(company, k, copy.deepcopy(v))
            company._json = {}
            for k, v in snap.state["oauth"].items():
                setattr(oauth, k, copy.deepcopy(v))
        self._stats.reset(snap.stats)
        for f in fields(Settings):
            setattr(self.settings, f.name, getattr(snap.settings, f.name))
        self.settings.odd_answers = []  # test hooks are not part of a snapshot
        self._throttle.reset(enabled=snap.throttle)
        self.clock.set_offset(snap.clock_offset)
        self._rng.setstate(snap.rng)

    # --- handles -------------------------------------------------------------------------------
    def _started(self) -> Company:
        if self.company is None:
            raise RuntimeError("QboSandbox not started")
        return self.company

    @property
    def user(self) -> SandboxUser:
        return SandboxUser(self._started())

    @property
    def store(self) -> StoreView:
        return StoreView(self._started())

    @property
    def stats(self) -> dict[str, int]:
        """Counters: requests, read/query/write/batch/cdc/oauth/html, throttled, replays,
        lost_responses, fault_500/fault_503/fault_drop, auth_failures."""
        return self._stats.snapshot()

    def set_faults(self, *, fault_rate: float | None = None, lost_response_rate: float | None = None,
                   latency_ms: float | None = None, throttle: bool | None = None) -> None:
        """Change drills while running (e.g. turn faults off before checking the end state)."""
        if fault_rate is not None:
            self.settings.fault_rate = fault_rate
        if lost_response_rate is not None:
            self.settings.lost_response_rate = lost_response_rate
        if latency_ms is not None:
            self.settings.latency_ms = latency_ms
        if throttle is not None:
            self._throttle.enabled = throttle

    def answer_next(self, resource: str, *, transform: Callable[[Any], Any] | None = None, body: str | None = None,
                    content_type: str = "application/json", count: int = 1) -> None:
        """Answer the next ``count`` successful requests to ``resource`` ("query", "cdc", "customer"...)
        in an unexpected form: the real answer's JSON through ``transform`` (drop ``QueryResponse``, a
        record's ``SyncToken``...), or ``body`` instead (an HTML page). For tests of how the app reads
        an answer QuickBooks' API does not document."""
        self.settings.odd_answers.append(OddAnswer(resource.lower(), count, transform, body, content_type))

    def clear_odd_answers(self) -> None:
        self.settings.odd_answers.clear()

    def register_redirect_uri(self, uri: str) -> None:
        if self.oauth is None:
            self.redirect_uris.append(uri)
            return
        self.oauth.register_redirect_uri(next(iter(self.oauth.clients)), uri)
