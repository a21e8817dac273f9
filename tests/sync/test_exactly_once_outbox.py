"""Exactly once: lost responses, and a crash before or after a batch was sent, never duplicate a record.

The crash is simulated by a QBO client wrapper that raises a BaseException (like the process dying)
either before the request leaves or right after QuickBooks committed it; the next engine - built on
the real connector - must replay the unfinished batch with the same requestid and composition, and
the sandbox then answers with the original response instead of writing again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import Batch, OutboxEntry
from qbosync_desktop.store.models.runs import Run
from qbosync_desktop.sync.context import Parts
from qbosync_desktop.sync.engine import SyncEngine


class ProcessDied(BaseException):
    """Not an Exception: nothing in the engine may catch it, exactly like SIGKILL."""


class DyingQbo:
    """Delegates to the real client; the first write dies ``when`` = "before" or "after" sending."""

    def __init__(self, qbo: Any, when: str) -> None:
        self._qbo, self.when, self.died = qbo, when, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._qbo, name)

    def _write(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.died:
            raise ProcessDied()
        self.died = True
        if self.when == "after":
            getattr(self._qbo, name)(*args, **kwargs)
        raise ProcessDied()

    def batch(self, *a: Any, **k: Any) -> Any:
        return self._write("batch", *a, **k)

    def create(self, *a: Any, **k: Any) -> Any:
        return self._write("create", *a, **k)

    def update(self, *a: Any, **k: Any) -> Any:
        return self._write("update", *a, **k)


def _assert_each_record_once(practice) -> None:
    store = practice.qbo.store
    names = Counter(" ".join(r["DisplayName"].split()).casefold() for e in ("Customer", "Vendor") for r in store.all(e))
    assert max(names.values()) == 1, [n for n, c in names.items() if c > 1]
    for entity in ("Invoice", "Bill"):
        docs = Counter(r.get("DocNumber") for r in store.all(entity) if r.get("DocNumber"))
        assert not [d for d, c in docs.items() if c > 1], entity
    for kind, entity in (("client", "Customer"), ("invoice", "Invoice"), ("payment", "Payment"), ("bill", "Bill")):
        qbo_ids = {str(r["Id"]) for r in store.all(entity)}
        linked = [lk.qbo_id for lk in Link.select().where(Link.kind == kind)]
        assert len(linked) == len(set(linked)) and set(linked) <= qbo_ids, kind


@pytest.mark.parametrize("when", ["before", "after"])
def test_batch_unfinished_at_a_crash_is_replayed_identically_once(configured_workspace, practice, when):
    ws = configured_workspace
    ws.mark_enabled()
    dying = DyingQbo(ws.qbo_client(), when)
    with pytest.raises(ProcessDied):
        SyncEngine(Parts(dying, ws.work_client(), ws.settings(), ws.paths)).run(initial=True)
    unfinished = list(Batch.select().where(Batch.state != "done"))
    assert unfinished, "the batch that died is still in the outbox"
    composition = {b.id: (b.requestid, b.composition) for b in unfinished}
    writes_before = practice.qbo.stats.get("write", 0) + practice.qbo.stats.get("batch", 0)
    replays_before = practice.qbo.stats.get("replays", 0)

    summary = SyncEngine(ws).run(initial=True)
    assert summary.state == "done", summary.error
    for b in Batch.select().where(Batch.id.in_(list(composition))):
        assert b.state == "done" and (b.requestid, b.composition) == composition[b.id]
        assert all(e.state in ("done", "failed") for e in OutboxEntry.select().where(OutboxEntry.batch_id == b.id))
    if when == "after":
        assert practice.qbo.stats.get("replays", 0) > replays_before, "QBO answered the repeated requestid"
    assert practice.qbo.stats.get("write", 0) + practice.qbo.stats.get("batch", 0) > writes_before
    first, second = Run.select().order_by(Run.id)
    assert (first.state, first.error["type"], second.state) == ("failed", "Interrupted", "done")
    _assert_each_record_once(practice)
    # and nothing is left to do
    again = SyncEngine(ws).run()
    assert not any(n for by in again.counts.values() for k, n in by.items() if k in ("created", "linked"))


def test_lost_responses_are_retried_with_the_same_requestid_and_write_once(configured_workspace, practice):
    ws = configured_workspace
    ws.mark_enabled()
    practice.qbo.set_faults(lost_response_rate=0.3)
    eng = SyncEngine(ws)
    states = []
    for _ in range(6):  # a run that loses too many answers in a row stops; the next one resumes
        states.append(eng.run(initial=True).state)
        if states[-1] == "done":
            break
    practice.qbo.set_faults(lost_response_rate=0.0)
    assert states[-1] == "done", states
    assert practice.qbo.stats.get("lost_responses", 0) > 0
    assert practice.qbo.stats.get("replays", 0) > 0
    assert not Batch.select().where(Batch.state != "done").exists()
    _assert_each_record_once(practice)


def test_finished_outbox_rows_are_pruned_after_30_days_unfinished_never(db):
    import datetime as dt

    from qbosync_desktop.store.models.base import utcnow
    from qbosync_desktop.sync import outbox

    old = utcnow() - dt.timedelta(days=31)
    for state, done_at, rid in (("done", old, "a" * 32), ("done", utcnow(), "b" * 32), ("sent", None, "c" * 32)):
        b = Batch.create(requestid=rid, composition=[], state=state, done_at=done_at, created_at=old)
        OutboxEntry.create(kind="client", work_id=rid[:3], operation="create", entity="Customer", payload={},
                           requestid=rid, batch_id=b.id, batch_position=1, state="done" if done_at else "pending")
    assert outbox.prune() == 1
    assert sorted(b.requestid[0] for b in Batch.select()) == ["b", "c"]
    assert OutboxEntry.select().count() == 2


def test_a_link_made_outside_the_run_does_not_break_applying_a_batch(db):
    """If a link appears in the database after the run loaded its cache (a match accepted meanwhile),
    applying the batch falls back to row-by-row instead of failing the whole batch."""
    import threading

    from qbosync_desktop.sync import outbox
    from qbosync_desktop.sync.context import RunContext
    from qbosync_desktop.sync.engine import Observer

    ctx = RunContext(qbo=None, work=None, settings=None, observer=Observer(), cancel=threading.Event())
    assert ctx.link("client", "cl_1") is None  # cache loaded: no link yet
    Link.create(kind="client", work_id="cl_1", qbo_id="77", origin="matched")
    e1 = OutboxEntry(kind="client", work_id="cl_1", operation="create", entity="Customer",
                     payload={"DisplayName": "A"}, meta={"fingerprint": "f1"})
    e2 = OutboxEntry(kind="client", work_id="cl_2", operation="create", entity="Customer",
                     payload={"DisplayName": "B"}, meta={"fingerprint": "f2"})
    links = outbox._upsert_links(ctx, [(e1, {"Id": "77", "SyncToken": "0"}), (e2, {"Id": "78", "SyncToken": "0"})])
    assert {lk.work_id for lk in links} == {"cl_1", "cl_2"}
    assert Link.get(kind="client", work_id="cl_1").fingerprint == "f1"
    assert Link.get(kind="client", work_id="cl_2").qbo_id == "78"
