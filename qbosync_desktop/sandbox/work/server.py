"""The Work API v1 over HTTP (werkzeug), as described in docs/work-api.md and resources/work-api.yaml.

What it enforces, because the connector must cope with a real deployment doing the same:

* ``Authorization: Bearer <API key>`` on every call, compared in constant time → 401.
* Unknown query parameters, bad ``limit`` (1..500), bad cursors, bad dates → 400.
* Field rules and references (:mod:`.rules`) → 400 / 422; unknown ids → 404; wrong verb → 405.
* ``PATCH`` needs ``If-Match: <version>`` (428 without it); a stale version → 409.
* ``Idempotency-Key`` on ``POST``/``PATCH``: a repeat of a write that succeeded is answered with the
  stored response instead of being applied twice — the connector retries writes after a lost
  response, and must not create a client twice.

Test hooks: :meth:`WorkApi.fail_next` answers the next N API calls with a chosen status (429 with
``Retry-After``, 500, 503, ...) before they touch any data; ``latency_ms`` delays every answer; the
``stats`` counters and the ``recent`` request log let tests check what the connector really sent.

Outside ``/api/v1`` the server answers with pages for people (:mod:`.pages`): a person rehearsing the
sync corrects or voids payments, credits and refunds there, as in the Work application.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from qbosync_desktop.sandbox.work.db import RESOURCES
from qbosync_desktop.sandbox.work.pages import WorkPages
from qbosync_desktop.sandbox.work.rules import ApiError
from qbosync_desktop.sandbox.work.store import DEFAULT_LIMIT, WorkStore

log = logging.getLogger(__name__)

API = "/api/v1"
WRITABLE = ("clients", "sites")
LIST_PARAMS = {"limit", "cursor", "updated_since"}
LISTABLE = tuple(r for r in RESOURCES if r != "company")
_ANY = "any(" + ", ".join(f"'{r}'" for r in LISTABLE) + ")"


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after: float | None = None
    path_prefix: str | None = None


@dataclass
class OddAnswer:
    """The next ``remaining`` GETs under ``path_prefix`` answered 200 with ``body`` (test hook)."""

    body: str
    remaining: int
    path_prefix: str | None = None
    content_type: str = "application/json"


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    if_match: str | None = None
    idempotency_key: str | None = None
    replayed: bool = False


@dataclass
class Stats:
    requests: collections.Counter = field(default_factory=collections.Counter)
    statuses: collections.Counter = field(default_factory=collections.Counter)


class WorkApi:
    """The WSGI application. One instance per demo server."""

    def __init__(self, store: WorkStore, api_key: str, *, latency_ms: float = 0) -> None:
        self.store = store
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.stats = Stats()
        self.recent: collections.deque[RequestRecord] = collections.deque(maxlen=500)
        self._faults: list[Fault] = []
        self._late: list[Fault] = []  # status field unused: seconds to hold the answer are in retry_after
        self._odd: list[OddAnswer] = []
        self._lock = threading.Lock()
        self.pages = WorkPages(store, secrets.token_urlsafe(24))
        self.url_map = Map([
            Rule(f"{API}/company", endpoint="company", methods=["GET"]),
            Rule(f"{API}/<{_ANY}:resource>", endpoint="collection", methods=["GET", "POST"]),
            Rule(f"{API}/<{_ANY}:resource>/<record_id>", endpoint="record",
                 methods=["GET", "PATCH"]),
        ], strict_slashes=False)

    # -- test hooks -------------------------------------------------------------------------------
    def fail_next(self, status: int, count: int = 1, *, retry_after: float | None = None,
                  path_prefix: str | None = None) -> None:
        """Answer the next ``count`` API calls (optionally only those under ``path_prefix``) with ``status``."""
        with self._lock:
            self._faults.append(Fault(status, count, retry_after, path_prefix))

    def delay_response_next(self, seconds: float, count: int = 1, *, path_prefix: str | None = None) -> None:
        """Apply the next ``count`` calls, then hold their answers for ``seconds``: a client with a shorter
        timeout gives up *after* the write happened — the "lost response" an idempotent retry must survive."""
        with self._lock:
            self._late.append(Fault(0, count, seconds, path_prefix))

    def answer_next(self, body: str, count: int = 1, *, path_prefix: str | None = None,
                    content_type: str = "application/json") -> None:
        """Answer the next ``count`` GETs (under ``path_prefix``) 200 with ``body``: an answer in a form
        Work's API does not document (an object where a list belongs, an HTML page)."""
        with self._lock:
            self._odd.append(OddAnswer(body, count, path_prefix, content_type))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._late.clear()
            self._odd.clear()

    def _take_fault(self, path: str, queue: list[Fault] | None = None) -> Fault | None:
        faults = self._faults if queue is None else queue
        with self._lock:
            for fault in faults:
                if fault.path_prefix is None or path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        faults.remove(fault)
                    return fault
        return None

    def _take_odd(self, path: str) -> OddAnswer | None:
        with self._lock:
            for odd in self._odd:
                if odd.path_prefix is None or path.startswith(odd.path_prefix):
                    odd.remaining -= 1
                    if odd.remaining <= 0:
                        self._odd.remove(odd)
                    return odd
        return None

    # -- WSGI -------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response, replayed = self._respond(request)
        with self._lock:
            self.stats.requests[f"{request.method} {self._resource_of(request.path)}"] += 1
            self.stats.statuses[response.status_code] += 1
            self.recent.append(RequestRecord(request.method, request.path, request.query_string.decode(),
                                             response.status_code, request.headers.get("If-Match"),
                                             request.headers.get("Idempotency-Key"), replayed))
        late = self._take_fault(request.path, self._late) if self._late else None
        if late is not None and late.retry_after:
            time.sleep(late.retry_after)
        return response(environ, start_response)

    @staticmethod
    def _resource_of(path: str) -> str:
        if not path.startswith(API):
            return "page"  # a person's page (:mod:`.pages`), not an API call
        parts = path.removeprefix(API).strip("/").split("/")
        return parts[0] if parts and parts[0] else "?"

    def _respond(self, request: Request) -> tuple[Response, bool]:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        try:
            if not request.path.startswith(API + "/") and request.path != API:
                return self.pages.respond(request), False
            fault = self._take_fault(request.path)
            if fault is not None:
                raise _fault_error(fault)
            self._authenticate(request)
            odd = self._take_odd(request.path) if self._odd and request.method == "GET" else None
            if odd is not None:
                return Response(odd.body, 200, content_type=odd.content_type), False
            adapter = self.url_map.bind_to_environ(request.environ)
            try:
                endpoint, args = adapter.match()
            except HTTPException as exc:
                raise _routing_error(exc) from None
            if request.method in ("POST", "PATCH"):
                return self._idempotent_write(request, endpoint, args)
            return self._dispatch(request, endpoint, args), False
        except ApiError as exc:
            return _json(exc.body(), exc.status, exc.headers), False
        except Exception:
            log.exception("Work demo server failed on %s %s", request.method, request.path)
            return _json({"error": "server_error", "message": "The Work server failed unexpectedly.",
                          "details": {}}, 500), False

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            raise ApiError(401, "unauthorized", "The API key is missing or not valid.",
                           {"scheme": "Bearer"}, {"WWW-Authenticate": 'Bearer realm="work"'})

    def _idempotent_write(self, request: Request, endpoint: str, args: dict[str, Any]) -> tuple[Response, bool]:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self._dispatch(request, endpoint, args), False
        if len(key) > 255:
            raise ApiError(400, "invalid_request", "The Idempotency-Key header must be at most 255 characters.")
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(),
                                                 request.headers.get("If-Match", "").encode(),
                                                 request.get_data()])).hexdigest()
        table = self.store.wdb.idempotency
        with self.store.write_lock, self.store.wdb.connection():
            stored = table.get_or_none(table.key == key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise ApiError(422, "idempotency_key_reused",
                                   "This Idempotency-Key was already used for a different request.")
                headers = {**json.loads(stored.headers), "Idempotent-Replayed": "true"}
                return _json(json.loads(stored.body), stored.status, headers), True
            response = self._dispatch(request, endpoint, args)
            if 200 <= response.status_code < 300:
                kept = {h: response.headers[h] for h in ("ETag", "Location") if h in response.headers}
                table.insert(key=key, fingerprint=fingerprint, status=response.status_code, headers=json.dumps(kept),
                             body=response.get_data(as_text=True), created_at=self.store.clock.now()).execute()
            return response, False

    def _dispatch(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        store = self.store
        if endpoint == "company":
            return _record(store.company())
        resource = args["resource"]
        reading = request.method in ("GET", "HEAD")
        if endpoint == "collection" and reading:
            return self._list(request, resource)
        if endpoint == "record" and reading:
            return _record(store.get(resource, args["record_id"]))
        if resource not in WRITABLE:
            raise ApiError(405, "method_not_allowed", f"{resource} are read-only through the API.",
                           headers={"Allow": "GET"})
        body = _body(request)
        if request.method == "POST":
            created = store.create(resource, body)
            return _record(created, 201, {"Location": f"{API}/{resource}/{created['id']}"})
        version = _if_match(request)
        return _record(store.update(resource, args["record_id"], body, expected_version=version))

    def _list(self, request: Request, resource: str) -> Response:
        unknown = sorted(set(request.args) - LIST_PARAMS)
        if unknown:
            raise ApiError(400, "invalid_request", f"Unknown query parameter: {unknown[0]}.",
                           {"parameter": unknown[0], "allowed": sorted(LIST_PARAMS)})
        raw_limit = request.args.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            raise ApiError(400, "invalid_request", "limit must be a whole number.", {"parameter": "limit"}) from None
        data, next_cursor = self.store.page(resource, limit=limit, cursor=request.args.get("cursor") or None,
                                            updated_since=request.args.get("updated_since") or None)
        return _json({"data": data, "next_cursor": next_cursor}, 200)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _record(record: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _json(record, status, {"ETag": f'"{record["version"]}"', **(headers or {})})


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise ApiError(400, "invalid_request", "The request body is not valid JSON.") from None


def _if_match(request: Request) -> int:
    raw = request.headers.get("If-Match")
    if raw is None:
        raise ApiError(428, "precondition_required",
                       "Updates must send If-Match with the version you read, so no change is lost.")
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ApiError(400, "invalid_request", "If-Match must be the record's version number.",
                       {"header": "If-Match"})
    return int(value)


def _fault_error(fault: Fault) -> ApiError:
    if fault.status == 429:
        retry = fault.retry_after if fault.retry_after is not None else 1
        return ApiError(429, "rate_limited", "Too many requests; slow down and retry later.",
                        {"retry_after": retry}, {"Retry-After": _retry_after_text(retry)})
    if fault.status >= 500:
        headers = {"Retry-After": _retry_after_text(fault.retry_after)} if fault.retry_after is not None else {}
        return ApiError(fault.status, "server_error", "The Work server had a temporary problem.", {}, headers)
    return ApiError(fault.status, "injected", f"Injected failure {fault.status}.")


def _retry_after_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _routing_error(exc: HTTPException) -> ApiError:
    if exc.code == 405:
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or []))
        return ApiError(405, "method_not_allowed", "This address does not support that method.",
                        {"allowed": allowed}, {"Allow": allowed})
    return ApiError(404, "not_found", "There is nothing at this address.")
