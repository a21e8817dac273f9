"""Streaming a phase's Work list: read pages → plan → send → let go, with bounded memory (issue 18).

A run used to read each phase's whole Work list before planning it (80,000 invoices held at once at
20k clients / 80k invoices, ~1.2 kB each). Now:

* :class:`ReadAhead` reads a Work list on a background thread (the run's ``work-read`` pool) into a
  *bounded* buffer of chunks: the reader stays at most :data:`READ_AHEAD_RECORDS` records ahead of
  the planner and waits there. So a phase's list can still be downloading while an earlier phase
  writes (the overlap that keeps the initial sync at the throttle floor), without being held whole.
* ``flows.base.ChangedRecords`` is the streaming form of :func:`~qbosync_desktop.sync.flows.base.read_changed`:
  the records come as they are read, each one planned, sent and let go before the next chunk.

**A record read twice.** Work's keyset paging hands a record that changed while we paged out again
later, with its newer version. Reading the whole list first let us keep only the newest copy; a
stream has already planned (and may have sent) the first copy when the second arrives. Planning the
second one at once could create the record twice (the first create is still in flight, no link yet).
So a record met again is held back (only its newest copy) and planned in a *second pass*, after
every write of the first pass has been applied: by then the first copy's link exists, and the newer
version becomes an ordinary update (or nothing, when its body did not change). Which ids were met is
kept in a TEMP table of the engine thread's SQLite connection (:class:`SeenIds`), not in a Python
set: a run-wide set of 400,000 ids would cost tens of MB as Python strings.

**Unreadable records** (issue 16) are known when the list has been read to its end (the Work client
sets them aside per page): they are planned in the second pass too, except those of which a readable
copy came (as before: the newer copy parsed, use it).

**The cursor** is staged when the list has been read to its end (the newest ``updated_at`` met, +1 µs,
as before) and committed by the engine only after the whole phase - both passes - left no unfinished
outbox work. It does not advance per page: a page's records may still be in flight in batches sent
out of order, a record re-seen later is planned only in the second pass, and records with open
problems are re-read from their own ``updated_at`` anyway. A run that stops mid-phase re-reads the
phase from its old cursor; what it had already written is linked under the same fingerprint and
costs no QuickBooks request (the outbox replays what was in flight, exactly once).
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from qbosync_desktop.connectors.work.models import Record
from qbosync_desktop.store.db import database

R = TypeVar("R", bound=Record)

#: Records per chunk handed from the reader thread to the planner (one Work page by default).
CHUNK = 200
#: How far a reader may run ahead of its phase's planner: 10 chunks. Enough to keep planning fed
#: while the next page downloads; small enough that a phase waiting its turn holds ~2 MB, not its list.
READ_AHEAD_RECORDS = 2000
#: Ids per ``IN (...)`` when checking which ids were met already.
_IDS_PER_QUERY = 500

_END = object()


class ReadAhead(Generic[R]):
    """One Work list read on a background thread into a bounded buffer; iterate it once.

    The reader waits when :data:`READ_AHEAD_RECORDS` records are buffered and goes on as the planner
    takes them. An error of the read is raised where the planner iterates. :meth:`close` stops the
    reader (a run that ends before the phase that owns it)."""

    def __init__(self, records: Iterable[R], *, limit: int = READ_AHEAD_RECORDS, chunk: int = CHUNK) -> None:
        self._records = records
        self._chunk = max(1, chunk)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, limit // self._chunk))
        self._closed = threading.Event()
        self._future: cf.Future[None] | None = None
        #: records read so far (the phase's progress total while its list is still being read)
        self.read = 0

    def start(self, pool: cf.Executor) -> ReadAhead[R]:
        self._future = pool.submit(self._run)
        return self

    def _put(self, item: object) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            it = iter(self._records)
            while not self._closed.is_set():
                chunk = list(itertools.islice(it, self._chunk))
                if not chunk:
                    break
                self.read += len(chunk)
                if not self._put(chunk):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the planner, raised where it iterates
            self._put(exc)

    def __iter__(self) -> Iterator[R]:
        if self._future is None:  # never started (no pool): read inline
            for rec in self._records:
                self.read += 1
                yield rec
            return
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, list)
            yield from item

    def close(self) -> None:
        """Stop the reader and drop what it buffered (its thread ends at its next record chunk)."""
        self._closed.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break


class SeenIds:
    """A set of Work ids kept in a TEMP table of this thread's SQLite connection (never written to
    the data file). Made empty when created; :meth:`close` drops it."""

    def __init__(self, name: str) -> None:
        self.table = f"temp.seen_{name}"
        database.execute_sql(f"CREATE TEMP TABLE IF NOT EXISTS seen_{name} (id TEXT PRIMARY KEY) WITHOUT ROWID")
        database.execute_sql(f"DELETE FROM {self.table}")

    def present(self, ids: Iterable[str]) -> set[str]:
        """Which of these ids are in the set."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for i in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[i:i + _IDS_PER_QUERY]
            found.update(str(row[0]) for row in database.execute_sql(
                f"SELECT id FROM {self.table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def add(self, ids: Iterable[str]) -> set[str]:
        """Add these ids; returns those that were in the set before."""
        wanted = list(dict.fromkeys(ids))
        before = self.present(wanted)
        fresh = [(i,) for i in wanted if i not in before]
        if fresh:
            database.cursor().executemany(f"INSERT OR IGNORE INTO {self.table} (id) VALUES (?)", fresh)
        return before

    def close(self) -> None:
        database.execute_sql(f"DROP TABLE IF EXISTS {self.table}")


def chunks(records: Iterable[R], size: int) -> Iterator[list[R]]:
    it = iter(records)
    while chunk := list(itertools.islice(it, size)):
        yield chunk
