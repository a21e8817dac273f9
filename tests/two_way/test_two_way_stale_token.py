"""Races with the person using QuickBooks while a sync runs: our customer update meets a stale
SyncToken (5010) because they edited the customer after our read and before our write.

A blind re-send with the new SyncToken would overwrite their edit without the conflict policy ever
seeing it. Instead (sync/stale.py): if they changed a field we write, nothing is sent, the outbox
entry is deferred and the next merge applies the policy to both changes; if they changed another
field, the update goes out at once and their change still reaches Work. Every QuickBooks write
request is counted: no intent is sent twice.

Edits are made through the practice servers' "as a person would" handles, at a precise phase of the
run (an Observer, as in test_two_way_concurrency.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.two_way import engine, qbo_customer, with_settings, work_client

from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.outbox import OutboxEntry
from qbosync_desktop.sync.context import Parts
from qbosync_desktop.sync.engine import Observer, SyncEngine

NAME = "Harbor View Apartments"  # a QuickBooks customer the first sync imported into Work
OTHER = "Hank Rivera"  # a Work client the first sync sent to QuickBooks
WORK_PHONE = "(206) 555-7001"
QBO_PHONE = "(206) 555-9002"
QBO_EMAIL = "leasing@harborview.example.com"


class EditsQuickBooksMeanwhile(Observer):
    """After the customers phase has read both sides (its plan) and before it writes (its apply), a
    person edits the customer in QuickBooks; and, optionally, the client in Work."""

    def __init__(self, practice: Any, qbo_id: str, fields: dict[str, Any], work_edit: tuple[str, dict] | None = None
                 ) -> None:
        self.practice, self.qbo_id, self.fields, self.work_edit = practice, qbo_id, fields, work_edit
        self.done = False
        self.records: list[tuple[str, str | None, str, str]] = []

    def phase(self, entity: str, done: int, total: int) -> None:
        if entity == "customers" and not self.done:
            self.done = True
            if self.work_edit is not None:
                self.practice.work.user.edit_client(self.work_edit[0], **self.work_edit[1])
            self.practice.qbo.user.update_customer(self.qbo_id, **self.fields)

    def record(self, entity: str, work_id: str | None, outcome: str, message: str) -> None:
        self.records.append((entity, work_id, outcome, message))


class Writes:
    """QuickBooks write requests (single writes and batches) the sandbox received since creation."""

    def __init__(self, practice: Any) -> None:
        self.practice = practice
        self.start = self._now()

    def _now(self) -> int:
        stats = self.practice.qbo.stats
        return stats.get("write", 0) + stats.get("batch", 0)

    @property
    def count(self) -> int:
        return self._now() - self.start


def _entries(work_id: str, run_id: int | None = None) -> list[OutboxEntry]:
    q = OutboxEntry.select().where((OutboxEntry.kind == "client") & (OutboxEntry.work_id == work_id))
    if run_id is not None:
        q = q.where(OutboxEntry.run_id == run_id)
    return list(q.order_by(OutboxEntry.id))


def _phone(practice: Any) -> tuple[str, str]:
    """(Work's phone, QuickBooks' phone) of the raced customer."""
    return work_client(practice, NAME)["phone"], qbo_customer(practice, NAME)["PrimaryPhone"]["FreeFormNumber"]


@pytest.fixture
def enabled(clients_workspace, practice, shared_practice, memory_keyring):
    """After the first sync (run in the module's first test, restored in the others)."""
    eng = engine(clients_workspace)
    shared_practice.reach("clients-enabled", clients_workspace, memory_keyring, lambda: _first_sync(eng))
    return eng


def _first_sync(eng) -> None:
    assert eng.run(initial=True).ok


def _race(enabled, practice, qbo_edit: dict[str, Any]) -> tuple[str, EditsQuickBooksMeanwhile, Any, Writes]:
    """Work's phone changed before the run; ``qbo_edit`` is made in QuickBooks between our read and
    our write. Returns (Work id, observer, run summary, write counter started before the run)."""
    w, q = work_client(practice, NAME), qbo_customer(practice, NAME)
    practice.work.user.edit_client(w["id"], phone=WORK_PHONE)
    observer = EditsQuickBooksMeanwhile(practice, q["Id"], qbo_edit)
    writes = Writes(practice)
    summary = enabled.run(observer=observer)
    assert summary.ok and observer.done
    return w["id"], observer, summary, writes


def _race_same_field(enabled, practice) -> tuple[str, EditsQuickBooksMeanwhile, Any, Writes]:
    return _race(enabled, practice, {"PrimaryPhone": {"FreeFormNumber": QBO_PHONE}})


def _assert_deferred(wid: str, summary: Any, observer: EditsQuickBooksMeanwhile) -> OutboxEntry:
    """The 5010'd update was not sent again: deferred, with a plain message, audited, reported."""
    first = _entries(wid, summary.run_id)[0]
    assert first.state == "deferred" and first.payload["PrimaryPhone"]["FreeFormNumber"] == WORK_PHONE
    assert first.last_error["title"] == "Changed in QuickBooks during the sync"
    assert "changed the phone" in first.last_error["message"] and first.last_error["hint"]
    assert summary.counts["customers"]["deferred"] == 1
    (rec,) = [r for r in observer.records if r[2] == "deferred"]
    assert rec[1] == wid and "while the sync was running" in rec[3] and "did not overwrite" in rec[3]
    audit = AuditEntry.get((AuditEntry.action == "deferred") & (AuditEntry.work_id == wid))
    assert audit.after == {"quickbooks": {"phone": QBO_PHONE}, "not_sent": {"phone": WORK_PHONE}}
    return first


def test_ask_me_a_concurrent_edit_of_the_same_field_is_not_overwritten_and_becomes_a_conflict(
        enabled, clients_workspace, practice) -> None:
    with_settings(clients_workspace, conflict_policy="ask")
    wid, observer, summary, writes = _race_same_field(enabled, practice)

    _assert_deferred(wid, summary, observer)
    assert writes.count == 1  # the update QuickBooks refused with 5010 - and nothing after it
    assert [e.state for e in _entries(wid, summary.run_id)] == ["deferred"]
    assert _phone(practice) == (WORK_PHONE, QBO_PHONE)  # neither side overwritten

    writes = Writes(practice)
    assert enabled.run().ok  # the next sync: a conflict holding both values, still no write
    (conflict,) = [c for c in enabled.conflicts() if c["work_id"] == wid]
    assert (conflict["field"], conflict["work_value"], conflict["qbo_value"]) == ("phone", WORK_PHONE, QBO_PHONE)
    assert conflict["base_value"] == "(206) 555-0108"  # the value both sides had before
    assert writes.count == 0 and _phone(practice) == (WORK_PHONE, QBO_PHONE)

    enabled.resolve(conflict["id"], "work")  # the person decides: keep Work's
    writes = Writes(practice)
    assert enabled.run().ok
    assert _phone(practice) == (WORK_PHONE, WORK_PHONE) and writes.count == 1
    assert not [c for c in enabled.conflicts() if c["work_id"] == wid]


def test_work_wins_a_concurrent_edit_of_the_same_field_goes_through_the_policy(
        enabled, clients_workspace, practice) -> None:
    with_settings(clients_workspace, conflict_policy="work")
    wid, observer, summary, writes = _race_same_field(enabled, practice)

    first = _assert_deferred(wid, summary, observer)
    # Work's value was written by a new merge of both changes (the run reads back the customers it
    # wrote), as a new intent with QuickBooks' current SyncToken - not the refused body re-sent.
    entries = _entries(wid, summary.run_id)
    assert [e.state for e in entries] == ["deferred", "done"]
    merged = entries[1]
    assert not merged.meta.get("stale_retry") and merged.requestid != first.requestid
    assert merged.payload["SyncToken"] != first.payload["SyncToken"]
    assert writes.count == 2  # the 5010 and the merged write: one request per intent
    assert _phone(practice) == (WORK_PHONE, WORK_PHONE)
    assert not [c for c in enabled.conflicts() if c["work_id"] == wid]

    writes = Writes(practice)
    assert enabled.run().ok  # settled: the next sync writes nothing
    assert writes.count == 0 and _phone(practice) == (WORK_PHONE, WORK_PHONE)


def test_quickbooks_wins_a_concurrent_edit_of_the_same_field_stays_and_reaches_work(
        enabled, clients_workspace, practice) -> None:
    with_settings(clients_workspace, conflict_policy="quickbooks")
    wid, observer, summary, writes = _race_same_field(enabled, practice)

    _assert_deferred(wid, summary, observer)
    assert writes.count == 1 and [e.state for e in _entries(wid, summary.run_id)] == ["deferred"]
    assert _phone(practice) == (QBO_PHONE, QBO_PHONE)  # QuickBooks kept its value, Work got it
    assert not [c for c in enabled.conflicts() if c["work_id"] == wid]

    writes = Writes(practice)
    assert enabled.run().ok
    assert writes.count == 0 and _phone(practice) == (QBO_PHONE, QBO_PHONE)


def test_a_concurrent_edit_of_another_field_is_retried_at_once_and_both_edits_survive(
        enabled, clients_workspace, practice) -> None:
    with_settings(clients_workspace, conflict_policy="ask")
    wid, observer, summary, writes = _race(enabled, practice, {"PrimaryEmailAddr": {"Address": QBO_EMAIL}})

    entries = _entries(wid, summary.run_id)
    assert [e.state for e in entries] == ["failed", "done"]  # the 5010, then the same change re-sent once
    assert entries[0].last_error["details"]["code"] == "5010" and entries[1].meta["stale_retry"]
    assert entries[1].payload == {**entries[0].payload, "SyncToken": entries[1].payload["SyncToken"]}
    assert entries[1].requestid != entries[0].requestid
    assert writes.count == 2
    assert "deferred" not in summary.counts.get("customers", {})
    q2, w2 = qbo_customer(practice, NAME), work_client(practice, NAME)
    assert q2["PrimaryPhone"]["FreeFormNumber"] == WORK_PHONE  # ours landed in the same run
    assert q2["PrimaryEmailAddr"]["Address"] == QBO_EMAIL  # theirs survived in QuickBooks
    assert w2["email"] == QBO_EMAIL and w2["phone"] == WORK_PHONE  # ... and reached Work
    assert not [c for c in enabled.conflicts() if c["work_id"] == wid]

    writes = Writes(practice)
    assert enabled.run().ok
    assert writes.count == 0


def test_an_outbound_push_that_meets_a_concurrent_edit_is_merged_not_resent(
        enabled, clients_workspace, practice) -> None:
    """The outbound clients phase pushes a client Work changed after the merge read it; QuickBooks
    changed the same customer meanwhile. Its body carries every Work-owned field, so a blind re-send
    would overwrite the person's edit: it defers to the merge instead."""
    with_settings(clients_workspace, conflict_policy="ask")
    w, q = work_client(practice, NAME), qbo_customer(practice, NAME)
    # Another customer changed in QuickBooks, so the customers phase writes to Work and the outbound
    # phase reads Work's clients again (after the edit below) instead of using the run-start list.
    other = qbo_customer(practice, OTHER)
    practice.qbo.user.update_customer(other["Id"], PrimaryEmailAddr={"Address": "office@riveraelectric.example"})
    observer = EditsQuickBooksMeanwhile(practice, q["Id"], {"PrimaryPhone": {"FreeFormNumber": QBO_PHONE}},
                                        work_edit=(w["id"], {"phone": WORK_PHONE}))
    writes = Writes(practice)

    summary = enabled.run(observer=observer)

    assert summary.ok and observer.done
    entries = _entries(w["id"], summary.run_id)
    assert [(e.meta["phase"], e.state) for e in entries] == [("clients", "deferred")]
    assert writes.count == 1
    assert _phone(practice) == (WORK_PHONE, QBO_PHONE)
    (conflict,) = [c for c in enabled.conflicts() if c["work_id"] == w["id"]]
    assert (conflict["field"], conflict["work_value"], conflict["qbo_value"]) == ("phone", WORK_PHONE, QBO_PHONE)
    assert work_client(practice, OTHER)["email"] == "office@riveraelectric.example"

    writes = Writes(practice)
    assert enabled.run().ok
    assert writes.count == 0 and _phone(practice) == (WORK_PHONE, QBO_PHONE)


class ProcessDied(BaseException):
    """Not an Exception: nothing in the engine may catch it, exactly like SIGKILL."""


class DiesOnReread:
    """The real connector, except that the process dies when the 5010'd customer is re-read."""

    def __init__(self, qbo: Any, qbo_id: str) -> None:
        self._qbo, self.qbo_id = qbo, qbo_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._qbo, name)

    def get(self, entity: str, id: str) -> Any:
        if entity == "Customer" and str(id) == self.qbo_id:
            raise ProcessDied()
        return self._qbo.get(entity, id)


def test_a_crash_between_the_5010_and_the_reread_neither_loses_nor_overwrites(
        enabled, clients_workspace, practice) -> None:
    ws = clients_workspace
    with_settings(ws, conflict_policy="ask")
    w, q = work_client(practice, NAME), qbo_customer(practice, NAME)
    practice.work.user.edit_client(w["id"], phone=WORK_PHONE)
    observer = EditsQuickBooksMeanwhile(practice, q["Id"], {"PrimaryPhone": {"FreeFormNumber": QBO_PHONE}})
    writes = Writes(practice)
    dying = SyncEngine(Parts(DiesOnReread(ws.qbo_client(), q["Id"]), ws.work_client(), ws.settings(), ws.paths))
    with pytest.raises(ProcessDied):
        dying.run(observer=observer)
    assert [e.state for e in _entries(w["id"])[-1:]] == ["stale"]  # the intent is still on record

    assert enabled.run().ok  # the next run finishes it first: re-read, deferred, merged

    assert [e.state for e in _entries(w["id"])[-1:]] == ["deferred"]
    assert writes.count == 1
    assert _phone(practice) == (WORK_PHONE, QBO_PHONE)
    (conflict,) = [c for c in enabled.conflicts() if c["work_id"] == w["id"]]
    assert (conflict["work_value"], conflict["qbo_value"]) == (WORK_PHONE, QBO_PHONE)
