"""Reading what changed in QuickBooks since the last sync: one CDC request, or a query when CDC can't.

Why CDC: reads are metered by QuickBooks (500,000 a month on the free tier) and a no-op sync must cost
at most 2 requests, so we never re-query every customer. ``GET /cdc?entities=Customer&changedSince=T``
returns every customer changed since ``T`` in one request.

Why a fallback: CDC only looks back 30 days and returns at most 1000 objects per entity with no
paging. A gap older than that (a laptop that was off for a month), or a full response (1000 objects:
more may exist), is read instead with ``MetaData.LastUpdatedTime >= T`` queries, which page.

The 1000-object cap is the connector's business (``QboClient.cdc`` splits a capped window), so a
CDC answer here is complete.

The cursor (``qbo.<entity>`` in the engine's Cursor table) is the newest ``MetaData.LastUpdatedTime``
read - QuickBooks' own clock, so the skew between this machine and QuickBooks cannot make us skip a
change. ``changedSince`` is inclusive, so the newest record is read once more next time; the
three-way merge finds nothing to do with it. The cursor is never behind "now minus a margin" on our
clock (never backwards either): an idle company does not drift into the >30-day fallback, and the
last second's records are not read again once that second is older than the margin. The caller
stages the new value; the engine commits it only after everything the read covers is committed.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.protocols import QboApi

from qbosync_desktop.connectors.qbo.query import quote as qbo_quote

log = logging.getLogger(__name__)

CDC_WINDOW = _dt.timedelta(days=30)
#: Stay a little inside the 30 days: the window is measured on QuickBooks' clock, not ours.
CDC_SAFE_WINDOW = CDC_WINDOW - _dt.timedelta(hours=1)
#: How far our clock may be ahead of QuickBooks' before an idle cursor could pass a change.
CLOCK_MARGIN = _dt.timedelta(minutes=10)


def cursor_name(entity: str) -> str:
    return f"qbo.{entity.lower()}"


def parse_time(value: str | None) -> _dt.datetime | None:
    """A cursor value (ISO 8601, with or without zone) → naive UTC datetime."""
    if not value:
        return None
    t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return t


def format_time(t: _dt.datetime) -> str:
    return t.replace(microsecond=0).isoformat() + "Z"


@dataclass
class Changes:
    """What one read found for one entity."""

    entity: str
    #: "full" (no cursor yet), "cdc" or "query" (the > 30-day or overflow fallback)
    method: str
    records: list[dict[str, Any]] = field(default_factory=list)
    #: ids QuickBooks reports as deleted (CDC ``status: Deleted``); queries cannot see deletions
    deleted: list[str] = field(default_factory=list)
    #: the cursor value to stage once everything read here is committed
    next_cursor: str = ""


#: Records per page of :class:`ChangePages` (a CDC answer holds at most 1000 per entity).
PAGE = 1000


def _newest(records: Iterable[dict[str, Any]]) -> _dt.datetime | None:
    times = [parse_time((r.get("MetaData") or {}).get("LastUpdatedTime")) for r in records]
    return max((t for t in times if t is not None), default=None)


def _cursor_after(newest: _dt.datetime | None, since: _dt.datetime | None, now: _dt.datetime) -> str:
    floor = now - CLOCK_MARGIN
    if since is not None:
        floor = max(floor, since)
    return format_time(floor if newest is None else max(newest, floor))


def next_cursor(records: list[dict[str, Any]], since: _dt.datetime | None, now: _dt.datetime) -> str:
    """The newest ``LastUpdatedTime`` read, but never behind "now minus the margin" nor ``since``.

    The floor applies whether or not something was read: a read covers every change up to the
    moment it was answered, so anything stamped before ``now - CLOCK_MARGIN`` (QuickBooks' clock may
    be that far behind ours) has been seen. Without it the records of the cursor's own second
    (``changedSince`` is inclusive) were read again on every later sync, for good: the newest of them
    kept the cursor where it was. After a large run that second can hold over 1,000 of our own writes,
    CDC's cap, which made every no-op sync four requests (issue 18)."""
    return _cursor_after(_newest(records), since, now)


def _is_deleted(row: dict[str, Any]) -> bool:
    return str(row.get("status", "")).lower() == "deleted"


class ChangePages:
    """Everything of ``entity`` changed since ``since`` (all records when ``since`` is None), a page
    (at most :data:`PAGE` live records, each Id once) at a time, so a large read - the customers
    phase reading back a run's own 20,000 writes - is never held whole (issue 18).

    Exactly one QuickBooks request when a CDC read is possible (and not capped); a paged query for
    the first read and for a gap over 30 days. :attr:`method`, :attr:`deleted` and
    :attr:`next_cursor` are complete once the pages have been iterated (once).
    """

    def __init__(self, qbo: QboApi, entity: str, since: _dt.datetime | None, *, now: _dt.datetime,
                 quote: Callable[[object], str] | None = None) -> None:
        self.qbo, self.entity, self.since, self.now = qbo, entity, since, now
        self.quote = quote or qbo_quote
        if since is None:
            self.method = "full"
        elif now - since <= CDC_SAFE_WINDOW:
            self.method = "cdc"
        else:
            self.method = "query"
        #: ids QuickBooks reports as deleted (CDC ``status: Deleted``); queries cannot see deletions
        self.deleted: list[str] = []
        self._newest: _dt.datetime | None = None

    @property
    def next_cursor(self) -> str:
        """The cursor value to stage once everything read here is committed (see :func:`next_cursor`)."""
        return _cursor_after(self._newest, self.since, self.now)

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        if self.method == "cdc":
            assert self.since is not None
            yield from self.qbo.cdc_pages(self.entity, self.since)
            return
        # Name-list entities hide inactive records unless asked (QBO_API_NOTES "Reads").
        clause = "Active IN (true, false)"
        if self.method == "query":
            assert self.since is not None
            log.info("Last %s read was %s ago (> 30 days): reading changes with a query", self.entity,
                     self.now - self.since)
            stamp = self.quote(self.since.replace(tzinfo=_dt.timezone.utc))
            clause = f"MetaData.LastUpdatedTime >= {stamp} AND {clause}"
        rows = self.qbo.query(self.entity, where=clause, order_by="Id")
        while page := list(itertools.islice(rows, PAGE)):
            yield page

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        for page in self._pages():
            live = [r for r in page if not _is_deleted(r)]
            if len(live) < len(page):
                self.deleted += [str(r.get("Id")) for r in page if _is_deleted(r)]
            newest = _newest(live)
            if newest is not None and (self._newest is None or newest > self._newest):
                self._newest = newest
            yield live


def read_changes(
    qbo: QboApi,
    entity: str,
    since: _dt.datetime | None,
    *,
    now: _dt.datetime,
    quote: Callable[[object], str] | None = None,
) -> Changes:
    """Everything of ``entity`` changed since ``since`` (all records when ``since`` is None), as one
    list (:class:`ChangePages` reads the same a page at a time)."""
    pages = ChangePages(qbo, entity, since, now=now, quote=quote)
    rows = [row for page in pages for row in page]
    return Changes(entity, pages.method, rows, pages.deleted, next_cursor=pages.next_cursor)
