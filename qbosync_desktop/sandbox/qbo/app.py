"""The WSGI application: routing, metering, fault injection and serialisation.

Order of events for an accounting request, as at Intuit: the drill faults fire first ("fail before
doing anything"), then the gateway checks the bearer token (lower-case 401 fault), then the company's
limits (429 / 3001), then the API runs under the company lock. A write with a ``requestid`` stores
its response under that id in the same locked section, so a retry — even one racing the original —
gets the original response and writes nothing. ``lost_response_rate`` drops the connection *after*
the write is committed and remembered: the failure that makes naive integrations duplicate invoices.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from qbosync_desktop.sandbox.qbo import api, operations, pages
from qbosync_desktop.sandbox.qbo.clock import response_time
from qbosync_desktop.sandbox.qbo.faults import (
    ApiFault,
    auth_body,
    authorization_failed,
    invalid_request,
    system_failure,
    throttle_body,
    throttle_xml,
    unsupported_operation,
)
from qbosync_desktop.sandbox.qbo.oauth import ACCOUNTING_SCOPE, SCOPES, OAuthError, OAuthServer
from qbosync_desktop.sandbox.qbo.storage import ENTITIES, SINGLETONS, Company
from qbosync_desktop.sandbox.qbo.throttle import Throttle

log = logging.getLogger(__name__)
JSON = "application/json;charset=UTF-8"
#: Every entity with ``GET /{entity}/{id}``; writes are refused (500 Unsupported Operation) for
#: those without rules (TaxCode, TaxRate).
ENTITY_PATHS = {name.lower(): name for name in ENTITIES if name not in SINGLETONS}


@dataclass
class Settings:
    """Drill knobs that may change while the server runs (``QboSandbox.set_faults``)."""

    latency_ms: float = 0.0
    fault_rate: float = 0.0
    lost_response_rate: float = 0.0
    auto_consent: bool = False
    throttle_xml: bool = False
    #: answers in an unexpected form, for the next requests to a resource (``QboSandbox.answer_next``)
    odd_answers: list[OddAnswer] = field(default_factory=list)


@dataclass
class OddAnswer:
    """The next ``remaining`` 2xx answers of ``resource`` ("query", "cdc", "customer"...) changed: the
    real answer's JSON passed through ``transform``, or replaced by ``body`` (HTML, a truncated text)."""

    resource: str
    remaining: int = 1
    transform: Callable[[Any], Any] | None = None
    body: str | None = None
    content_type: str = "application/json"


class Stats:
    """Counters for benchmarks and drills: requests by kind, 429s, injected faults, replays."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self, counts: dict[str, int] | None = None) -> None:
        with self._lock:
            self._counts = Counter(counts or {})


class Reply(NamedTuple):
    """A finished response. Plain tuples instead of werkzeug ``Response`` objects: building those
    cost more than the sandbox's own work on the hot path (benchmarks want ≥ 1,000 creates/s)."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] | None = None


def reply(body: str | bytes, status: int, *, content_type: str = "text/plain; charset=utf-8",
          headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body.encode("utf-8") if isinstance(body, str) else body, content_type, headers)


class _Drop(Exception):
    """Close the connection without any response."""


class SandboxApp:
    def __init__(self, company: Company, oauth: OAuthServer, throttle: Throttle, settings: Settings,
                 stats: Stats, app_name: str, rng: random.Random | None = None) -> None:
        self.company = company
        self.oauth = oauth
        self.throttle = throttle
        self.settings = settings
        self.stats = stats
        self.app_name = app_name
        self.rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._tid_prefix = secrets.token_hex(6)  # unique per server start; the counter per response
        self._tid_counter = itertools.count(1)

    def _chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._rng_lock:
            return self.rng.random() < rate

    def _now(self) -> str:
        return response_time(self.company.clock.now())

    # --- WSGI entry --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        # Read the body up front: an early answer (401, 429, injected 500) must not leave it in the
        # keep-alive connection, where it would be parsed as the next request.
        request.get_data()
        try:
            response = self.dispatch(request)
        except _Drop:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionAbortedError("sandbox dropped the connection on purpose") from None
        except Exception:  # a sandbox bug must look like QBO's 500, and be visible in the log
            log.exception("QBO sandbox failed on %s %s", request.method, request.path)
            response = self._json(500, system_failure().body(self._now()))
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   ("intuit_tid", f"1-{self._tid_prefix}-{next(self._tid_counter):016x}")]
        if response.headers:
            headers += list(response.headers.items())
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
        return [response.body]

    def dispatch(self, request: Request) -> Reply:
        path = request.path
        if path.startswith("/v3/company/"):
            return self.accounting(request)
        if path in ("/.well-known/openid_configuration", "/.well-known/openid_sandbox_configuration"):
            return self._json(200, self.discovery(request.host_url.rstrip("/")))
        handlers = {
            "/connect/oauth2": self.authorize,
            "/oauth2/v1/tokens/bearer": self.token,
            "/v2/oauth2/tokens/revoke": self.revoke,
            "/v1/openid_connect/userinfo": self.userinfo,
            "/op/v1/jwks": lambda _r: self._json(200, {"keys": []}),
        }
        if path in handlers:
            self.stats.add("oauth")
            return handlers[path](request)
        if request.method == "GET" and (path == "/" or path in pages.VIEWS):
            self.stats.add("html")
            with self.company.lock:
                html = pages.company_home(self.company) if path == "/" else pages.list_view(self.company, path)
            return reply(html, 200, content_type="text/html; charset=utf-8")
        return reply("Not Found", 404, content_type="text/plain")

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return reply(json.dumps(payload), status, headers=headers, content_type=JSON)

    # --- OAuth -------------------------------------------------------------------------------
    @staticmethod
    def discovery(base: str) -> dict[str, Any]:
        return {
            "issuer": base + "/op/v1",
            "authorization_endpoint": base + "/connect/oauth2",
            "token_endpoint": base + "/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
            "revocation_endpoint": base + "/v2/oauth2/tokens/revoke",
            "jwks_uri": base + "/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }

    @staticmethod
    def _redirect(uri: str, params: dict[str, str]) -> Reply:
        sep = "&" if "?" in uri else "?"
        return reply("", 302, headers={"Location": uri + sep + urlencode(params)})

    def authorize(self, request: Request) -> Reply:
        """GET shows the consent page (or redirects at once with auto-consent); POST is the answer."""
        args = request.form if request.method == "POST" else request.args
        client = self.oauth.clients.get(args.get("client_id", ""))
        redirect_uri = args.get("redirect_uri", "")
        if client is None:
            return reply(pages.error_page("Unknown app", "The client_id is not a registered app."), 400,
                            content_type="text/html; charset=utf-8")
        if redirect_uri not in client.redirect_uris:
            return reply(pages.error_page("Redirect URI not registered",
                                             f"{redirect_uri or '(none)'} is not a redirect URI of this app."), 400,
                            content_type="text/html; charset=utf-8")
        state = args.get("state", "")
        if args.get("response_type") != "code":
            return self._redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        scope = args.get("scope", "")
        if ACCOUNTING_SCOPE not in scope.split() or any(s not in SCOPES for s in scope.split()):
            return self._redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        approve = self.settings.auto_consent if request.method == "GET" else args.get("decision") == "connect"
        if request.method == "GET" and not self.settings.auto_consent:
            info = self.company.get("CompanyInfo", "1") or {}
            fields = {k: args.get(k, "") for k in ("client_id", "redirect_uri", "scope", "state", "response_type")}
            html = pages.consent(client.name, str(info.get("CompanyName", "your company")), fields)
            return reply(html, 200, content_type="text/html; charset=utf-8")
        if not approve:
            return self._redirect(redirect_uri, {"error": "access_denied", "state": state})
        code = self.oauth.issue_code(client, redirect_uri, scope, self.company.realm_id)
        return self._redirect(redirect_uri, {"code": code, "state": state, "realmId": self.company.realm_id})

    def _client(self, request: Request) -> Any:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            return self.oauth.authenticate(auth.username, auth.password)
        return self.oauth.authenticate(request.form.get("client_id"), request.form.get("client_secret"))

    def _oauth_error(self, exc: OAuthError) -> Reply:
        headers = {"WWW-Authenticate": 'Basic realm="Intuit"'} if exc.status == 401 else None
        return self._json(exc.status, exc.body(), headers)

    def token(self, request: Request) -> Reply:
        self._latency()
        if request.method != "POST":
            return self._json(405, {"error": "invalid_request"})
        try:
            client = self._client(request)
            grant_type = request.form.get("grant_type")
            if grant_type == "authorization_code":
                payload = self.oauth.exchange_code(client, request.form.get("code"), request.form.get("redirect_uri"))
            elif grant_type == "refresh_token":
                payload = self.oauth.refresh_grant(client, request.form.get("refresh_token"))
            else:
                raise OAuthError(400, "unsupported_grant_type")
        except OAuthError as exc:
            return self._oauth_error(exc)
        return self._json(200, payload, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revoke(self, request: Request) -> Reply:
        try:
            client = self._client(request)
        except OAuthError as exc:
            return self._oauth_error(exc)
        body = request.get_json(silent=True) or {}
        token = body.get("token") if isinstance(body, dict) else None
        self.oauth.revoke(client, token or request.form.get("token"))
        return reply("", 200)

    def userinfo(self, request: Request) -> Reply:
        try:
            grant = self.oauth.check_bearer(request.headers.get("Authorization"))
        except OAuthError as exc:
            return self._json(401, {"error": exc.error, "error_description": exc.description})
        return self._json(200, {"sub": f"practice-user-{grant['realm_id']}", "givenName": "Pat", "familyName": "Practice",
                                "email": "pat.practice@example.com", "emailVerified": True})

    # --- accounting API ----------------------------------------------------------------------
    def _latency(self) -> None:
        if self.settings.latency_ms > 0:
            time.sleep(self.settings.latency_ms / 1000.0)

    def accounting(self, request: Request) -> Reply:
        self.stats.add("requests")
        if self._chance(self.settings.fault_rate):
            with self._rng_lock:
                kind = self.rng.choice(("500", "503", "drop"))
            self.stats.add(f"fault_{kind}")
            if kind == "drop":
                raise _Drop()
            if kind == "503":
                return reply("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", 503,
                                content_type="text/html")
            return self._json(500, system_failure().body(self._now()))
        try:
            grant = self.oauth.check_bearer(request.headers.get("Authorization"))
        except OAuthError as exc:
            self.stats.add("auth_failures")
            return self._json(401, auth_body(exc.description, self._now()),
                              {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'})
        parts = request.path.split("/")  # ['', 'v3', 'company', realm, resource, *rest]
        realm = parts[3]
        if realm != self.company.realm_id or grant["realm_id"] != realm:
            fault = authorization_failed(f"The app is not authorized for company {realm}")
            return self._json(403, fault.body(self._now()))
        resource = parts[4].lower() if len(parts) > 4 else ""
        refused = self.throttle.enter(realm, batch=resource == "batch")
        if refused:
            self.stats.add("throttled")
            if self.settings.throttle_xml:
                return reply(throttle_xml(refused, self._now()), 429, content_type="application/xml")
            return self._json(429, throttle_body(refused, self._now()))
        try:
            self._latency()  # inside the throttled section: a slow request counts as in flight
            status, data = self.resource(request, resource, [p for p in parts[5:] if p])
        finally:
            self.throttle.leave(realm)
        odd = self._odd_answer(resource) if self.settings.odd_answers and 200 <= status < 300 else None
        if odd is not None:
            self.stats.add("odd_answers")
            if odd.body is not None:
                return reply(odd.body, status, content_type=odd.content_type)
            assert odd.transform is not None
            return reply(json.dumps(odd.transform(json.loads(data))), status, content_type=odd.content_type)
        return reply(data, status, content_type=JSON)

    def _odd_answer(self, resource: str) -> OddAnswer | None:
        with self._rng_lock:
            for odd in self.settings.odd_answers:
                if odd.resource == resource:
                    odd.remaining -= 1
                    if odd.remaining <= 0:
                        self.settings.odd_answers.remove(odd)
                    return odd
        return None

    def _dump(self, payload: dict[str, Any]) -> bytes:
        payload["time"] = self._now()
        return json.dumps(payload).encode("utf-8")

    def _dump_query(self, result: dict[str, Any]) -> bytes:
        """Assemble a QueryResponse from the company's cached per-object JSON (the 1000-row case)."""
        entity = next((k for k, v in result.items() if isinstance(v, list)), None)
        if entity is None:
            return self._dump({"QueryResponse": result})
        rows = ",".join(self.company.json_of(entity, obj) for obj in result[entity])
        rest = {k: v for k, v in result.items() if k != entity}
        return (f'{{"QueryResponse": {{"{entity}": [{rows}], {json.dumps(rest)[1:-1]}}}, '
                f'"time": "{self._now()}"}}').encode()

    def resource(self, request: Request, resource: str, rest: list[str]) -> tuple[int, bytes]:
        company = self.company
        method = request.method
        try:
            if resource == "query":
                self.stats.add("query")
                text = request.args.get("query") if method == "GET" else request.get_data(as_text=True)
                if not text:
                    raise invalid_request("The query is empty (send ?query=... or a POST body of type application/text)")
                with company.lock:
                    return 200, self._dump_query(api.run_query(company, text))
            if resource == "cdc" and method == "GET":
                self.stats.add("cdc")
                with company.lock:
                    return 200, self._dump(api.cdc(company, request.args.get("entities"), request.args.get("changedSince")))
            if resource in ("companyinfo", "preferences") and method == "GET":
                self.stats.add("read")
                entity = "CompanyInfo" if resource == "companyinfo" else "Preferences"
                with company.lock:
                    return 200, self._dump({entity: operations.read(company, entity, "1")})
            if resource == "batch" and method == "POST":
                self.stats.add("batch")
                return self.write(request, lambda body: api.batch(company, body))
            entity = ENTITY_PATHS.get(resource)
            if entity is not None and method == "GET" and len(rest) == 1:
                self.stats.add("read")
                with company.lock:
                    return 200, self._dump({entity: operations.read(company, entity, rest[0])})
            if entity is not None and method == "POST" and not rest:
                self.stats.add("write")
                op, include = request.args.get("operation", ""), request.args.get("include", "")
                return self.write(request, lambda body: {
                    entity: operations.write(company, entity, body, operation=op, include=include)})
            raise unsupported_operation(f"{method} {resource}", resource or "(none)")
        except ApiFault as fault:
            return fault.status, json.dumps(fault.body(self._now())).encode("utf-8")

    def write(self, request: Request, run: Callable[[Any], dict[str, Any]]) -> tuple[int, bytes]:
        """One write with requestid replay and the lost-response drill."""
        company = self.company
        requestid = request.args.get("requestid")
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            body = None
        with company.write_lock():
            replayed = company.replayed(requestid) if requestid else None
            if replayed is not None:
                self.stats.add("replays")
                return replayed
            try:
                if body is None:
                    raise invalid_request("The request body is not valid JSON")
                status, data = 200, self._dump(run(body))
            except ApiFault as fault:
                status, data = fault.status, json.dumps(fault.body(self._now())).encode("utf-8")
            if requestid:
                company.remember(requestid, status, data)
        if self._chance(self.settings.lost_response_rate):
            self.stats.add("lost_responses")
            raise _Drop()
        return status, data
