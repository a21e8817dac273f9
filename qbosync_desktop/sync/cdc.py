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
import logging
from collections.abc import Callable
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


def _query_all(qbo: QboApi, entity: str, where: str | None) -> list[dict[str, Any]]:
    # Name-list entities hide inactive records unless asked (QBO_API_NOTES "Reads").
    active = "Active IN (true, false)"
    clause = f"{where} AND {active}" if where else active
    return list(qbo.query(entity, where=clause, order_by="Id"))


def _newest(records: list[dict[str, Any]]) -> _dt.datetime | None:
    times = [parse_time((r.get("MetaData") or {}).get("LastUpdatedTime")) for r in records]
    return max((t for t in times if t is not None), default=None)


def next_cursor(records: list[dict[str, Any]], since: _dt.datetime | None, now: _dt.datetime) -> str:
    """The newest ``LastUpdatedTime`` read, but never behind "now minus the margin" nor ``since``.

    The floor applies whether or not something was read: a read covers every change up to the
    moment it was answered, so anything stamped before ``now - CLOCK_MARGIN`` (QuickBooks' clock may
    be that far behind ours) has been seen. Without it the records of the cursor's own second
    (``changedSince`` is inclusive) were read again on every later sync, for good: the newest of them
    kept the cursor where it was. After a large run that second can hold over 1,000 of our own writes,
    CDC's cap, which made every no-op sync four requests (issue 18)."""
    floor = now - CLOCK_MARGIN
    if since is not None:
        floor = max(floor, since)
    newest = _newest(records)
    return format_time(floor if newest is None else max(newest, floor))


def read_changes(
    qbo: QboApi,
    entity: str,
    since: _dt.datetime | None,
    *,
    now: _dt.datetime,
    quote: Callable[[object], str] | None = None,
) -> Changes:
    """Everything of ``entity`` changed since ``since`` (all records when ``since`` is None).

    Exactly one QuickBooks request when a CDC read is possible (and not capped); a paged query for
    the first read and for a gap over 30 days.
    """
    if quote is None:
        quote = qbo_quote
    if since is None:
        rows = _query_all(qbo, entity, None)
        return Changes(entity, "full", rows, next_cursor=next_cursor(rows, None, now))
    if now - since <= CDC_SAFE_WINDOW:
        found = qbo.cdc([entity], since)
        rows = list(found.get(entity) or [])
        live = [r for r in rows if str(r.get("status", "")).lower() != "deleted"]
        deleted = [str(r.get("Id")) for r in rows if str(r.get("status", "")).lower() == "deleted"]
        return Changes(entity, "cdc", live, deleted, next_cursor=next_cursor(live, since, now))
    log.info("Last %s read was %s ago (> 30 days): reading changes with a query", entity, now - since)
    where = f"MetaData.LastUpdatedTime >= {quote(since.replace(tzinfo=_dt.timezone.utc))}"
    rows = _query_all(qbo, entity, where)
    return Changes(entity, "query", rows, next_cursor=next_cursor(rows, since, now))
