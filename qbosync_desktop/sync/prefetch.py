"""Reading Work lists ahead of the phase that plans them, without holding whole lists in memory.

Two kinds of background read (issue 18: a sync with nothing to do must not be a chain of round
trips, and memory must not grow with the company):

* **A probe** (incremental runs, every phase, all at run start on :attr:`RunState.probe_pool`): the
  first page of the phase's "changed since the cursor" list and no more. When nothing (or less than
  a page) changed, that one request *is* the whole read, so the run's Work reads overlap each other
  and the QuickBooks CDC read instead of following one another phase by phase. A list longer than a
  page keeps its live iterator (:attr:`Prefetched.rest`) and stops there: at most one page per
  phase is held, whatever the size of the change.
* **A full read** (:attr:`RunState.prefetch_pool`, the engine's bounded read-ahead: only
  ``engine.PREFETCH_AHEAD`` phases ahead of the running one) reads the whole list; for a phase that
  was probed it continues the probe's iterator (:func:`drain`) instead of starting over, so no page is
  read twice.

Exactly once and phase order are unchanged: a background read only *reads*; the phase that owns the
cursor takes the records when it runs (:func:`take`), decides, and stages its cursor, in the
engine's phase order. A probe is a read made at run start, which the engine's read-ahead already
was for the next phases; a phase that writes to Work drops the later phase's copy (see
``clients/inbound``) so nothing stale is planned.

The iterator of a probed list is used by one thread at a time: the probe's thread until the probe
returns, then either the read-ahead thread (:func:`drain`, which waits for the probe first) or the
phase's own thread (:func:`take`, which waits for whichever future was last stored).
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qbosync_desktop.connectors.work.models import Record

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

#: A Work list method: ``lister()`` for everything, ``lister(updated_since=cursor)`` for changes.
Lister = Callable[..., Iterable[Record]]

#: Records a probe reads when the Work client does not say its page size.
DEFAULT_PROBE_LIMIT = 200


@dataclass
class Prefetched:
    """A Work list read in the background: the records read so far and, when the read stopped
    after its first page (a probe of a longer list), the iterator that reads the rest."""

    records: list[Record] = field(default_factory=list)
    rest: Iterator[Record] | None = None

    def complete(self) -> list[Record]:
        """Every record: reads what the background read left (on the calling thread)."""
        if self.rest is not None:
            self.records.extend(self.rest)
            self.rest = None
        return self.records


def _start(lister: Lister, since: str | None) -> Iterator[Record]:
    return iter(lister(updated_since=since) if since else lister())


def read_all(lister: Lister, since: str | None) -> Prefetched:
    """The whole list (the read-ahead)."""
    return Prefetched(list(_start(lister, since)))


def probe(lister: Lister, since: str | None, limit: int) -> Prefetched:
    """The first ``limit`` records (one page when ``limit`` is the client's page size). A list that
    ended before them is complete; otherwise the iterator is kept for :func:`drain` or :func:`take`.
    Pulling exactly one page's records makes no second request: the client pages lazily."""
    it = _start(lister, since)
    records = list(itertools.islice(it, limit))
    return Prefetched(records, it if len(records) >= limit else None)


def drain(first: cf.Future[Prefetched]) -> Prefetched:
    """Continue a probe to the end (runs on the read-ahead pool; the probe runs on another pool, so
    waiting for it here cannot deadlock)."""
    got = first.result()
    got.complete()
    return got


def probe_limit(ctx: RunContext) -> int:
    return int(getattr(ctx.work, "page_size", DEFAULT_PROBE_LIMIT) or DEFAULT_PROBE_LIMIT)


def start(ctx: RunContext, cursor_name: str, lister: Lister, since: str | None) -> None:
    """Start reading ``lister`` in the background under ``cursor_name``: a probe while the engine
    probes (run start of an incremental run), else the full read - continuing a probe if one was
    made. Nothing when the run has no pools (a preview reads inline)."""
    st = ctx.state
    have = st.prefetched.get(cursor_name)
    if have is None:
        if st.probe_pool is not None:
            st.prefetched[cursor_name] = st.probe_pool.submit(probe, lister, since, probe_limit(ctx))
        elif st.prefetch_pool is not None:
            st.prefetched[cursor_name] = st.prefetch_pool.submit(read_all, lister, since)
        return
    if st.prefetch_pool is None or st.probe_pool is not None:
        return
    if have.done() and not have.exception() and have.result().rest is None:
        return  # the probe was the whole list
    st.prefetched[cursor_name] = st.prefetch_pool.submit(drain, have)


def take(ctx: RunContext, cursor_name: str) -> list[Record] | None:
    """The records read in the background under ``cursor_name`` (the rest of a probed list read
    now), or None when nothing was started. The copy is gone afterwards: a second read (a settle
    step's re-plan) reads Work again."""
    fetched = ctx.state.prefetched.pop(cursor_name, None)
    if fetched is None:
        return None
    return fetched.result().complete()
