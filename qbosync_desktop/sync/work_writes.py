"""Creating records in Work exactly once: the Work side of the outbox.

Why: importing a QuickBooks customer (or sub-customer) creates a Work client (or site). If the
process dies after Work created it but before our link committed, a plain retry would create a second
one. So the body and an ``Idempotency-Key`` are committed first (:class:`WorkWrite`), and every
attempt - the first and any replay after a crash - sends the same bytes with the same key; Work
answers a repeated key with the original record.

Bodies are canonicalised (keys sorted at every level, as the JSON column stores them) because the
Work API recognises a repeat only when the request bytes are identical.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from qbosync_desktop.core.errors import Cancelled, QboSyncError, WorkApiError
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.outbox import WorkWrite
from qbosync_desktop.sync import problems

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.connectors.work.models import Record
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.protocols import WorkApi


#: Creates in flight at once (Work's demo server and API take several; QuickBooks is not involved).
WORKERS = 4
#: Work reads by id in flight at once (each thread with its own connection)
READERS = 6

#: the Work record type a create returns (Client, Site, ...)
R = TypeVar("R", bound="Record")


def problem_key(qbo_id: str) -> str:
    """The problem key of a QuickBooks record that has no Work id yet."""
    return f"qbo:{qbo_id}"


def canonical_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body with keys sorted at every level, exactly as a replay reads it back from SQLite."""
    canonical: dict[str, Any] = json.loads(json.dumps(body, sort_keys=True, default=str))
    return canonical


def create_idempotent(create: Callable[..., R], body: dict[str, Any], key: str) -> R:
    """Call the Work connector's create with the idempotency key, same bytes on every attempt."""
    return create(idempotency_key=key, **canonical_body(body))


def intent(ctx: RunContext, kind: str, qbo_id: str, body: dict[str, Any], meta: dict[str, Any] | None = None
           ) -> WorkWrite:
    """The persisted intent for this exact body (an earlier identical one is reused)."""
    key = f"qbosync-import-{kind}-" + hashlib.sha256(
        json.dumps([qbo_id, body], sort_keys=True, default=str).encode()).hexdigest()[:40]
    with database.atomic():
        return WorkWrite.get_or_none(WorkWrite.idempotency_key == key) or WorkWrite.create(
            kind=kind, qbo_id=qbo_id, body=canonical_body(body), idempotency_key=key, run_id=ctx.run_id,
            meta=meta)


def send(ctx: RunContext, ww: WorkWrite, create: Callable[..., R], *, phase: str, label: str) -> R | None:
    """Send one intent. Returns the created record, or None after opening the record's problem
    (Work refused it). Transient and fatal errors propagate: the intent stays pending for a replay."""
    try:
        return create_idempotent(create, ww.body, ww.idempotency_key)
    except WorkApiError as exc:
        if exc.fatal or exc.transient:
            raise
        with database.atomic():
            refused(ctx, ww, exc, phase=phase, label=label)
        return None


def refused(ctx: RunContext, ww: WorkWrite, exc: QboSyncError, *, phase: str, label: str) -> None:
    """Work refused the create (its content): the intent fails and the record gets its one problem."""
    if ww.state != "failed":
        ww.state = "failed"
        ww.save()
    p = problems.open_problem(ww.kind, problem_key(ww.qbo_id), exc, run_id=ctx.run_id, qbo_id=ww.qbo_id,
                              extra={"record": label})
    ctx.count(phase, "failed")
    ctx.observer.problem(problems.problem_dict(p))
    ctx.observer.record(phase, None, "failed", exc.message)


@contextlib.contextmanager
def thread_connectors(ctx: RunContext) -> Iterator[Callable[[], WorkApi]]:
    """``connector()``: the calling thread's own copy of the Work connector, with its own
    ``requests.Session`` (sessions are not thread-safe); every session is closed at the end."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def connector() -> WorkApi:
        client = getattr(local, "client", None)
        if client is None:
            client = copy.copy(ctx.work)
            client.session = requests.Session()
            with lock:
                sessions.append(client.session)
            local.client = client
        return client

    try:
        yield connector
    finally:
        for session in sessions:
            session.close()


def read_all(ctx: RunContext, ids: Iterable[str], get: Callable[[WorkApi], Callable[[str], R]],
             *, workers: int = READERS) -> dict[str, R | QboSyncError]:
    """Work records by id, several at a time (each thread its own connector): id → the record, or the
    error its read raised (the caller decides: a problem of one record, or a stopped run). For checks
    that need one Work record per record planned (a refund's payment): at 100,000 refunds one at a
    time, this was minutes of round trips in a row."""
    wanted = sorted({str(i) for i in ids if i})
    if not wanted:
        return {}
    with thread_connectors(ctx) as connector:

        def one(record_id: str) -> tuple[str, R | QboSyncError]:
            try:
                return record_id, get(connector() if len(wanted) > 1 else ctx.work)(record_id)
            except QboSyncError as exc:
                return record_id, exc

        if len(wanted) == 1 or workers <= 1:
            return dict(one(i) for i in wanted)
        with cf.ThreadPoolExecutor(max_workers=min(workers, len(wanted)), thread_name_prefix="work-read-ids") as pool:
            return dict(pool.map(one, wanted))


def send_all(ctx: RunContext, writes: list[WorkWrite], create: Callable[[WorkApi], Callable[..., R]],
             *, workers: int = WORKERS) -> tuple[list[tuple[WorkWrite, R | None, QboSyncError | None]], QboSyncError | None]:
    """Send many intents, a few at a time (HTTP only on the worker threads; the caller applies the
    results on its own thread, SQLite's one writer). Returns ``(results, stop)``: per intent the
    record or Work's refusal, and the first transient/fatal error, which the caller raises after
    applying what did succeed (the rest stays pending and is replayed by the next run). ``create``
    picks the connector's create method (``lambda work: work.create_client``): each thread calls it
    on its own copy of the connector.

    Why threads: onboarding a company with 1,000 customers is 1,000 creates in Work, one round trip
    each; Work takes several at once. Each thread uses its own copy of the connector with its own
    ``requests.Session`` (sessions are not thread-safe).
    """
    with thread_connectors(ctx) as connector:

        def one(ww: WorkWrite) -> tuple[WorkWrite, R | None, QboSyncError | None]:
            if ctx.cancel.is_set():
                return ww, None, Cancelled("The sync was stopped before it finished. Everything done so far is kept.")
            try:
                client = connector() if len(writes) > 1 else ctx.work
                return ww, create_idempotent(create(client), ww.body, ww.idempotency_key), None
            except QboSyncError as exc:
                return ww, None, exc

        if len(writes) <= 1 or workers <= 1:
            results = [one(ww) for ww in writes]
        else:
            with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="work-write") as pool:
                results = list(pool.map(one, writes))
    stop = next((exc for _ww, _rec, exc in results if exc is not None and (exc.fatal or exc.transient
                                                                              or isinstance(exc, Cancelled))), None)
    return results, stop


def mark_done(ww: WorkWrite, work_id: str) -> None:
    """Call inside the transaction that creates the link."""
    ww.state, ww.work_id, ww.done_at = "done", work_id, utcnow()
    ww.save()
