"""A run that writes QuickBooks customers reads them back before it ends.

Otherwise the next sync's CDC window would hold the run's own writes (after a large initial sync,
thousands: over CDC's 1,000-object cap, so a sync with no changes would cost several requests).
"""

from __future__ import annotations

from typing import Any

from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync import cdc
from qbosync_desktop.sync.engine import Observer, SyncEngine

EMAIL = "front.desk@example.com"


class EditsACreatedCustomer(Observer):
    """Once the clients phase has created the customers, a person edits one of them in QuickBooks."""

    def __init__(self, practice: Any) -> None:
        self.practice = practice
        self.qbo_id: str | None = None
        self.updated: list[str | None] = []

    def phase(self, entity: str, done: int, total: int) -> None:
        if entity == "clients" and total and done == total and self.qbo_id is None:
            sb = self.practice.qbo
            newest = max(sb.store.all("Customer"), key=lambda c: (c["MetaData"]["LastUpdatedTime"], int(c["Id"])))
            self.qbo_id = str(newest["Id"])
            sb.user.update_customer(self.qbo_id, PrimaryEmailAddr={"Address": EMAIL})

    def record(self, entity: str, work_id: str | None, outcome: str, message: str) -> None:
        if entity == "customers" and outcome == "updated" and self.qbo_id is not None:
            self.updated.append(work_id)  # a merge after the edit: the settle step's


def test_the_customer_cursor_ends_past_the_runs_own_writes(configured_workspace, practice):
    sb = practice.qbo
    sb.clock.advance(120)  # the run's writes are clearly later than the seeded customers
    summary = SyncEngine(configured_workspace).run(initial=True)
    assert summary.state == "done"
    assert summary.counts["clients"]["created"] > 0

    cursor = cdc.parse_time(Cursor.get(Cursor.name == cdc.cursor_name("Customer")).value)
    newest = max(cdc.parse_time(c["MetaData"]["LastUpdatedTime"]) for c in sb.store.all("Customer"))
    assert cursor >= newest.replace(microsecond=0)

    # The next sync finds nothing to merge and makes one request (the CDC read, empty).
    again = SyncEngine(configured_workspace).run()
    assert again.state == "done" and again.qbo_requests <= 1
    assert not any(n for counts in again.counts.values() for n in counts.values()), again.counts


def test_an_edit_made_in_quickbooks_during_the_run_reaches_work_in_that_run(configured_workspace, practice):
    """The read-back keeps only what it has something to do with (issue 18: a page at a time, the
    customers the run wrote and that nobody changed since are let go): one the person changed after
    the run wrote it is merged into Work by that very run."""
    practice.qbo.clock.advance(120)
    edits = EditsACreatedCustomer(practice)
    summary = SyncEngine(configured_workspace).run(initial=True, observer=edits)
    assert summary.state == "done" and summary.counts["clients"]["created"] > 1
    assert edits.qbo_id is not None
    link = Link.get((Link.kind == "client") & (Link.qbo_id == edits.qbo_id))
    work = next(c for c in practice.work.store.all("clients") if str(c["id"]) == link.work_id)
    assert work["email"] == EMAIL
    assert edits.updated == [link.work_id]  # that one, not every customer read back

    again = SyncEngine(configured_workspace).run()
    assert again.state == "done" and again.qbo_requests <= 1
    assert not any(n for counts in again.counts.values() for n in counts.values()), again.counts
