"""RunContext: everything one run (or one preview) of the engine needs, in one place.

Why a context object instead of module globals: a preview and a run must share the very same
planning code (the preview's numbers have to equal what the run then does), and two companies may
sync in one process (one worker thread each). So all state of a run - connectors, settings, the Run
row, the observer, the cancel event and what the run has read so far - lives here and is passed to
every phase.

What a run carries between modules is typed: :class:`RunState` (``ctx.state``) holds the generic
per-run state (prefetched Work reads, full re-reads asked for, match-review holds, open problems,
QBO name lists), and a flow keeps its own state in a dataclass of its own, reached with
``ctx.flow_state(TheClass)`` (one instance per run, keyed by the class - no string keys).

Everything is lazy and costs QBO requests only when a phase really needs it: a no-op incremental
sync must make at most 2 QBO requests (issue 6), so nothing here queries QBO up front.

``planned`` records which (kind, work_id) a phase *will* create or link. Later phases plan against it,
so in a preview an invoice of a client that does not exist in QBO yet is counted as "create", not as
"fail: client missing" - and in a run the invoice phase sees the links the client phase committed.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import peewee

from qbosync_desktop.connectors.work.models import Company, Record, Unreadable
from qbosync_desktop.core.errors import Cancelled
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import JSONField, utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Cursor, Run
from qbosync_desktop.sync import skips
from qbosync_desktop.sync.protocols import CancelFlag, CountedQboApi, EngineWorkspace, WorkApi
from qbosync_desktop.sync.rules.settings import SyncSettings

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.core.paths import AppPaths
    from qbosync_desktop.store.models.connection import Connection
    from qbosync_desktop.sync.engine import Observer
    from qbosync_desktop.sync.flows.reading import ReadAhead
    from qbosync_desktop.sync.plan import StalePolicy

S = TypeVar("S")

log = logging.getLogger(__name__)


class NameIndex:
    """QBO DisplayNames (customers + vendors share one namespace) or item Names, normalised.

    Filled with one paged query per entity the first time a phase needs it; names created during the
    run are added so two Work records can never be sent with the same name in one run.
    """

    def __init__(self) -> None:
        self.by_name: dict[str, list[JsonObject]] = {}
        #: names this run sends (created or renamed) → the entity: one string each, not a record (an
        #: initial sync plans one per client)
        self._planned: dict[str, str] = {}

    def add(self, norm: str, record: JsonObject) -> None:
        self.by_name.setdefault(norm, []).append(record)

    def plan(self, norm: str, entity: str) -> None:
        """Reserve a name this run is about to send as a new ``entity`` ("Customer", "Vendor")."""
        self._planned.setdefault(norm, entity)

    def get(self, norm: str) -> list[JsonObject]:
        """The records under this name; a name reserved by :meth:`plan` comes last, as
        ``{"entity": "planned", "Id": None, "as": entity}``."""
        rows = self.by_name.get(norm, [])
        entity = self._planned.get(norm)
        return rows if entity is None else [*rows, {"entity": "planned", "Id": None, "as": entity}]


class Holds:
    """Work records match review holds back, per kind (``"client"``, ``"vendor"``): work id → the
    reason ("Waiting for match review: ...").

    The owner of a hold fills it in: the customers phase sets the clients it holds when it plans
    (:meth:`set`); the vendors flow registers a loader read on first use (:meth:`provide`). Flows
    that reference a held record (an invoice of a held client) only read it (:meth:`of`)."""

    def __init__(self) -> None:
        self._held: dict[str, dict[str, str]] = {}
        self._loaders: dict[str, Callable[[], dict[str, str]]] = {}

    def set(self, kind: str, held: dict[str, str]) -> None:
        self._held[kind] = dict(held)

    def provide(self, kind: str, loader: Callable[[], dict[str, str]]) -> None:
        self._loaders[kind] = loader

    def of(self, kind: str) -> dict[str, str]:
        if kind not in self._held:
            loader = self._loaders.get(kind)
            if loader is None:
                return {}
            self._held[kind] = loader()
        return self._held[kind]



#: How many links a run keeps in memory per kind. Links are looked up by id in the indexed table;
#: the cache only saves repeating a look-up within a phase (a run's memory must not grow with the
#: company, docs/sync-engine.md "Memory").
LINK_CACHE_SIZE = 4096
#: Ids per ``IN (...)`` look-up (SQLite's default limit on variables is 32,766 since 3.32; 999 before).
LOOKUP_CHUNK = 500
#: One link by kind and Work id, as a raw statement on the unique (kind, work_id) index: peewee then
#: builds no expression tree per call. A run looks a link up for nearly every record it plans
#: (its own, its client's, its invoice's); ``Link.get_or_none`` cost about five times as much CPU.
_LINK_BY_WORK_ID = 'SELECT * FROM "sync_link" WHERE "kind" = ? AND "work_id" = ? LIMIT 1'


def _links_in(column: str, n: int) -> str:
    """The links of a kind whose ``column`` is one of ``n`` values, as a plain statement: peewee
    compiled an expression node per id of a 500-id ``IN`` list, on every chunk a phase planned."""
    return f'SELECT * FROM "sync_link" WHERE "kind" = ? AND "{column}" IN ({", ".join("?" * n)})'


def _link_rows(sql: str, params: tuple[object, ...]) -> Iterator[Link]:
    """``Link`` instances of the rows ``sql`` selects (every column), built without peewee's row
    wrapper, which set each field through its descriptor: a run reads tens of thousands of links.
    Only the columns that need it are converted (``synced`` JSON, ``updated_at``)."""
    cursor = database.execute_sql(sql, params)
    fields = Link._meta.columns
    names = [fields[d[0]].name for d in cursor.description]
    convert = [(i, fields[d[0]].python_value) for i, d in enumerate(cursor.description)
               if isinstance(fields[d[0]], (JSONField, peewee.DateTimeField))]
    links = []
    for row in cursor.fetchall():  # read whole (≤ 500 rows): no statement is left open
        data = dict(zip(names, row, strict=True))
        for i, conv in convert:
            data[names[i]] = conv(row[i])
        link = Link(__no_default__=True)
        link.__data__ = data
        links.append(link)
    return iter(links)


#: ``Link.synced`` key: the QuickBooks Id the change feed reported deleted (sync/clients/deleted.py)
QBO_DELETED = "qbo_deleted"
#: the code of the problem such a link's Work client has
QBO_DELETED_CODE = "qbo-deleted"


def qbo_deleted(link: Link | None) -> bool:
    """True when QuickBooks reported the record this link points at deleted (a merged customer): the
    link is kept, but nothing may be written to it or refer to it."""
    return link is not None and bool(link.synced) and (link.synced or {}).get(QBO_DELETED) == link.qbo_id


class LinkRef(NamedTuple):
    """What a run keeps of a link it wrote: the ids (the row itself is read again when needed)."""

    kind: str
    work_id: str
    qbo_id: str


class LinkCache:
    """Links of one kind by Work id: a bounded, first-in-first-out cache in front of ``sync_link``.

    A miss is remembered (None) until it is evicted or :meth:`forget` drops it - every link written
    during a run goes through :meth:`RunContext.remember_link`, which does. A preview's cache is
    unbounded: it holds planned links (:meth:`put`) that never reach the database.
    """

    def __init__(self, kind: str, *, bounded: bool = True, size: int = LINK_CACHE_SIZE) -> None:
        self.kind = kind
        self.size = size if bounded else 0
        self.entries: dict[str, Link | None] = {}

    def get(self, work_id: str) -> Link | None:
        try:
            return self.entries[work_id]
        except KeyError:
            pass
        link = next(_link_rows(_LINK_BY_WORK_ID, (self.kind, work_id)), None)
        self._keep(work_id, link)
        return link

    def load(self, work_ids: Iterable[str]) -> dict[str, Link]:
        wanted = list(dict.fromkeys(work_ids))
        missing = [w for w in wanted if w not in self.entries]
        found: dict[str, Link] = {}
        for i in range(0, len(missing), LOOKUP_CHUNK):
            chunk = missing[i:i + LOOKUP_CHUNK]
            found.update((lk.work_id, lk) for lk in _link_rows(_links_in("work_id", len(chunk)), (self.kind, *chunk)))
        for w in missing:
            self._keep(w, found.get(w))
        return {w: lk for w in wanted if (lk := self.entries.get(w, found.get(w))) is not None}

    def by_qbo(self, qbo_ids: Iterable[str]) -> dict[str, Link]:
        wanted = list(dict.fromkeys(qbo_ids))
        out: dict[str, Link] = {}
        for i in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[i:i + LOOKUP_CHUNK]
            for lk in _link_rows(_links_in("qbo_id", len(chunk)), (self.kind, *chunk)):
                cached = self.entries.get(lk.work_id)
                if cached is not None and cached.qbo_id == lk.qbo_id:
                    lk = cached  # a preview's planned version of it
                out[lk.qbo_id] = lk
                self._keep(lk.work_id, lk)
        if not self.size:  # a preview: planned links are not in the table
            want = set(wanted)
            for planned in self.entries.values():
                if planned is not None and planned.qbo_id in want and planned.qbo_id not in out:
                    out[planned.qbo_id] = planned
        return out

    def put(self, link: Link) -> None:
        self.entries.pop(link.work_id, None)
        self._keep(link.work_id, link)

    def forget(self, work_id: str) -> None:
        self.entries.pop(work_id, None)

    def _keep(self, work_id: str, link: Link | None) -> None:
        entries = self.entries
        if work_id not in entries:
            entries[work_id] = link
            if self.size and len(entries) > self.size:
                del entries[next(iter(entries))]


@dataclass
class RunState:
    """The generic state one run carries between modules (typed; flows add their own with
    :meth:`RunContext.flow_state`)."""

    #: the Work company (default state/country), read on first use
    company: Company | None = None
    #: committed cursor values by name (read once per run)
    cursors: dict[str, str | None] = field(default_factory=dict)
    #: cursor names a phase must read from the beginning this run (a setting changed what its
    #: records should look like: an earlier start date, other accounts)
    reread: set[str] = field(default_factory=set)
    #: where prefetched Work reads run (the engine sets it for a run; a preview reads inline)
    prefetch_pool: cf.Executor | None = None
    #: where an incremental run's readers start, all at run start (the engine sets it only while it
    #: starts them; flows.base.prefetch)
    probe_pool: cf.Executor | None = None
    #: Work lists being read ahead, by cursor name (see flows.base.prefetch, flows/reading.py)
    prefetched: dict[str, ReadAhead[Record]] = field(default_factory=dict)
    #: match-review holds, per kind
    holds: Holds = field(default_factory=Holds)
    #: open problems per kind (dropped whenever a phase's apply opened or closed some)
    open_problems: dict[str, dict[str, Problem]] = field(default_factory=dict)
    #: QBO ids already linked, per kind (kept in step by ``remember_link``)
    linked_qbo_ids: dict[str, set[str]] = field(default_factory=dict)
    #: QBO customer and vendor DisplayNames (flows.base.name_index), read on first use
    names: NameIndex | None = None
    #: QBO items by normalised name (flows.items), read on first use
    qbo_items: dict[str, JsonObject] | None = None
    #: Work records a flow's list met that did not parse, per kind (flows.base.read_changed); each
    #: becomes one problem and the rest sync on (issue 16)
    unreadable: dict[str, list[Unreadable]] = field(default_factory=dict)
    #: called on the engine thread with the (kind, Work id) of outbox entries whose QuickBooks answer
    #: was just committed (written or refused), and of those that met a stale SyncToken (retried):
    #: the proof's read-back during later writes listens (sync/proof.py)
    write_listeners: list[Callable[[list[tuple[str, str]], list[tuple[str, str]]], None]] = field(
        default_factory=list)
    #: background work a flow started for this run, stopped when the run ends (:meth:`close_background`)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close_background(self) -> None:
        """Stop what flows started in the background for this run (the run is over)."""
        closers, self.closers = self.closers, []
        for close in closers:
            close()

    def drop_prefetch(self, cursor_name: str) -> None:
        """Forget a list read ahead (its phase must read Work again): its reader stops."""
        reader = self.prefetched.pop(cursor_name, None)
        if reader is not None:
            reader.close()

    def close_prefetches(self) -> None:
        """Stop every reader still reading ahead (the run ends before their phases)."""
        for name in list(self.prefetched):
            self.drop_prefetch(name)


@dataclass
class RunContext:
    """The state of one engine run or preview. Build it with :func:`make_context`."""

    #: the QuickBooks client; ``qbo_requests`` is read from its own counter (every page, every retry)
    qbo: CountedQboApi
    work: WorkApi
    settings: SyncSettings
    observer: Observer
    cancel: CancelFlag = field(default_factory=threading.Event)
    preview: bool = False
    initial: bool = False
    run: Run | None = None
    workspace: EngineWorkspace | None = None
    #: set by the QBO batch sender; how many batches may be in flight at once (≤ 10 per QBO).
    concurrency: int = 4
    now: _dt.datetime = field(default_factory=utcnow)
    planned: set[tuple[str, str]] = field(default_factory=set)
    #: preview only: (kind, work_id) → label of the records planned to fail (no problem is stored yet)
    planned_failures: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: records left out on purpose, phase → reason → count (:mod:`qbosync_desktop.sync.skips`)
    skips: dict[str, dict[str, int]] = field(default_factory=dict)
    state: RunState = field(default_factory=RunState)
    #: how a stale SyncToken (5010) on an outbox entry is handled, when a flow governs it (the
    #: pipeline lists them; an entry no policy governs is re-sent with the current token)
    stale_policies: tuple[StalePolicy, ...] = ()
    _flow_states: dict[type, object] = field(default_factory=dict)
    _staged_cursors: dict[str, str] = field(default_factory=dict)
    _cursor_caps: dict[str, str] = field(default_factory=dict)
    _links: dict[str, LinkCache] = field(default_factory=dict)
    _qbo_requests_before: int = 0

    def __post_init__(self) -> None:
        # (some unit tests build a context without connectors)
        self._qbo_requests_before = self.qbo.stats.requests if self.qbo is not None else 0

    # -- run bookkeeping ---------------------------------------------------------------------------
    @property
    def run_id(self) -> int | None:
        return self.run.id if self.run is not None else None

    @property
    def qbo_requests(self) -> int:
        """HTTP requests to QuickBooks during this run, as QuickBooks meters them (``Run.qbo_requests``)."""
        return self.qbo.stats.requests - self._qbo_requests_before

    def check_cancel(self) -> None:
        """Cooperative cancellation, checked between batches and phases (DESIGN §3)."""
        if self.cancel.is_set():
            raise Cancelled("The sync was stopped before it finished. Everything done so far is kept.")

    def count(self, entity: str, outcome: str, n: int = 1) -> None:
        bucket = self.counts.setdefault(entity, {})
        bucket[outcome] = bucket.get(outcome, 0) + n

    def count_skip(self, entity: str, reason: str | None, outcome: str | None = "skipped") -> None:
        """One record left out on purpose: counted under its reason, and under ``outcome`` unless None
        (a record waiting for match review is a state, not something this run did)."""
        if outcome is not None:
            self.count(entity, outcome)
        bucket = self.skips.setdefault(entity, {})
        key = skips.known(reason)
        bucket[key] = bucket.get(key, 0) + 1

    # -- per-run lookups ---------------------------------------------------------------------------
    def flow_state(self, cls: type[S]) -> S:
        """A flow's own per-run state: one ``cls()`` per run, made on first use."""
        st = self._flow_states.get(cls)
        if not isinstance(st, cls):
            st = cls()
            self._flow_states[cls] = st
        return st

    @property
    def connection(self) -> Connection | None:
        """The connection row (integration date, onboarding done); None without a workspace."""
        return self.workspace.connection if self.workspace is not None else None

    def company(self) -> Company:
        """The Work company (default state/country). Work reads are free of QBO metering."""
        if self.state.company is None:
            self.state.company = self.work.company()
        return self.state.company

    def link_cache(self, kind: str) -> LinkCache:
        cache = self._links.get(kind)
        if cache is None:
            cache = self._links[kind] = LinkCache(kind, bounded=not self.preview)
        return cache

    def links(self, kind: str) -> dict[str, Link]:
        """Every link of a kind by Work id, read now with one query (not kept: only the onboarding
        run's sites phase needs them all; everything else looks links up by id). A preview's planned
        links are included."""
        found = {lk.work_id: lk for lk in Link.select().where(Link.kind == kind)}
        cache = self._links.get(kind)
        if cache is not None and not cache.size:
            found.update((w, lk) for w, lk in cache.entries.items() if lk is not None)
        return found

    def link(self, kind: str, work_id: object) -> Link | None:
        return self.link_cache(kind).get(str(work_id))

    def load_links(self, kind: str, work_ids: Iterable[object]) -> dict[str, Link]:
        """The links of these Work ids (one query per 500 ids), kept in the run's bounded cache."""
        return self.link_cache(kind).load(str(w) for w in work_ids)

    def links_by_qbo(self, kind: str, qbo_ids: Iterable[str]) -> dict[str, Link]:
        """The links of these QBO ids, by QBO id (one query per 500 ids)."""
        return self.link_cache(kind).by_qbo(qbo_ids)

    def linked_work_ids(self, kind: str, work_ids: Iterable[object]) -> set[str]:
        """Which of these Work ids are linked (ids only, one query per 500; a preview's planned links
        count as linked)."""
        wanted = list(dict.fromkeys(str(w) for w in work_ids))
        found: set[str] = set()
        for i in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[i:i + LOOKUP_CHUNK]
            found.update(str(row[0]) for row in database.execute_sql(
                f"SELECT work_id FROM sync_link WHERE kind = ? AND work_id IN ({', '.join('?' * len(chunk))})",
                (kind, *chunk)))
        cache = self._links.get(kind)
        if cache is not None and not cache.size:
            found.update(w for w in wanted if cache.entries.get(w) is not None)
        return found

    def put_link(self, link: Link) -> None:
        """A preview's planned link (never in the database) for later phases of the same preview."""
        self.link_cache(link.kind).put(link)

    def remember_link(self, link: Link | LinkRef) -> None:
        """Keep the per-run cache in step after a link was written: a model instance is cached as it
        is (the caller may still be filling it in); of a :class:`LinkRef` (the outbox's bulk writes)
        the cached entry, or the remembered miss, is dropped, so the next look-up reads the row."""
        if isinstance(link, Link):
            self.link_cache(link.kind).put(link)
        elif link.kind in self._links:
            self._links[link.kind].forget(link.work_id)
        ids = self.state.linked_qbo_ids.get(link.kind)
        if ids is not None:
            ids.add(link.qbo_id)

    def linked_qbo_ids(self, kind: str) -> set[str]:
        """QBO ids already linked for a kind, read once per run as plain strings (kept in step as
        links are made, so checking a name does not cost a query per candidate)."""
        ids = self.state.linked_qbo_ids
        if kind not in ids:
            ids[kind] = {str(row[0]) for row in database.execute_sql(
                "SELECT qbo_id FROM sync_link WHERE kind = ?", (kind,))}
        return ids[kind]

    def qbo_id(self, kind: str, work_id: object) -> str | None:
        lk = self.link(kind, work_id)
        return lk.qbo_id if lk is not None else None

    def will_exist(self, kind: str, work_id: object) -> bool:
        """True if the record is linked, or a phase earlier in this run plans to create/link it. Not
        for a link whose QuickBooks record was deleted there (:func:`qbo_deleted`): a form naming it
        would only earn QuickBooks' "Invalid Reference Id"."""
        link = self.link(kind, work_id)
        if link is not None:
            return not qbo_deleted(link)
        return (kind, str(work_id)) in self.planned

    def open_problems(self, kind: str) -> dict[str, Problem]:
        """Open problems of a kind by Work id, read once until a phase's apply changes them."""
        known = self.state.open_problems
        if kind not in known:
            known[kind] = {
                p.work_id: p for p in Problem.select().where((Problem.kind == kind) & (Problem.state == "open"))
            }
        return known[kind]

    # -- cursors -----------------------------------------------------------------------------------
    def cursor(self, name: str) -> str | None:
        """The committed value (read once per run; this run is the only writer under the run lock)."""
        cursors = self.state.cursors
        if name not in cursors:
            row = Cursor.get_or_none(Cursor.name == name)
            cursors[name] = row.value if row is not None else None
        return cursors[name]

    def stage_cursor(self, name: str, value: str | None) -> None:
        """Remember a new cursor value; the engine commits it only when the phase left no unfinished
        outbox work (a cursor must never move past a record whose write is not committed)."""
        if value is None or self.preview:
            return
        old = self._staged_cursors.get(name)
        if old is None or value > old:
            self._staged_cursors[name] = value

    def cap_cursor(self, name: str, value: str | None) -> None:
        """Never let cursor ``name`` move past ``value`` in this run: a record read but deliberately
        left for later (e.g. a client held for match review) must be read again next time."""
        if value is None or self.preview:
            return
        old = self._cursor_caps.get(name)
        if old is None or value < old:
            self._cursor_caps[name] = value

    def commit_cursors(self) -> None:
        for name, cap in self._cursor_caps.items():
            if name in self._staged_cursors and self._staged_cursors[name] > cap:
                current = self.cursor(name)
                if current is None or cap > current:
                    self._staged_cursors[name] = cap
                else:
                    del self._staged_cursors[name]
        self._cursor_caps.clear()
        if self.preview or not self._staged_cursors:
            return
        with database.atomic():
            for name, value in self._staged_cursors.items():
                row = Cursor.get_or_none(Cursor.name == name)
                if row is None:
                    Cursor.create(name=name, value=value, updated_at=utcnow())
                elif row.value != value:
                    row.value = value
                    row.updated_at = utcnow()
                    row.save()
                self.state.cursors[name] = value
        self._staged_cursors.clear()

    def drop_staged_cursors(self) -> None:
        self._staged_cursors.clear()
        self._cursor_caps.clear()


@dataclass
class Parts:
    """A stand-in for a Workspace when the caller already holds the connectors (tests, tools, bench).

    It satisfies :class:`~qbosync_desktop.sync.protocols.EngineWorkspace`, as the real
    :class:`qbosync_desktop.runtime.workspace.Workspace` does.
    """

    qbo: CountedQboApi
    work: WorkApi
    sync_settings: SyncSettings
    paths: AppPaths | None = None
    connection: Connection | None = None

    def qbo_client(self) -> CountedQboApi:
        return self.qbo

    def work_client(self) -> WorkApi:
        return self.work

    def settings(self) -> SyncSettings:
        return self.sync_settings
