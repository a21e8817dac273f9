"""Exactly-once writes to QuickBooks: persist, send, apply - and replay after a crash.

The sequence for every write (DESIGN §4, issue 6 "Exactly once"):

1. **Persist** - in one transaction, a :class:`Batch` row (its ``requestid`` and composition, the
   ordered ``[bId, outbox id]`` list) and one :class:`OutboxEntry` per operation with its exact
   payload. Nothing has been sent yet.
2. **Send** - ``QboClient.batch(ops, requestid)`` (≤ 30 independent operations, QBO's batch limit)
   or a single create/update/void with the batch's ``requestid``. The connector retries transient
   failures with the *same* requestid.
3. **Apply** - in one transaction: links upserted, audit rows written, outbox rows marked done or
   failed, problems closed or opened, the batch marked done.

If the process dies between 1 and 3 (or the response is lost), the batch is still ``pending``/
``sent``. The next run calls :func:`replay_unfinished` *before planning anything*: it rebuilds the
identical request from the stored rows (same bIds, same order, same bodies, same requestid), and QBO
answers a repeated requestid with the original response instead of writing again. Planning only
after the replay matters: the replay creates the links the planner needs to see, otherwise it would
plan the same records a second time.

Concurrency: independent batches of one phase go out from a small thread pool (QBO allows 10
requests in flight and 40 batches a minute; one sender at 100 ms latency cannot use that budget).
Only the engine's thread touches the database: worker threads do HTTP and nothing else, so SQLite
sees one writer and the transactions above stay simple.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import peewee

from qbosync_desktop.connectors.qbo.client import BatchOp
from qbosync_desktop.core.errors import Cancelled, QboSyncError, QuickBooksError, StaleObject
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.base import JSONField, utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import Batch, OutboxEntry
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import audit, problems, undo_apply
from qbosync_desktop.sync.context import LinkRef
from qbosync_desktop.sync.plan import WRITE_ACTIONS, Change
from qbosync_desktop.sync.rules import amounts, theirs

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.plan import StalePolicy
    from qbosync_desktop.sync.protocols import QboApi

log = logging.getLogger(__name__)

#: QBO: "at most 30 items" per /batch request.
BATCH_LIMIT = 30

#: Kinds whose link keeps the payload last sent (names matter for them; issue 7 merges clients).
SENT_KINDS = ("client", "vendor", "site")

#: An update QBO refused with 5010, waiting for its re-read (see _retry_stale).
STALE = "stale"

_OUTCOME = {"create": "created", "update": "updated", "void": "voided", "delete": "voided", "link": "linked"}


def new_requestid() -> str:
    """32 hex characters: unique, and within QBO's 50-character limit for ``requestid``."""
    return uuid.uuid4().hex


#: Finished outbox rows are kept this long (for support: what exactly was sent), then pruned.
KEEP_DAYS = 30


def prune(days: int = KEEP_DAYS) -> int:
    """Delete finished batches and their rows older than ``days`` (the audit log keeps the history).
    Unfinished work is never pruned: it is what a replay needs."""
    cutoff = utcnow() - _dt.timedelta(days=days)
    old = [b.id for b in Batch.select(Batch.id).where((Batch.state == "done") & (Batch.done_at < cutoff))]
    n = 0
    for i in range(0, len(old), 500):
        chunk = old[i : i + 500]
        with database.atomic():
            n += OutboxEntry.delete().where(OutboxEntry.batch_id.in_(chunk)).execute()
            Batch.delete().where(Batch.id.in_(chunk)).execute()
    return n


def has_unfinished() -> bool:
    """A batch not applied yet, or a 5010 not re-read yet: the next run's replay finishes them."""
    return (Batch.select().where(Batch.state != "done").exists()
            or OutboxEntry.select().where(OutboxEntry.state == STALE).exists())


# ---------------------------------------------------------------------------------------------------
# Bulk writes


def _converter(f: Any) -> Callable[[Any], Any]:
    """The field's ``db_value``, skipped where it would change nothing (text already ``str``, a
    number already ``int``): the bulk writes convert about 30 values per record, and peewee's
    conversion of each was a tenth of the engine thread's time (issue 18)."""
    db_value: Callable[[Any], Any] = f.db_value
    if isinstance(f, JSONField):
        return lambda v: v if type(v) is _Json else db_value(v)
    if isinstance(f, (peewee.CharField, peewee.TextField)):
        return lambda v: v if v is None or type(v) is str else db_value(v)
    if isinstance(f, peewee.IntegerField) and not isinstance(f, peewee.BooleanField):
        return lambda v: v if v is None or type(v) is int else db_value(v)
    return db_value


class _Json(str):
    """A value's JSON text already made (written to a JSON column as it is)."""


_CONVERTERS: dict[tuple[str, str], Callable[[Any], Any]] = {}


def _columns(model: Any, names: list[str]) -> list[tuple[str, Callable[[Any], Any], Any]]:
    """(name, converter, default already converted) per field; the converters are built once."""
    out = []
    for name in names:
        f = model._meta.fields[name]
        key = (model._meta.table_name, name)
        conv = _CONVERTERS.get(key)
        if conv is None:
            conv = _CONVERTERS[key] = _converter(f)
        out.append((name, conv, _MISSING if callable(f.default) else conv(f.default)))
    return out


_MISSING = object()


def _dt_value(value: _dt.datetime) -> Any:
    """A datetime as the ``done_at`` columns store it (the field's own conversion)."""
    return OutboxEntry.done_at.db_value(value)


def _bulk_insert(model: Any, rows: list[dict[str, Any]]) -> int:
    """``INSERT`` many rows with one prepared statement (``executemany``), values converted by the
    model's fields. peewee's ``insert_many`` builds the SQL text in Python for every row; at 40 batches a
    second (the benchmark's scaled throttle) that alone would eat the engine thread's time budget.
    Returns the id of the last row inserted when there was one row (``lastrowid``), else 0."""
    if not rows:
        return 0
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = _columns(model, names)
    cols = ", ".join(f'"{model._meta.fields[n].column_name}"' for n in names)
    sql = f'INSERT INTO "{model._meta.table_name}" ({cols}) VALUES ({", ".join("?" * len(names))})'

    def value(row: dict[str, Any], name: str, conv: Callable[[Any], Any], default: Any) -> Any:
        if name in row:
            return conv(row[name])
        if default is _MISSING:
            f = model._meta.fields[name]
            return conv(f.default())
        return default

    params = [tuple([value(row, n, conv, d) for n, conv, d in columns]) for row in rows]
    cursor = database.obj.cursor()
    if len(params) == 1:
        cursor.execute(sql, params[0])
        return int(cursor.lastrowid or 0)
    cursor.executemany(sql, params)
    return 0


# ---------------------------------------------------------------------------------------------------
# Applying results


class _Recorded(NamedTuple):
    """One record's outcome, told to the observer once the transaction committed."""

    phase: str
    work_id: str | None
    outcome: str
    message: str


#: what a transaction tells once it committed: a link for the run's cache, a problem, an outcome
_AfterCommit = Link | LinkRef | Problem | _Recorded


def _notify(ctx: RunContext, after: list[_AfterCommit]) -> None:
    for item in after:
        if isinstance(item, (Link, LinkRef)):
            ctx.remember_link(item)
        elif isinstance(item, Problem):
            ctx.observer.problem(problems.problem_dict(item))
        else:
            ctx.observer.record(*item)


@dataclass
class _Outcome:
    entry: OutboxEntry
    obj: JsonObject | None
    error: QboSyncError | None


def _link_values(entry: OutboxEntry, obj: dict) -> dict[str, Any]:
    meta = entry.meta or {}
    values: dict[str, Any] = {
        "qbo_id": str(obj.get("Id") or meta.get("qbo_id") or ""),
        "qbo_sync_token": str(obj.get("SyncToken")) if obj.get("SyncToken") is not None else None,
        "work_version": str(meta["work_version"]) if meta.get("work_version") is not None else None,
        "fingerprint": meta.get("fingerprint"),
        "updated_at": utcnow(),
    }
    if "synced" in meta:
        values["synced"] = meta["synced"]
    elif entry.operation in ("create", "update") and entry.kind in SENT_KINDS:
        # What was sent, without the volatile keys: the DisplayName sent (a rename must stay stable).
        # Transactions do not keep a copy here: their last audit row has it (see flows write_change).
        values["synced"] = {"sent": {k: v for k, v in entry.payload.items() if k not in ("Id", "SyncToken", "sparse")}}
    return values


def _bulk_update(model: Any, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """``UPDATE`` many rows by id, one prepared statement per set of columns (``executemany``)."""
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for row_id, values in rows:
        groups.setdefault(tuple(values), []).append((row_id, values))
    for names, group in groups.items():
        columns = _columns(model, list(names))
        sets = ", ".join(f'"{model._meta.fields[n].column_name}" = ?' for n in names)
        sql = f'UPDATE "{model._meta.table_name}" SET {sets} WHERE "id" = ?'
        params = [(*[conv(values[n]) for n, conv, _ in columns], row_id) for row_id, values in group]
        database.obj.cursor().executemany(sql, params)


def _upsert_links(ctx: RunContext, done: list[tuple[OutboxEntry, dict]]) -> list[LinkRef]:
    """Insert or update the links of a batch's successful entries with a handful of statements (a
    batch of 30 costs a few statements, not 30 × several: at 40,000 records that is the difference
    between the throttle floor and twice it). Which links exist is looked up by Work id in the
    run's cache (one query per planned chunk; see ``RunContext.load_links``). Returns what the run
    must know of each link (its ids), not model copies: a run keeps no per-record objects."""
    rows: list[dict[str, Any]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    out: list[LinkRef] = []
    for e, obj in done:
        values = _link_values(e, obj)
        lk = ctx.link(e.kind, e.work_id)
        if lk is not None and lk.id is None:  # a preview's planned link (not in the table)
            lk = Link.get_or_none((Link.kind == e.kind) & (Link.work_id == e.work_id))
        if lk is None:
            rows.append({"kind": e.kind, "work_id": e.work_id, "origin": (e.meta or {}).get("origin", "created"),
                         **values})
        else:
            updates.append((lk.id, values))
        out.append(LinkRef(e.kind, str(e.work_id), values["qbo_id"]))
    _bulk_update(Link, updates)
    if not rows:
        return out
    try:
        with database.atomic():  # a savepoint: a failed bulk insert leaves the batch's transaction usable
            _bulk_insert(Link, rows)
    except (sqlite3.IntegrityError, peewee.IntegrityError):
        # A link was made outside this run's cache (e.g. a match accepted in the window meanwhile):
        # fall back to one row at a time. A QBO record linked to *another* Work record still raises.
        for row in rows:
            lk = Link.get_or_none((Link.kind == row["kind"]) & (Link.work_id == row["work_id"]))
            if lk is None:
                Link.create(**row)
            else:
                Link.update(**{k: v for k, v in row.items() if k not in ("kind", "work_id", "origin")}).where(
                    Link.id == lk.id).execute()
    return out


def _apply(ctx: RunContext, batch: Batch, outcomes: list[_Outcome]) -> list[OutboxEntry]:
    """Apply one batch's response in ONE transaction. Returns the entries that hit a stale SyncToken."""
    stale: list[OutboxEntry] = []
    after_commit: list[_AfterCommit] = []
    done: list[tuple[OutboxEntry, dict]] = []
    now = utcnow()
    with database.atomic():
        for oc in outcomes:
            e, meta = oc.entry, (oc.entry.meta or {})
            phase = meta.get("phase", e.kind)
            if oc.error is None and oc.obj is not None:
                done.append((e, oc.obj))
                outcome = meta.get("outcome") or _OUTCOME.get(e.operation, "updated")
                ctx.count(phase, outcome)
                after_commit.append(_Recorded(phase, e.work_id, outcome, meta.get("message", "")))
                continue
            e.attempts += 1
            if isinstance(oc.error, StaleObject) and e.operation in ("update", "void", "delete") and (
                    not meta.get("stale_retry") or _stale_policy(ctx, e) is not None):
                # Handled by _retry_stale after this transaction. "stale" (not "failed") until then, so
                # a crash before the re-read leaves the intent for the next run's replay, not lost.
                e.state, e.last_error = STALE, oc.error.to_dict()
                stale.append(e)
            else:
                err = oc.error or QuickBooksError("QuickBooks answered without the record.")
                e.state, e.last_error = "failed", err.to_dict()
                p = problems.open_problem(
                    e.kind,
                    e.work_id or "",
                    err,
                    run_id=ctx.run_id,
                    qbo_id=meta.get("qbo_id"),
                    extra={"fingerprint": meta.get("fingerprint"), "work_updated_at": meta.get("work_updated_at"),
                           "record": meta.get("label"), "sent": True},
                )
                ctx.count(phase, "failed")
                after_commit.append(p)
                after_commit.append(_Recorded(phase, e.work_id, "failed", err.message))
            e.save()
        if done:
            # An undo write's answer reverses a record instead of linking one (sync/undo_apply.py).
            for e, obj in done:
                if undo_apply.is_undo(e):
                    undo_apply.applied(e, obj)
            links = _upsert_links(ctx, [(e, obj) for e, obj in done if not undo_apply.is_undo(e)])
            qbo_ids: dict[tuple[str, str | None], str] = {(lk.kind, lk.work_id): lk.qbo_id for lk in links}
            _bulk_insert(AuditEntry, [
                {"run_id": ctx.run_id, "at": now, "action": (e.meta or {}).get("audit_action", e.operation),
                 "kind": e.kind, "work_id": e.work_id,
                 "qbo_id": qbo_ids.get((e.kind, e.work_id)) or (e.meta or {}).get("qbo_id"),
                 "before": (e.meta or {}).get("before"),
                 "after": (e.meta or {}).get("after", getattr(e, "payload_json", None) or e.payload),
                 "message": (e.meta or {}).get("message", "")}
                for e, _ in done
            ])
            done_ids = [e.id for e, _ in done]
            database.execute_sql(
                'UPDATE "sync_outbox" SET "state" = ?, "done_at" = ?, "last_error" = NULL, "attempts" = "attempts" + 1 '
                f'WHERE "id" IN ({", ".join("?" * len(done_ids))})', ("done", _dt_value(now), *done_ids))
            for kind in {e.kind for e, _ in done}:
                ids = [e.work_id for e, _ in done if e.kind == kind and e.work_id is not None]
                known = ctx.state.open_problems.get(kind)
                if known is None or any(w in known for w in ids):  # skip the statement when none is open
                    problems.close_problems(kind, ids)
            after_commit += _prove_totals(ctx, done)
            after_commit = [*links, *after_commit]
        batch.state, batch.done_at = "done", now
        batch.attempts += 1
        database.execute_sql('UPDATE "sync_batch" SET "state" = ?, "done_at" = ?, "attempts" = "attempts" + 1 '
                             'WHERE "id" = ?', ("done", _dt_value(now), batch.id))
    _notify(ctx, after_commit)
    if ctx.state.write_listeners:
        retried = {id(e) for e in stale}
        answered = [(oc.entry.kind, oc.entry.work_id) for oc in outcomes
                    if oc.entry.work_id is not None and id(oc.entry) not in retried]
        stale_keys = [(e.kind, e.work_id or "") for e in stale]
        for listener in ctx.state.write_listeners:
            listener(answered, stale_keys)
    return stale


def _prove_totals(ctx: RunContext, done: list[tuple[OutboxEntry, dict]]) -> list[_AfterCommit]:
    """The proof after every write that carries ``meta["expect_total"]`` (invoices; credits and
    refunds may use it too): QuickBooks' ``TotalAmt`` from the write's own response against Work's
    total. A difference of one cent opens the record's one problem, kept under the fingerprint that
    was sent, so an unchanged record is not re-sent on every run (the record stays linked: it *is*
    in QuickBooks, with another total)."""
    out: list[_AfterCommit] = []
    for e, obj in done:
        expect = (e.meta or {}).get("expect_total")
        if not expect or e.operation not in ("create", "update") or e.work_id is None:
            continue
        got = Decimal(str(obj.get("TotalAmt", 0)))
        want = Decimal(str(expect["amount"]))
        if amounts.cents(got) == amounts.cents(want):
            continue
        meta = e.meta or {}
        err = amounts.total_mismatch(expect.get("name") or meta.get("label") or e.work_id, got, want,
                                     likely=expect.get("likely", ""),
                                     todo=expect.get("todo", ""), what=expect.get("what", "invoice"))
        p = problems.open_problem(e.kind, e.work_id, err, run_id=ctx.run_id, qbo_id=str(obj.get("Id") or ""),
                                  extra={"fingerprint": meta.get("fingerprint"), "record": meta.get("label"),
                                         "work_updated_at": meta.get("work_updated_at"), "sent": True})
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------------
# Persist and send


def _persist(ctx: RunContext, changes: list[Change], *, mode: str, supersedes: OutboxEntry | None = None
             ) -> tuple[Batch, list[OutboxEntry]]:
    """Commit the batch and its operations before anything is sent (step 1 of exactly once).
    ``supersedes``: a stale entry this batch re-sends; it is closed (failed, 5010) in the same
    transaction, so exactly one of the two is ever open."""
    rid = new_requestid()
    now = utcnow()
    with database.atomic():
        if supersedes is not None:
            OutboxEntry.update(state="failed").where(OutboxEntry.id == supersedes.id).execute()
            supersedes.state = "failed"
        batch_row: dict[str, Any] = {"requestid": rid, "run_id": ctx.run_id, "composition": [], "mode": mode,
                                     "state": "pending", "attempts": 0, "created_at": now}
        batch = _instance(Batch, {"id": _bulk_insert(Batch, [batch_row]), **batch_row})
        rows = []
        for pos, ch in enumerate(changes, start=1):
            meta = dict(ch.meta)
            meta.setdefault("label", ch.label)
            if ch.qbo_id is not None:
                meta.setdefault("qbo_id", ch.qbo_id)
            rows.append({
                "run_id": ctx.run_id, "kind": ch.kind, "work_id": str(ch.work_id) if ch.work_id is not None else None,
                "operation": ch.action, "entity": ch.entity, "payload": ch.payload or {},
                "requestid": rid if mode == "single" else f"{rid}-{pos}", "batch_id": batch.id,
                "batch_position": pos, "state": "pending", "attempts": 0, "meta": meta, "created_at": now,
            })
        # The payload's JSON text is made once: the audit row of the answer stores the same text.
        texts = [_Json(OutboxEntry.payload.db_value(row["payload"])) for row in rows]
        _bulk_insert(OutboxEntry, [{**row, "payload": text} for row, text in zip(rows, texts, strict=True)])
        ids = [int(r[0]) for r in database.execute_sql(
            'SELECT "id" FROM "sync_outbox" WHERE "batch_id" = ? ORDER BY "batch_position"', (batch.id,))]
        entries = [_instance(OutboxEntry, {"id": i, **row}) for i, row in zip(ids, rows, strict=True)]
        for e, text in zip(entries, texts, strict=True):
            e.payload_json = text
        batch.composition = [[str(e.batch_position), e.id] for e in entries]
        _bulk_update(Batch, [(batch.id, {"composition": batch.composition})])
    return batch, entries


def _instance(model: Any, data: dict[str, Any]) -> Any:
    """A model instance of a row just written, without peewee setting each field one at a time
    (``Model(**row)`` costs a descriptor call per field: 15 per outbox entry, 40,000 entries)."""
    obj = model(__no_default__=True)
    obj.__data__ = data
    return obj


def _send(qbo: QboApi, batch: Batch, entries: list[OutboxEntry]) -> list[_Outcome]:
    """HTTP only (runs on a worker thread). Raises for transport/fatal errors; per-record QuickBooks
    faults come back as outcomes."""
    if batch.mode == "single":
        (e,) = entries
        body = e.payload
        try:
            if e.operation == "create":
                obj = qbo.create(e.entity, body, batch.requestid)
            elif e.operation == "update":
                obj = qbo.update(e.entity, body, batch.requestid, sparse=bool(body.get("sparse", False)))
            elif e.operation == "void":
                obj = qbo.void(e.entity, body["Id"], body["SyncToken"], batch.requestid)
            elif e.operation == "delete":
                obj = qbo.delete(e.entity, body["Id"], body["SyncToken"], batch.requestid)
            else:  # pragma: no cover - planner bug
                raise ValueError(f"unknown operation {e.operation}")
        except StaleObject as exc:  # transient, but only a re-read fixes it: handled per record
            return [_Outcome(e, None, exc)]
        except QuickBooksError as exc:
            if exc.fatal or exc.transient:
                raise
            return [_Outcome(e, None, exc)]
        if not isinstance(obj, dict) or not obj:
            obj = {"Id": body.get("Id"), "SyncToken": body.get("SyncToken")}
        return [_Outcome(e, obj, None)]

    ops = [BatchOp(str(e.batch_position), e.operation, e.entity, e.payload) for e in entries]
    try:
        results = {str(r.bid): r for r in qbo.batch(ops, batch.requestid)}
    except StaleObject as exc:
        return [_Outcome(e, None, exc) for e in entries]
    except QuickBooksError as exc:
        if exc.fatal or exc.transient:
            raise
        # QuickBooks refused the request as a whole: every operation in it failed for that reason.
        # Recording that (rather than stopping) keeps a replay from hitting the same wall forever.
        return [_Outcome(e, None, exc) for e in entries]
    out = []
    for e in entries:
        r = results.get(str(e.batch_position))
        if r is None:
            out.append(_Outcome(e, None, QuickBooksError("QuickBooks did not answer for this record.")))
        else:
            out.append(_Outcome(e, r.obj, r.error))
    return out


def _mark_sent(batch: Batch) -> None:
    if batch.state == "pending":
        database.execute_sql('UPDATE "sync_batch" SET "state" = ? WHERE "id" = ?', ("sent", batch.id))


def _entries_of(batch: Batch) -> list[OutboxEntry]:
    ids = [int(oid) for _, oid in batch.composition]
    by_id = {e.id: e for e in OutboxEntry.select().where(OutboxEntry.id.in_(ids))}
    return [by_id[i] for i in ids]


def _modes(changes: Iterable[Change]) -> Iterator[tuple[str, list[Change]]]:
    """Chunk writes as they come: creates, updates and deletes in batches of ≤ 30 (Intuit's batch
    operations are create, update and delete); voids one by one (operation-specific endpoints); a
    chunk of one goes as a single request (cheaper in the 40-batches-a-minute budget). Undoing a run
    is mostly deletes: one at a time it took 178 requests for the practice company's 178."""
    buf: list[Change] = []
    for c in changes:
        if c.action in ("create", "update", "delete"):
            buf.append(c)
            if len(buf) == BATCH_LIMIT:
                yield "batch", buf
                buf = []
        else:
            yield "single", [c]
    if buf:
        yield ("batch" if len(buf) > 1 else "single"), buf


def submit(ctx: RunContext, changes: Iterable[Change], *, phase: str | None = None,
           total: int | Callable[[], int] | None = None, done: int = 0) -> None:
    """Persist → send → apply every write change, several batches in flight, stale updates retried.

    ``changes`` may be a generator: batches go out while the planner is still producing the rest, so
    planning (CPU) overlaps with waiting for QuickBooks. ``total``/``done`` feed the progress shown
    (``total`` may be a callable: a streamed phase's count of records read so far).
    Transport failures that outlive the connector's retries propagate (the run stops; the batch stays
    unfinished and the next run replays it). Fatal errors propagate likewise.
    """
    pending = _modes(c for c in changes if c.action in WRITE_ACTIONS)
    nxt = next(pending, None)
    if nxt is None:
        return
    phase_name = phase or nxt[1][0].meta.get("phase", nxt[1][0].kind)
    done_n = done
    stale_all: list[OutboxEntry] = []
    workers = max(1, min(ctx.concurrency, 10))
    with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qbo-send") as pool:
        inflight: dict[cf.Future, tuple[Batch, list[OutboxEntry]]] = {}
        error: BaseException | None = None
        while (nxt is not None or inflight) and error is None:
            while nxt is not None and len(inflight) < workers and error is None:
                try:
                    ctx.check_cancel()
                except Cancelled as exc:  # stop sending; what is in flight is still applied below
                    error = exc
                    break
                mode, chunk = nxt
                batch, entries = _persist(ctx, chunk, mode=mode)
                _mark_sent(batch)
                inflight[pool.submit(_send, ctx.qbo, batch, entries)] = (batch, entries)
                try:
                    nxt = next(pending, None)
                except BaseException as exc:  # the planner failed: stop, but apply what is in flight
                    error, nxt = exc, None
            if not inflight:
                break
            finished, _ = cf.wait(list(inflight), return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                batch, entries = inflight.pop(fut)
                try:
                    outcomes = fut.result()
                except BaseException as exc:
                    error = error or exc
                    continue
                stale_all += _apply(ctx, batch, outcomes)
                done_n += len(entries)
                ctx.observer.phase(phase_name, done_n, max((total() if callable(total) else total) or 0, done_n))
        # Drain what is in flight so their responses are applied, not left for a replay.
        for fut in cf.as_completed(list(inflight)):
            batch, entries = inflight.pop(fut)
            try:
                stale_all += _apply(ctx, batch, fut.result())
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error
    if stale_all:
        _retry_stale(ctx, stale_all)


def _stale_policy(ctx: RunContext, entry: OutboxEntry) -> StalePolicy | None:
    """The flow policy that governs a 5010 on this entry, if any (``ctx.stale_policies``)."""
    return next((p for p in ctx.stale_policies if p.governs(entry)), None)


def _retry_stale(ctx: RunContext, entries: list[OutboxEntry]) -> None:
    """5010: someone changed the record in QBO since we read it. Re-read it and take the current
    SyncToken. A write no flow policy governs (one-way: Work owns what it sends) goes out again with
    the same body; a governed one (a two-way customer update, :mod:`~qbosync_desktop.sync.clients.stale`)
    goes out again only when its policy says so, with the meta the policy returns, else the policy
    has deferred it. A re-send is a new outbox entry with a new requestid, persisted before it is
    sent; a second 5010 in a row becomes a problem (ungoverned) or is the policy's to decide."""
    for e in entries:
        body = dict(e.payload)
        meta = dict(e.meta or {})
        try:
            current = ctx.qbo.get(e.entity, body["Id"])
        except QuickBooksError as exc:
            if exc.fatal or exc.transient:
                raise  # the entry stays "stale": the next run re-reads it
            _stale_problem(ctx, e, exc)
            continue
        policy = _stale_policy(ctx, e)
        if policy is not None:
            resend = policy.resend_meta(ctx, e, meta, current)
            if resend is None:  # deferred: the policy recorded it
                continue
            meta = resend
        body["SyncToken"] = current.get("SyncToken")
        if e.operation == "update" and not body.get("sparse") and theirs.applies(e.entity):
            # a full update: what the person changed meanwhile (the reason for the 5010) is kept
            before = meta.get("before")
            meta["carried"] = theirs.carry_over(e.entity, body, current, before if isinstance(before, dict) else None,
                                                meta.get("carried") or ())
        meta["stale_retry"] = True
        ch = Change(kind=e.kind, work_id=e.work_id, qbo_id=body["Id"], action=e.operation, payload=body,
                    entity=e.entity, label=meta.get("label", ""), meta=meta)
        batch, entries_ = _persist(ctx, [ch], mode="single", supersedes=e)
        _mark_sent(batch)
        outcomes = _send(ctx.qbo, batch, entries_)
        # A second 5010 in a row: stale_retry is set, so _apply does not loop.
        again = _apply(ctx, batch, outcomes)
        if again:
            _retry_stale(ctx, again)


def _stale_problem(ctx: RunContext, e: OutboxEntry, err: QuickBooksError) -> None:
    """The re-read itself was refused (e.g. the record was deleted in QuickBooks): a problem."""
    meta = e.meta or {}
    phase = meta.get("phase", e.kind)
    with database.atomic():
        OutboxEntry.update(state="failed", last_error=err.to_dict()).where(OutboxEntry.id == e.id).execute()
        p = problems.open_problem(e.kind, e.work_id or "", err, run_id=ctx.run_id, qbo_id=meta.get("qbo_id"),
                                  extra={"fingerprint": meta.get("fingerprint"), "record": meta.get("label"),
                                         "sent": True})
    ctx.count(phase, "failed")
    ctx.observer.problem(problems.problem_dict(p))
    ctx.observer.record(phase, e.work_id, "failed", err.message)


def replay_unfinished(ctx: RunContext) -> int:
    """Re-send every unfinished batch identically (same requestid, bIds, order, bodies) and apply the
    answers. Runs first in every run. Returns the number of batches replayed."""
    stale = list(OutboxEntry.select().where(OutboxEntry.state == STALE).order_by(OutboxEntry.id))
    if stale:  # a 5010 applied, then the process stopped before the re-read: finish that first
        log.info("Handling %d stale update(s) left by an interrupted run", len(stale))
        _retry_stale(ctx, stale)
    batches = list(Batch.select().where(Batch.state != "done").order_by(Batch.id))
    for batch in batches:
        ctx.check_cancel()
        entries = _entries_of(batch)
        log.info("Replaying unfinished batch %s (%d operations, requestid %s)", batch.id, len(entries), batch.requestid)
        _mark_sent(batch)
        try:
            outcomes = _send(ctx.qbo, batch, entries)
        except QboSyncError:
            raise
        stale = _apply(ctx, batch, outcomes)
        if stale:
            _retry_stale(ctx, stale)
    return len(batches)


# ---------------------------------------------------------------------------------------------------
# Non-write changes (links, skips, failures) - applied locally, one transaction per phase


#: Links, skips and failures recorded per transaction while a phase streams.
LOCAL_CHUNK = 500


def apply_local(ctx: RunContext, phase: str, changes: list[Change]) -> None:
    """Record links, skips and planned failures. No QBO request is made here."""
    after: list[_AfterCommit] = []
    # Skips are many (an initial sync's unchanged or left-out records): their audit rows and problem
    # closes are written together, before the next change of another kind and at the end.
    skip_audits: list[dict[str, Any]] = []
    skip_closes: dict[str, list[str]] = {}

    def flush() -> None:
        _bulk_insert(AuditEntry, skip_audits)
        for kind, ids in skip_closes.items():
            problems.close_problems(kind, ids)
        skip_audits.clear()
        skip_closes.clear()

    with database.atomic():
        for ch in changes:
            if ch.action != "skip" and (skip_audits or skip_closes):
                flush()
            if ch.action == "link":
                wid = str(ch.work_id)
                link = Link.get_or_none((Link.kind == ch.kind) & (Link.work_id == wid))
                if link is None:
                    link = Link.create(
                        kind=ch.kind, work_id=wid, qbo_id=str(ch.qbo_id),
                        qbo_sync_token=ch.meta.get("sync_token"),
                        work_version=str(ch.meta["work_version"]) if ch.meta.get("work_version") is not None else None,
                        fingerprint=ch.meta.get("fingerprint"), origin=ch.meta.get("origin", "linked_by_name"),
                        synced=ch.meta.get("synced"), updated_at=utcnow(),
                    )
                audit.record("link", ch.kind, wid, ch.qbo_id, run_id=ctx.run_id, before=ch.meta.get("before"),
                              after=ch.meta.get("after"), message=ch.reason)
                problems.close_problem(ch.kind, wid)
                ctx.count(phase, "linked")
                after.append(link)
                after.append(_Recorded(phase, wid, "linked", ch.reason))
            elif ch.action == "skip":
                if ch.meta.get("held"):  # held after an undo: counted on every run, audited by the undo
                    ctx.count_skip(phase, "held", "held")
                    after.append(_Recorded(phase, ch.work_id, "held", ch.reason))
                elif ch.meta.get("waiting"):  # match review has not decided: counted on every run
                    ctx.count_skip(phase, "match_review", None)
                elif ch.meta.get("audit", False):
                    skip_audits.append({
                        "run_id": ctx.run_id, "at": utcnow(), "action": "skip", "kind": ch.kind,
                        "work_id": str(ch.work_id) if ch.work_id is not None else None,
                        "qbo_id": str(ch.qbo_id) if ch.qbo_id is not None else None,
                        "before": None, "after": None, "message": ch.reason})
                    ctx.count_skip(phase, ch.meta.get("skip_reason"))
                    after.append(_Recorded(phase, ch.work_id, "skipped", ch.reason))
                if ch.meta.get("close_problem") and ch.work_id is not None:
                    skip_closes.setdefault(ch.kind, []).append(str(ch.work_id))
            elif ch.action == "fail" and ch.problem is not None and ch.work_id is not None:
                p = problems.open_problem(
                    ch.kind, str(ch.work_id), ch.problem, run_id=ctx.run_id, qbo_id=ch.qbo_id,
                    extra={"work_updated_at": ch.meta.get("work_updated_at"), "record": ch.label,
                           "fingerprint": ch.meta.get("fingerprint")},
                )
                if p.last_seen_run == ctx.run_id:
                    # New or changed in this run; one seen again unchanged is not news (no write either).
                    ctx.count(phase, "failed")
                    after.append(p)
                    after.append(_Recorded(phase, ch.work_id, "failed", ch.problem.message))
        flush()
    _notify(ctx, after)


def apply_changes(ctx: RunContext, phase: str, changes: Iterable[Change], *,
                  total: int | Callable[[], int] | None = None) -> None:
    """A phase's standard ``apply``: writes go out as they are planned (``changes`` may be a
    generator); links, skips and failures are recorded locally, one transaction per
    :data:`LOCAL_CHUNK` of them and one for the rest at the end (no write of the same phase depends on
    them, and a streamed phase must not hold them all until it ends)."""
    local: list[Change] = []
    counted = [0]

    def writes() -> Iterator[Change]:
        for ch in changes:
            ch.meta.setdefault("phase", phase)
            counted[0] += 1
            if ch.action in WRITE_ACTIONS:
                yield ch
            else:
                local.append(ch)
                if len(local) >= LOCAL_CHUNK:
                    apply_local(ctx, phase, local)
                    local.clear()

    try:
        submit(ctx, writes(), phase=phase, total=total)
        apply_local(ctx, phase, local)
    finally:
        # Problems were opened/closed: later phases must not plan against a stale copy.
        ctx.state.open_problems.clear()
