"""HTTP client for the Work API v1: typed reads, versioned writes, every failure mapped to errors.py.

Why it looks the way it does:

* **Retries are bounded and only for transient failures** (connection dropped, timeout, 429, 500,
  502, 503, 504): ``max_retries`` extra attempts with exponential backoff, or the server's
  ``Retry-After`` when it sends one. A ``Retry-After`` longer than ``max_wait`` is not slept through
  here: :class:`~qbosync_desktop.core.errors.WorkThrottled` carries it up so the engine can reschedule.
* **Writes are safe to retry**: every ``POST``/``PATCH`` carries an ``Idempotency-Key`` generated once
  per call and reused on each retry, so a create whose response was lost is answered by Work with the
  original result instead of creating the client twice.
* **Updates never overwrite blindly**: ``update_client(id, version, ...)`` sends ``If-Match: version``;
  if someone changed the record in Work meanwhile the answer is 409 →
  :class:`~qbosync_desktop.core.errors.WorkConflict` (with the current version in ``details``), and the
  engine re-reads and merges.
* **Timeouts on every call**; the API key is registered with the log redaction filter and never put
  into an error's message or details.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import requests

from qbosync_desktop import __version__
from qbosync_desktop.connectors.work.models import (
    Address,
    Client,
    Company,
    Concept,
    Contractor,
    ContractorInvoice,
    CreditNote,
    Invoice,
    Item,
    Payment,
    Record,
    Refund,
    Site,
    TaxRate,
    Unreadable,
    format_timestamp,
)
from qbosync_desktop.core.errors import (
    ConnectionProblem,
    NotConnected,
    WorkApiError,
    WorkAuthError,
    WorkConflict,
    WorkNotFound,
    WorkRecordUnreadable,
    WorkServerError,
    WorkThrottled,
    WorkUnexpectedAnswer,
    WorkValidationError,
)
from qbosync_desktop.core.logs import register_secret

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_PAGE_SIZE = 500
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
R = TypeVar("R", bound=Record)

#: resource path → (record class, the word a person would use)
RESOURCES: dict[str, tuple[type[Record], str]] = {
    "clients": (Client, "client"),
    "sites": (Site, "site"),
    "items": (Item, "item"),
    "invoices": (Invoice, "invoice"),
    "payments": (Payment, "payment"),
    "contractors": (Contractor, "contractor"),
    "contractor-invoices": (ContractorInvoice, "contractor invoice"),
    "invoice-concepts": (Concept, "invoice concept"),
    "tax-rates": (TaxRate, "tax rate"),
    "credit-notes": (CreditNote, "credit note"),
    "refunds": (Refund, "refund"),
}


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a list; save ``next_cursor`` to resume a long read after a crash."""

    records: list[R]
    next_cursor: str | None
    #: records of this page that did not parse (each one a problem of its own; the others read on)
    unreadable: tuple[Unreadable, ...] = ()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Address):
        return value.to_api()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class WorkClient:
    """One Work deployment, authenticated with one API key.

    Use one instance per thread (the sync worker owns one): ``requests.Session`` is not documented as
    thread-safe, and the connection pool it keeps is the reason to reuse a client within a thread.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 30, session: requests.Session | None = None,
                 *, max_retries: int = 3, backoff: float = 0.5, max_wait: float = 60,
                 page_size: int = 200, sleep: Callable[[float], None] = time.sleep) -> None:
        if not api_key:
            raise NotConnected("No Work API key is stored for this company.", field="work_api_key")
        register_secret(api_key)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self._sleep = sleep
        #: resource → records the lists met that did not parse, until :meth:`take_unreadable`
        self._set_aside: dict[str, list[Unreadable]] = {}

    @classmethod
    def from_secrets(cls, base_url: str, secret_store: Any, **kwargs: Any) -> WorkClient:
        """Build a client with the API key kept in the keyring (never call on the GUI thread)."""
        from qbosync_desktop.core.secrets import WORK_API_KEY

        key = secret_store.get(WORK_API_KEY)
        if not key:
            raise NotConnected("No Work API key is stored for this company.", field="work_api_key")
        return cls(base_url, key, **kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"WorkClient({self.base_url!r})"

    # -- company ----------------------------------------------------------------------------------
    def company(self) -> Company:
        return Company.from_api(self._request("GET", "/company"))

    def test_connection(self) -> str:
        """The wizard's check: reaches Work, proves the key, and names the company it belongs to."""
        return f"Connected to {self.company().name}"

    # -- generic reads ----------------------------------------------------------------------------
    def page(self, resource: str, *, cursor: str | None = None, updated_since: datetime | str | None = None,
             limit: int | None = None) -> Page[Record]:
        """One page of ``resource`` (see :data:`RESOURCES`) in ``(updated_at, id)`` order."""
        model = RESOURCES[resource][0]
        params: dict[str, Any] = {"limit": limit or self.page_size}
        if cursor:
            params["cursor"] = cursor
        if updated_since is not None:
            params["updated_since"] = updated_since if isinstance(updated_since, str) else format_timestamp(updated_since)
        body = self._request("GET", f"/{resource}", params=params)
        items, next_cursor = body.get("data"), body.get("next_cursor")
        if not isinstance(items, list) or not (next_cursor is None or isinstance(next_cursor, str)):
            raise self._unreadable("GET", f"/{resource}", TypeError(
                f"'data' is {type(items).__name__}, not a list of records" if not isinstance(items, list)
                else f"'next_cursor' is {type(next_cursor).__name__}, not text"))
        # Record by record: one that does not parse (an invalid date, an unknown status...) is set
        # aside as an Unreadable and becomes one problem; the rest of the page reads on (issue 16).
        records: list[Record] = []
        bad: list[Unreadable] = []
        for item in items:
            try:
                records.append(model.from_api(item))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                bad.append(Unreadable.of(resource, model, item, exc))
                log.warning("Work %s %s could not be read: field %s: %s", resource,
                            bad[-1].id or "(no id)", bad[-1].field, bad[-1].reason)
        return Page(records, next_cursor, tuple(bad))

    def pages(self, resource: str, *, updated_since: datetime | str | None = None,
              cursor: str | None = None) -> Iterator[Page[Record]]:
        """Every page until the end; a record changed while paging may appear again later (newer version)."""
        while True:
            page = self.page(resource, cursor=cursor, updated_since=updated_since)
            yield page
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def _each(self, resource: str, updated_since: datetime | str | None) -> Iterator[Any]:
        for page in self.pages(resource, updated_since=updated_since):
            if page.unreadable:
                self._set_aside.setdefault(resource, []).extend(page.unreadable)
            yield from page.records

    def take_unreadable(self, resource: str) -> list[Unreadable]:
        """The records of ``resource`` the lists met since the last call that did not parse (each
        once per read: the newest copy of a record read twice wins)."""
        found = self._set_aside.pop(resource, [])
        newest: dict[str, Unreadable] = {}
        anonymous = []
        for u in found:
            if u.id is None:
                anonymous.append(u)
            else:
                newest.pop(u.id, None)
                newest[u.id] = u
        return [*newest.values(), *anonymous]

    def _get(self, model: type[R], resource: str, record_id: str) -> R:
        assert RESOURCES[resource][0] is model
        data = self._request("GET", f"/{resource}/{record_id}", what=(resource, record_id))
        try:
            return model.from_api(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            u = Unreadable.of(resource, model, data, exc)
            raise WorkRecordUnreadable(
                f"The {RESOURCES[resource][1]} {u.number or record_id} has a value the sync cannot read: "
                f"{u.field} is {'missing' if u.value is None else repr(u.value)} ({u.reason}).",
                details={"resource": resource, "work_id": record_id, "number": u.number, "name": u.name,
                         "field": u.field, "value": None if u.value is None else str(u.value)[:200],
                         "reason": u.reason, "work_version": u.version}) from None

    # -- typed reads ------------------------------------------------------------------------------
    def clients(self, updated_since: datetime | str | None = None) -> Iterator[Client]:
        return self._each("clients", updated_since)

    def sites(self, updated_since: datetime | str | None = None) -> Iterator[Site]:
        return self._each("sites", updated_since)

    def items(self, updated_since: datetime | str | None = None) -> Iterator[Item]:
        return self._each("items", updated_since)

    def invoices(self, updated_since: datetime | str | None = None) -> Iterator[Invoice]:
        return self._each("invoices", updated_since)

    def payments(self, updated_since: datetime | str | None = None) -> Iterator[Payment]:
        return self._each("payments", updated_since)

    def contractors(self, updated_since: datetime | str | None = None) -> Iterator[Contractor]:
        return self._each("contractors", updated_since)

    def contractor_invoices(self, updated_since: datetime | str | None = None) -> Iterator[ContractorInvoice]:
        return self._each("contractor-invoices", updated_since)

    def invoice_concepts(self) -> list[Concept]:
        return list(self._each("invoice-concepts", None))

    def tax_rates(self) -> list[TaxRate]:
        """Every tax rate (inactive ones too: older invoices were charged with them)."""
        return list(self._each("tax-rates", None))

    def credit_notes(self, updated_since: datetime | str | None = None) -> Iterator[CreditNote]:
        return self._each("credit-notes", updated_since)

    def refunds(self, updated_since: datetime | str | None = None) -> Iterator[Refund]:
        return self._each("refunds", updated_since)

    def get_client(self, client_id: str) -> Client:
        return self._get(Client, "clients", client_id)

    def get_site(self, site_id: str) -> Site:
        return self._get(Site, "sites", site_id)

    def get_item(self, item_id: str) -> Item:
        return self._get(Item, "items", item_id)

    def get_invoice(self, invoice_id: str) -> Invoice:
        return self._get(Invoice, "invoices", invoice_id)

    def get_payment(self, payment_id: str) -> Payment:
        return self._get(Payment, "payments", payment_id)

    def get_contractor(self, contractor_id: str) -> Contractor:
        return self._get(Contractor, "contractors", contractor_id)

    def get_contractor_invoice(self, invoice_id: str) -> ContractorInvoice:
        return self._get(ContractorInvoice, "contractor-invoices", invoice_id)

    def get_tax_rate(self, rate_id: str) -> TaxRate:
        return self._get(TaxRate, "tax-rates", rate_id)

    def get_credit_note(self, credit_note_id: str) -> CreditNote:
        return self._get(CreditNote, "credit-notes", credit_note_id)

    def get_refund(self, refund_id: str) -> Refund:
        return self._get(Refund, "refunds", refund_id)

    # -- writes -----------------------------------------------------------------------------------
    def create_client(self, *, idempotency_key: str | None = None, **fields: Any) -> Client:
        """Create a client (``name`` required). Pass a stable ``idempotency_key`` (e.g. the outbox id)
        to make a retry after a crash safe too; otherwise one is generated for this call's retries."""
        return Client.from_api(self._write("POST", "/clients", fields, idempotency_key=idempotency_key))

    def update_client(self, client_id: str, version: int, *, idempotency_key: str | None = None,
                      **fields: Any) -> Client:
        """Change only ``fields``; 409 → :class:`WorkConflict` when ``version`` is no longer current."""
        return Client.from_api(self._write("PATCH", f"/clients/{client_id}", fields, version=version,
                                           idempotency_key=idempotency_key, what=("clients", client_id)))

    def create_site(self, *, idempotency_key: str | None = None, **fields: Any) -> Site:
        return Site.from_api(self._write("POST", "/sites", fields, idempotency_key=idempotency_key))

    def update_site(self, site_id: str, version: int, *, idempotency_key: str | None = None, **fields: Any) -> Site:
        return Site.from_api(self._write("PATCH", f"/sites/{site_id}", fields, version=version,
                                         idempotency_key=idempotency_key, what=("sites", site_id)))

    def _write(self, method: str, path: str, fields: dict[str, Any], *, version: int | None = None,
               idempotency_key: str | None = None, what: tuple[str, str] | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        if version is not None:
            headers["If-Match"] = f'"{int(version)}"'
        return self._request(method, path, json_body=_jsonable(fields), headers=headers, what=what)

    # -- transport --------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 json_body: Any = None, headers: dict[str, str] | None = None,
                 what: tuple[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{API_PREFIX}{path}"
        all_headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json",
                       "User-Agent": f"qbosync-desktop/{__version__}", **(headers or {})}
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, params=params, json=json_body, headers=all_headers,
                                                timeout=self.timeout)
            except requests.Timeout as exc:
                error: Exception = ConnectionProblem(
                    f"Work at {self._host()} did not answer within {self.timeout:g} seconds.",
                    details={"method": method, "path": path, "error": type(exc).__name__})
                wait = None
            except requests.RequestException as exc:
                error = ConnectionProblem(
                    f"Could not reach Work at {self._host()}.",
                    details={"method": method, "path": path, "error": type(exc).__name__})
                wait = None
            else:
                if response.status_code < 400:
                    return self._decode(response, method, path)
                error = self._map_error(response, method, path, what)
                wait = getattr(error, "retry_after", None)
                if wait is None and response.status_code == 503:
                    wait = _retry_after(response.headers.get("Retry-After"))
                if response.status_code not in TRANSIENT_STATUSES:
                    raise error
            if attempt >= self.max_retries or (wait is not None and wait > self.max_wait):
                raise error
            delay = wait if wait is not None else self.backoff * (2 ** attempt) * (0.75 + random.random() / 2)
            log.warning("Work %s %s failed (%s); retry %d of %d in %.2fs", method, path, type(error).__name__,
                        attempt + 1, self.max_retries, delay)
            self._sleep(delay)
            attempt += 1

    def _host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    def _decode(self, response: requests.Response, method: str, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self._unreadable(method, path, ValueError("not JSON")) from None
        if not isinstance(body, dict):
            raise self._unreadable(method, path, TypeError(f"a {type(body).__name__}, not an object"))
        return body

    def _unreadable(self, method: str, path: str, exc: Exception) -> WorkUnexpectedAnswer:
        """Work answered 2xx with something that is not what its API documents (HTML, an object where
        a list of records belongs): a clear problem of its own, never "a temporary problem"."""
        return WorkUnexpectedAnswer(
            f"Work answered {method} {path} in a form the app cannot use ({exc}), so the sync stopped "
            "before using it.",
            details={"method": method, "path": path, "error": f"{type(exc).__name__}: {exc}"})

    def _map_error(self, response: requests.Response, method: str, path: str,
                   what: tuple[str, str] | None) -> WorkApiError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        code = body.get("error") if isinstance(body.get("error"), str) else None
        server_message = body.get("message") if isinstance(body.get("message"), str) else None
        details: dict[str, Any] = {"method": method, "path": path, "server_message": server_message}
        if isinstance(body.get("details"), dict):
            details.update({f"server_{k}": v for k, v in body["details"].items()})
        word = RESOURCES[what[0]][1] if what else "record"
        kw: dict[str, Any] = {"status": status, "code": code, "details": details}
        if status in (401, 403):
            message = ("Work did not accept the API key." if status == 401
                       else "The Work API key is not allowed to do this.")
            return WorkAuthError(message, **kw)
        if status == 404:
            target = f"{word} {what[1]}" if what else "address"
            return WorkNotFound(f"Work has no {target} (it may have been deleted).", **kw)
        if status == 409:
            current = (body.get("details") or {}).get("current_version")
            return WorkConflict(f"Someone changed this {word} in Work meanwhile"
                                + (f" (it is now version {current})." if current is not None else "."), **kw)
        if status in (400, 422, 428):
            reason = server_message or "the request was not valid"
            return WorkValidationError(f"Work did not accept the {word}: {reason}", **kw)
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            return WorkThrottled("Work asked the app to slow down.", retry_after=retry_after, **kw)
        if status >= 500:
            return WorkServerError(f"Work had a temporary problem (HTTP {status}).", **kw)
        return WorkApiError(f"Work refused the request (HTTP {status}).", **kw)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent/unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
