"""The QuickBooks Online v3 Accounting API client: reads, writes, batch and CDC, with retries.

Three promises shape it:

* **Never writes twice.** Every write carries a ``requestid`` chosen by the caller (the sync engine
  commits it to the outbox before sending). Every retry - after a timeout, a dropped connection, a
  5xx, a 429 or a refreshed token - sends the *same* id, so QuickBooks answers a replay with the
  original result instead of creating a second customer (QBO_API_NOTES.md "Writes"). The client
  never invents a requestid.
* **Never trips the throttle.** Every request takes a permit from the company's shared
  :class:`~.ratelimit.RateLimiter` first; a 429 that still happens (another process) pauses the
  whole company for Retry-After, or Intuit's 60 s, and the request is retried.
* **Never shows a raw fault.** Every failure becomes an :mod:`qbosync_desktop.core.errors` class through
  :mod:`.faults` - including faults that arrive with HTTP 200 and faults inside batch items.

Retry table (also in docs/qbo-connector.md): 401 → refresh the token once (forced) and retry once;
429 → wait and retry (bounded by ``max_retries``); 500/502/503/504, timeouts, refused/dropped
connections → exponential backoff with jitter (bounded by ``max_retries``); everything else → raise.
``minorversion=75`` is on every call; every call has a timeout.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from qbosync_desktop import __version__
from qbosync_desktop.connectors.qbo.faults import error_for_fault, error_for_response, fault_in_payload
from qbosync_desktop.connectors.qbo.query import Select, quote
from qbosync_desktop.connectors.qbo.ratelimit import RateLimiter, RateLimits, shared_limiter
from qbosync_desktop.core import errors

log = logging.getLogger(__name__)

MINOR_VERSION = "75"
BATCH_LIMIT = 30
CDC_MAX_AGE = timedelta(days=30)
CDC_CAP = 1000
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_REQUESTID = 50
#: Name-list entities whose inactive records a query hides unless asked (QBO_API_NOTES.md "Reads").
NAME_LISTS = frozenset({"Customer", "Vendor", "Item", "Account", "Employee", "Class", "Department", "Term"})
_ACCOUNT_GROUPS = {
    "income": ("Income",),
    "expense": ("Expense", "Cost of Goods Sold"),
    "deposit": ("Bank", "Other Current Asset"),
    "ap": ("Accounts Payable",),
}


class TokenProvider(Protocol):
    def __call__(self) -> str: ...


@dataclass(frozen=True)
class BatchOp:
    """One item of a batch request. ``operation``: create, update, delete or query (``body`` = SQL).
    ``options`` becomes ``optionsData`` (e.g. ``"void"``)."""

    bid: str
    operation: str
    entity: str
    body: Mapping[str, Any] | str
    options: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """The answer for one :class:`BatchOp`, correlated by ``bid``. Exactly one of obj/error is set."""

    bid: str
    entity: str
    obj: dict[str, Any] | None
    error: errors.QboSyncError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    refreshes: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def _check_requestid(requestid: str) -> str:
    if not requestid or len(requestid) > MAX_REQUESTID:
        raise ValueError(f"every QuickBooks write needs a caller-supplied requestid of 1..{MAX_REQUESTID} characters")
    return requestid


def _pick(body: Mapping[str, Any], entity: str) -> Any:
    """``body["Customer"]`` whatever casing the caller used for the entity name."""
    if entity in body:
        return body[entity]
    low = entity.lower()
    for k, v in body.items():
        if k.lower() == low:
            return v
    return None


#: amounts a record read from QuickBooks must carry as numbers when it has them
NUMERIC_FIELDS = ("TotalAmt", "Balance")


def _unexpected(message: str, **details: Any) -> errors.QboUnexpectedAnswer:
    return errors.QboUnexpectedAnswer(message, details={k: v for k, v in details.items() if v is not None})


def _name_of(row: Mapping[str, Any]) -> str | None:
    """What a person finds the record by in QuickBooks: its DisplayName, Name or DocNumber."""
    name = row.get("DisplayName") or row.get("Name") or row.get("DocNumber")
    return str(name) if name else None


def _who(entity: str, row: Mapping[str, Any]) -> str:
    """A record as a person finds it in QuickBooks: its name or number, and its Id."""
    name = _name_of(row)
    rid = row.get("Id")
    return " ".join(p for p in (entity, f"“{name}”" if name else None,
                                f"(Id {rid})" if rid not in (None, "") else "without an Id") if p)


def no_id_key(entity: str, name: str | None) -> str:
    """The stable key of a record QuickBooks sent without its Id (issue 16): by its name, which is all
    that tells it apart (``no-id:Customer:Ann Lee``); ``no-id:Customer`` when nothing names it."""
    return f"no-id:{entity}:{name}" if name else f"no-id:{entity}"


@dataclass(frozen=True)
class QboUnreadable:
    """One QuickBooks record a read set aside (issue 16): named, with the field and the value. ``id``
    is empty for a record sent without its Id (:func:`no_id_key` is then its key)."""

    entity: str
    id: str
    name: str | None
    field: str
    value: str | None
    reason: str
    where: str

    @property
    def key(self) -> str:
        """The record's key: its Id, or for one without an Id its :func:`no_id_key`."""
        return self.id or no_id_key(self.entity, self.name)


def checked_rows(entity: str, container: Any, *, where: str,
                 set_aside: Callable[[QboUnreadable], None] | None = None,
                 seen: Callable[[str, Mapping[str, Any] | None], None] | None = None) -> list[dict[str, Any]]:
    """The ``entity`` records of one answer, each checked for the shape the sync relies on: a JSON
    object with an Id, a SyncToken (deleted CDC entries excepted) and numeric amounts.

    A record that is an object but lacks its Id or SyncToken, or carries an amount that is not a
    number, is handed to ``set_aside`` and left out (one problem of that record; everything else reads
    on); without ``set_aside`` it is :class:`~qbosync_desktop.core.errors.QboUnexpectedAnswer` naming
    it. A record without an Id is named by its DisplayName, Name or DocNumber (:func:`no_id_key`). An
    answer whose records cannot be told apart at all (not a list, a record that is not an object) is
    always that error: the run stops with a clear message rather than crash or skip silently.
    ``seen`` is given every record that passed, and once per answer None when every record in it had
    its Id (:meth:`QboClient._seen` turns them into keys only while it watches some)."""
    rows = _pick(container, entity) if isinstance(container, Mapping) else None
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise _unexpected(f"QuickBooks sent the {entity} records of {where} as a {type(rows).__name__}, not a list.",
                          entity=entity, where=where)
    good: list[dict[str, Any]] = []
    all_ids = True
    for row in rows:
        if not isinstance(row, dict):
            raise _unexpected(f"QuickBooks sent a {entity} record of {where} as a {type(row).__name__}, not an object.",
                              entity=entity, where=where)
        if row.get("Id") in (None, ""):
            all_ids = False
            fault: tuple[str, Any, str] | None = ("Id", row.get("Id"), "without its Id")
        else:
            fault = _record_fault(entity, row)
        if fault is None:
            good.append(row)
            if seen is not None:
                seen(entity, row)
            continue
        field_name, value, reason = fault
        bad = QboUnreadable(entity, str(row.get("Id") or ""), _name_of(row), field_name,
                            None if value is None else str(value)[:200], reason, where)
        if set_aside is None:
            raise _unexpected(f"QuickBooks sent the {_who(entity, row)} in {where} {reason}.", entity=entity,
                              where=where, id=bad.id or None, field=field_name, value=bad.value)
        log.warning("QuickBooks %s %s could not be read: %s %s", entity, bad.key, field_name, reason)
        set_aside(bad)
    if seen is not None and rows and all_ids:
        seen(entity, None)
    return good


def _record_fault(entity: str, row: Mapping[str, Any]) -> tuple[str, Any, str] | None:
    """What in one record the sync cannot rely on: ``(field, value, reason)``, or None."""
    deleted = str(row.get("status", "")).lower() == "deleted"
    if not deleted and row.get("SyncToken") in (None, "") and entity not in NO_SYNC_TOKEN:
        return "SyncToken", row.get("SyncToken"), "without its SyncToken"
    for field_name in NUMERIC_FIELDS:
        value = row.get(field_name)
        if value is not None and not _is_number(value):
            return field_name, value, f"with {field_name} {value!r}, which is not a number"
    return None


#: entities whose records carry no SyncToken (read-only reports of QuickBooks' lists)
NO_SYNC_TOKEN: frozenset[str] = frozenset()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, str):
        try:
            return Decimal(value).is_finite()
        except (ArithmeticError, ValueError):
            return False
    return False


def _context(entity: str, body: Mapping[str, Any] | str | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"entity": entity}
    if isinstance(body, Mapping):
        ctx["name"] = body.get("DisplayName") or body.get("Name")
        ctx["doc_number"] = body.get("DocNumber")
    return ctx


def parse_qbo_time(value: str | None) -> datetime | None:
    """Intuit's ``2026-11-22T10:00:00-08:00`` (or ``...Z``) as an aware datetime."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _tombstones(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The deleted objects (``status: Deleted``) of a CDC answer, by Id."""
    return {str(r.get("Id")): r for r in rows if str(r.get("status", "")).lower() == "deleted"}


def _last_updated(obj: Mapping[str, Any]) -> datetime:
    return parse_qbo_time((obj.get("MetaData") or {}).get("LastUpdatedTime")) or datetime.min.replace(
        tzinfo=timezone.utc
    )


class QboClient:
    """One company's API client. Thread-safe; share it or build several (they share the limiter)."""

    def __init__(
        self,
        api_base: str,
        realm_id: str,
        token_provider: TokenProvider | Any,
        limits: RateLimits | None = None,
        timeout: float = 60,
        session: requests.Session | None = None,
        retry_wait_429: float = 60.0,
        max_retries: int = 5,
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        limiter: RateLimiter | None = None,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        base = api_base.rstrip("/")
        if base.endswith("/v3/company"):
            pass
        elif base.endswith("/v3"):
            base += "/company"
        else:
            base += "/v3/company"
        self.realm_id = str(realm_id)
        self.base_url = f"{base}/{self.realm_id}"
        self.tokens = token_provider
        self.limits = limits or RateLimits()
        self.limiter = limiter or shared_limiter(self.realm_id, self.limits)
        self.timeout = timeout
        self.retry_wait_429 = retry_wait_429
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.cancel = cancel
        self._sleep = sleep
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        #: records reads set aside (issue 16), until :meth:`take_unreadable`; and the (entity, key) the
        #: caller watches (open problems of set-aside records) seen readable since :meth:`watch`
        self._set_aside: list[QboUnreadable] = []
        self._watching: set[tuple[str, str]] = set()
        self._readable_again: set[tuple[str, str]] = set()
        self._aside_lock = threading.Lock()
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, self.limits.concurrent))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session

    # -- transport --------------------------------------------------------------------------------
    def _token(self) -> str:
        provider = self.tokens
        getter = getattr(provider, "access_token", None)
        return getter() if callable(getter) else provider()

    def _refresh(self, rejected: str) -> None:
        refresh = getattr(self.tokens, "refresh", None)
        if not callable(refresh):
            raise errors.NeedsReconnect(details={"reason": "access token rejected; no refresh available"})
        with self._stats_lock:
            self.stats.refreshes += 1
        refresh(force=True, rejected=rejected)

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        elif self.cancel is not None:
            if self.cancel.wait(seconds):
                raise errors.Cancelled()
        else:
            time.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        """Exponential with "equal jitter": half fixed, half random, so retries of many clients
        after one outage do not arrive in lockstep."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))

    def _count(self, status: int | None, retry: bool = False, throttled: bool = False) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            if status is not None:
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            self.stats.retries += int(retry)
            self.stats.throttled += int(throttled)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        text_body: str | None = None,
        requestid: str | None = None,
        batch: bool = False,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one logical request, retrying per the table above; return the decoded JSON body."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        query = dict(params or {})
        query["minorversion"] = MINOR_VERSION
        if requestid is not None:
            query["requestid"] = _check_requestid(requestid)
        headers = {"Accept": "application/json", "User-Agent": f"qbosync-desktop/{__version__}"}
        if text_body is not None:
            headers["Content-Type"] = "application/text"
        attempt = 0
        refreshed = False
        while True:
            token = self._token()
            headers["Authorization"] = f"Bearer {token}"
            failure: errors.QboSyncError
            with self.limiter.acquire(batch=batch, cancel=self.cancel):
                started = time.monotonic()
                try:
                    resp = self.session.request(
                        method,
                        url,
                        params=query,
                        json=json_body,
                        data=text_body.encode("utf-8") if text_body is not None else None,
                        headers=headers,
                        timeout=self.timeout,
                    )
                    status: int | None = resp.status_code
                except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                    resp, status = None, None
                    failure = errors.ConnectionProblem(
                        "QuickBooks did not answer.", details={"error": type(exc).__name__, "path": path}
                    )
                except requests.RequestException as exc:
                    raise errors.ConnectionProblem(
                        "The request to QuickBooks could not be sent.", details={"error": type(exc).__name__}
                    ) from None
                elapsed = (time.monotonic() - started) * 1000
            tid = resp.headers.get("intuit_tid") if resp is not None else None
            log.debug("%s %s -> %s in %.0f ms intuit_tid=%s", method, path, status or "no response", elapsed, tid)

            if resp is not None and 200 <= resp.status_code < 300:
                self._count(status, retry=attempt > 0 or refreshed)
                try:
                    body = resp.json()
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    # A 2xx that is not a JSON object: a proxy's page, a truncated body. Not a
                    # temporary problem (retrying reads the same thing) and never guessed around.
                    raise errors.QboUnexpectedAnswer(
                        f"QuickBooks answered {method} {path} with something that is not a JSON object, so "
                        "the sync stopped before using it.",
                        status=status, intuit_tid=tid,
                        details={"path": path, "content_type": resp.headers.get("Content-Type")},
                    )
                else:
                    fault = fault_in_payload(body)
                    if fault is None:
                        return body
                    raise error_for_fault(fault, status=status, intuit_tid=tid, context=context)
            elif resp is not None:
                self._count(status, retry=attempt > 0 or refreshed, throttled=status == 429)
                if status == 401 and not refreshed:
                    refreshed = True
                    self._refresh(rejected=token)
                    continue
                if status == 429:
                    retry_after = self._retry_after(resp)
                    failure = error_for_response(429, resp.content, intuit_tid=tid, retry_after=retry_after)
                    self.limiter.pause(retry_after)
                elif status in RETRY_STATUSES:
                    failure = error_for_response(status, resp.content, intuit_tid=tid, context=context)
                    if not failure.transient:  # a 500 carrying a real validation fault: do not retry
                        raise failure
                else:
                    raise error_for_response(status or 0, resp.content, intuit_tid=tid, context=context)
            else:
                self._count(None, retry=attempt > 0)

            attempt += 1
            if attempt > self.max_retries:
                failure.details.setdefault("attempts", attempt)
                raise failure
            delay = self._retry_after(resp) if resp is not None and resp.status_code == 429 else self._backoff(attempt)
            log.info("QuickBooks %s %s: retry %d in %.1f s (%s)", method, path, attempt, delay, type(failure).__name__)
            self._wait(delay)

    def _retry_after(self, resp: requests.Response) -> float:
        value = resp.headers.get("Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else self.retry_wait_429
        except ValueError:
            return self.retry_wait_429

    # -- records set aside (issue 16) ---------------------------------------------------------------
    def _put_aside(self, bad: QboUnreadable) -> None:
        with self._aside_lock:
            self._set_aside.append(bad)

    def _seen(self, entity: str, row: Mapping[str, Any] | None) -> None:
        """A record read in good shape (None: an answer whose records all had their Id): the keys it
        answers for (:meth:`watch`) are readable again. Costs nothing while nothing is watched."""
        if not self._watching:
            return
        if row is None:
            keys = [no_id_key(entity, None)]
        else:
            name = _name_of(row)
            keys = [str(row["Id"]), *([no_id_key(entity, name)] if name else [])]
        found = [(entity, k) for k in keys if (entity, k) in self._watching]
        if found:
            with self._aside_lock:
                self._readable_again.update(found)

    def take_unreadable(self) -> list[QboUnreadable]:
        """The records queries and change feeds left out since the last call, because they lacked their
        Id or SyncToken or carried an amount that is not a number (the newest copy of a record read twice)."""
        with self._aside_lock:
            found, self._set_aside = self._set_aside, []
        newest = {(u.entity, u.key): u for u in found}
        return list(newest.values())

    def watch(self, records: Iterable[tuple[str, str]]) -> None:
        """Report (:meth:`take_readable_again`) when these (entity, key) are read fine again: the key
        is a record's Id, or :func:`no_id_key` for one QuickBooks sent without it."""
        with self._aside_lock:
            self._watching = set(records)

    def take_readable_again(self) -> set[tuple[str, str]]:
        with self._aside_lock:
            found, self._readable_again = self._readable_again, set()
        return found

    def _rows(self, entity: str, container: Any, where: str) -> list[dict[str, Any]]:
        return checked_rows(entity, container, where=where, set_aside=self._put_aside, seen=self._seen)

    # -- reads ------------------------------------------------------------------------------------
    def query_raw(self, sql: str) -> dict[str, Any]:
        """POST /query (the SQL in the body keeps customer names out of URLs and proxy logs)."""
        return self.request("POST", "query", text_body=sql)

    def query(
        self, entity: str, where: str | None = None, order_by: str | None = None, page_size: int = 1000,
        fields: tuple[str, ...] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching row, fetched lazily in pages of ``page_size`` (QBO's maximum is 1000).

        Without ``order_by`` pages are ordered by Id, so rows cannot shift between pages. ``fields``
        asks for those fields only (and ``Id``): a read of 1,000 invoices' balances is then a few
        kB per row less to decode and hold.
        """
        if fields and "SyncToken" not in fields and entity not in NO_SYNC_TOKEN:
            fields = (*fields, "SyncToken")  # every record read is checked for it (_record_fault)
        select = Select(entity, fields=fields).where_raw(where).order_by(order_by or "Id")
        start = 1
        while True:
            body = self.query_raw(select.page(start, page_size))
            found = body.get("QueryResponse")
            if not isinstance(found, dict):
                raise _unexpected(f"QuickBooks answered a query of {entity} records without a QueryResponse.",
                                  entity=entity, keys=", ".join(sorted(map(str, body))[:10]))
            raw = _pick(found, entity)
            rows = self._rows(entity, found, f"a query of {entity} records")
            yield from rows
            count = len(raw) if isinstance(raw, list) else 0  # records set aside count for the paging
            if count < page_size:
                return
            start += count

    def count(self, entity: str, where: str | None = None) -> int:
        body = self.query_raw(Select(entity, count=True).where_raw(where).sql())
        found = body.get("QueryResponse")
        total = found.get("totalCount", 0) if isinstance(found, dict) else None
        if isinstance(total, bool) or not isinstance(total, int):
            raise _unexpected(f"QuickBooks answered a count of {entity} records without a number.",
                              entity=entity, value=str(total)[:200])
        return total

    def get(self, entity: str, id: str) -> dict[str, Any]:
        body = self.request("GET", f"{entity.lower()}/{id}", context={"entity": entity})
        obj = _pick(body, entity)
        where = f"the read of {entity} {id}"
        if not isinstance(obj, dict):
            raise _unexpected(f"QuickBooks answered {where} without the record.", entity=entity, id=str(id))
        checked_rows(entity, {entity: [obj]}, where=where)
        return obj

    def company_info(self) -> dict[str, Any]:
        return self.get("CompanyInfo", self.realm_id)

    def accounts(self) -> dict[str, list[dict[str, Any]]]:
        """Active accounts for the settings dropdowns, grouped as the seed's dropdowns need them.

        One query for all groups (reads are metered); the groups use the AccountType rules of
        QBO_API_NOTES.md "Account"; ``ap`` is Accounts Payable for bills.
        """
        types = [t for group in _ACCOUNT_GROUPS.values() for t in group]
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in _ACCOUNT_GROUPS}
        for acct in self.query("Account", where=f"AccountType IN {quote(types)}", order_by="Name"):
            for group, group_types in _ACCOUNT_GROUPS.items():
                if acct.get("AccountType") in group_types:
                    out[group].append(
                        {
                            "Id": acct.get("Id"),
                            "Name": acct.get("Name"),
                            "FullyQualifiedName": acct.get("FullyQualifiedName") or acct.get("Name"),
                            "AccountType": acct.get("AccountType"),
                            "AccountSubType": acct.get("AccountSubType"),
                        }
                    )
        return out

    # -- writes -----------------------------------------------------------------------------------
    def _write(
        self, entity: str, body: Mapping[str, Any], requestid: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        resp = self.request(
            "POST",
            entity.lower(),
            params=params,
            json_body=dict(body),
            requestid=_check_requestid(requestid),
            context=_context(entity, body),
        )
        obj = _pick(resp, entity)
        return obj if obj is not None else resp

    def create(self, entity: str, body: Mapping[str, Any], requestid: str) -> dict[str, Any]:
        return self._write(entity, body, requestid)

    def update(self, entity: str, body: Mapping[str, Any], requestid: str, sparse: bool = True) -> dict[str, Any]:
        """``body`` must carry ``Id`` and the current ``SyncToken`` (stale → StaleObject, code 5010).
        A full update (``sparse=False``) blanks every writable field not sent."""
        if not body.get("Id") or body.get("SyncToken") in (None, ""):
            raise ValueError("an update needs Id and SyncToken")
        data = dict(body)
        data["sparse"] = bool(sparse)
        return self._write(entity, data, requestid)

    def void(self, entity: str, id: str, sync_token: str, requestid: str) -> dict[str, Any]:
        """Invoices (and other sales transactions): ``?operation=void``; payments are voided with
        ``operation=update&include=void`` and a sparse body (QBO_API_NOTES.md "Writes")."""
        if entity.lower() == "payment":
            body = {"Id": id, "SyncToken": sync_token, "sparse": True}
            return self._write(entity, body, requestid, {"operation": "update", "include": "void"})
        return self._write(entity, {"Id": id, "SyncToken": sync_token}, requestid, {"operation": "void"})

    def delete(self, entity: str, id: str, sync_token: str, requestid: str) -> dict[str, Any]:
        """``?operation=delete`` (bills and other transactions; name lists are made inactive instead)."""
        return self._write(entity, {"Id": id, "SyncToken": sync_token}, requestid, {"operation": "delete"})

    # -- batch ------------------------------------------------------------------------------------
    def batch(self, ops: list[BatchOp], requestid: str) -> list[BatchResult]:
        """One HTTP request for up to 30 operations; one result per op, in the order of ``ops``.

        Items run independently and in no guaranteed order (QBO_API_NOTES.md "Batch"), so a fault in
        one item is that item's :attr:`BatchResult.error`, never an exception for the whole batch.
        """
        if not ops:
            return []
        if len(ops) > BATCH_LIMIT:
            raise ValueError(f"a QuickBooks batch holds at most {BATCH_LIMIT} operations (got {len(ops)})")
        bids = [op.bid for op in ops]
        if len(set(bids)) != len(bids):
            raise ValueError("batch operation bIds must be unique")
        items = []
        for op in ops:
            item: dict[str, Any] = {"bId": op.bid}
            if op.operation == "query":
                item["Query"] = op.body
            else:
                item["operation"] = op.operation
                item[op.entity] = dict(op.body)  # type: ignore[arg-type]
                if op.options:
                    item["optionsData"] = op.options
            items.append(item)
        body = self.request("POST", "batch", json_body={"BatchItemRequest": items}, requestid=requestid, batch=True)
        answers = {str(a.get("bId")): a for a in body.get("BatchItemResponse") or [] if isinstance(a, Mapping)}
        results = []
        for op in ops:
            answer = answers.get(op.bid)
            if answer is None:
                err: errors.QboSyncError = errors.QuickBooksError(
                    "QuickBooks did not answer for this record in the batch.",
                    details={"bId": op.bid, "batch_requestid": requestid},
                )
                results.append(BatchResult(op.bid, op.entity, None, err))
                continue
            fault = fault_in_payload(answer)
            if fault is not None:
                err = error_for_fault(fault, context=_context(op.entity, op.body))
                err.details.setdefault("bId", op.bid)
                results.append(BatchResult(op.bid, op.entity, None, err))
            elif op.operation == "query":
                results.append(BatchResult(op.bid, op.entity, answer.get("QueryResponse") or {}))
            else:
                results.append(BatchResult(op.bid, op.entity, _pick(answer, op.entity)))
        return results

    def batch_chunked(self, ops: Iterable[BatchOp], requestid_for_chunk: Callable[[int], str]) -> list[BatchResult]:
        """Chunks of 30; chunk ``i`` is sent with ``requestid_for_chunk(i)`` (the engine persisted it
        with the chunk's exact composition, so a replay after a crash is the same batch)."""
        ops = list(ops)
        results: list[BatchResult] = []
        for i, start in enumerate(range(0, len(ops), BATCH_LIMIT)):
            results.extend(self.batch(ops[start : start + BATCH_LIMIT], requestid_for_chunk(i)))
        return results

    # -- change data capture ----------------------------------------------------------------------
    def _cdc_once(self, entities: list[str], since: datetime) -> dict[str, list[dict[str, Any]]]:
        return self._cdc_counted(entities, since)[0]

    def _cdc_counted(self, entities: list[str], since: datetime
                     ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
        """One CDC request: the records per entity, and how many QuickBooks sent (records set aside
        included: the 1000-object cap counts them)."""
        body = self.request(
            "GET", "cdc", params={"entities": ",".join(entities), "changedSince": since.isoformat(timespec="seconds")}
        )
        out: dict[str, list[dict[str, Any]]] = {e: [] for e in entities}
        sent: dict[str, int] = {e: 0 for e in entities}
        blocks = body.get("CDCResponse")
        where = "the change feed (CDC)"
        if not isinstance(blocks, list):
            # Without it the sync would take "nothing changed" and move its cursor past real changes.
            raise _unexpected(f"QuickBooks answered {where} without a CDCResponse list.",
                              keys=", ".join(sorted(map(str, body))[:10]))
        for block in blocks:
            # (a block without a QueryResponse holds no changes; one of another shape is not guessed at)
            answers = block.get("QueryResponse", []) if isinstance(block, dict) else None
            if not isinstance(answers, list) or not all(isinstance(qr, dict) for qr in answers):
                raise _unexpected(f"QuickBooks answered {where} with a block that is not a QueryResponse list.")
            for qr in answers:
                for e in entities:
                    raw = _pick(qr, e)
                    sent[e] += len(raw) if isinstance(raw, list) else 0
                    out[e].extend(self._rows(e, qr, where))
        return out, sent

    def cdc_once(self, entities: list[str], since: datetime) -> dict[str, list[dict[str, Any]]]:
        """One CDC request and no splitting: up to 1000 objects per entity, possibly not all of them
        (for callers that only look for something, e.g. reconcile asking whether an id was deleted)."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return self._cdc_once(list(entities), since)

    def cdc(
        self, entities: list[str], since: datetime, *, now: datetime | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Everything changed since ``since``, per entity; deleted objects have ``status: Deleted``.

        QuickBooks keeps 30 days of changes, so an older ``since`` is refused (the engine falls back
        to ``MetaData.LastUpdatedTime`` queries). CDC returns at most 1000 objects per entity and has
        no paging and no upper bound, only ``changedSince``. For an entity that hits the cap the
        window is split: the later half is asked again with a later ``changedSince`` (halving until a
        window comes back under the cap, which is then complete), and the earlier part, which CDC
        cannot bound, is read with a paged query on ``MetaData.LastUpdatedTime``. Overlapping answers
        are merged by Id keeping the latest ``LastUpdatedTime``. Limitation: an object *deleted* in
        that earlier part is only seen if it was among the capped answers (queries do not
        return deleted objects); docs/qbo-connector.md records this. :meth:`cdc_pages` reads the same
        a page at a time.
        """
        since, now = self._cdc_window(since, now)
        first, sent = self._cdc_counted(list(entities), since)
        result: dict[str, list[dict[str, Any]]] = {}
        for entity, rows in first.items():
            if sent[entity] < CDC_CAP:
                result[entity] = rows
            else:
                split = self._cdc_split(entity, since, now, _tombstones(rows))
                result[entity] = sorted((row for page in split for row in page), key=_last_updated)
        return result

    def cdc_pages(
        self, entity: str, since: datetime, *, now: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """What :meth:`cdc` reads for one entity, a page (at most 1000 objects) at a time, each Id
        once: a large window (a run's own 20,000 writes read back) is never held whole (issue 18).
        The pages of a split window come in no particular order of time."""
        since, now = self._cdc_window(since, now)
        first, sent = self._cdc_counted([entity], since)
        rows = first.pop(entity)
        if sent[entity] < CDC_CAP:
            yield rows
            return
        deleted = _tombstones(rows)
        del rows  # the capped answer's live objects are all read again below (and newer)
        yield from self._cdc_split(entity, since, now, deleted)

    def _cdc_window(self, since: datetime, now: datetime | None) -> tuple[datetime, datetime]:
        now = now or datetime.now(timezone.utc)
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        if now - since > CDC_MAX_AGE:
            raise errors.ConfigurationError(
                "QuickBooks only reports changes from the last 30 days; this request went further back.",
                field="changedSince",
                hint="Run a full sync instead of a changes-only sync.",
                details={"since": since.isoformat(), "max_days": 30},
            )
        return since, now

    def _cdc_split(
        self, entity: str, since: datetime, now: datetime, held: dict[str, dict[str, Any]]
    ) -> Iterator[list[dict[str, Any]]]:
        """A capped window, a page at a time. ``held`` starts as the capped answer's deleted objects
        (a query cannot see those); the live ones are left out: every one of them is stamped within
        the window, so the reads below return it again as it is now (one changed after those reads
        is read by the next sync, the cursor being behind its new stamp). Held are also the objects
        of the last, complete CDC window, until the query (which overlaps it at the split second)
        has been read; everything else is handed on a page at a time."""

        def keep(row: dict[str, Any]) -> bool:
            """Hold ``row`` (the latest read of an Id wins, as in :meth:`cdc`); False if not held."""
            rid = str(row.get("Id"))
            old = held.get(rid)
            if old is None:
                return False
            if _last_updated(row) >= _last_updated(old):
                held[rid] = row
            return True

        lower = since
        split: datetime | None
        while True:
            split = lower + (now - lower) / 2
            if now - split < timedelta(seconds=1):
                # over 1000 changes within the last second (QBO stamps whole seconds): CDC cannot
                # separate them, so the query below covers the whole window instead
                split = None
                break
            answer, counted = self._cdc_counted([entity], split)
            later = answer[entity]
            if counted[entity] < CDC_CAP:
                for row in later:
                    if not keep(row):
                        held[str(row.get("Id"))] = row
                break
            for rid, row in _tombstones(later).items():
                if not keep(row):
                    held[rid] = row
            lower = split
        where = f"MetaData.LastUpdatedTime >= {quote(since)}"
        if split is not None:
            where += f" AND MetaData.LastUpdatedTime <= {quote(split)}"
        if entity in NAME_LISTS:
            where += " AND Active IN (true, false)"
        page: list[dict[str, Any]] = []
        for row in self.query(entity, where=where):
            if not keep(row):
                page.append(row)
                if len(page) >= CDC_CAP:
                    yield page
                    page = []
        if page:
            yield page
        rest = list(held.values())
        held.clear()
        for i in range(0, len(rest), CDC_CAP):
            yield rest[i:i + CDC_CAP]
