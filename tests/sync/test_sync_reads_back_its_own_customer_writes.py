"""A run that writes QuickBooks customers reads them back before it ends.

Otherwise the next sync's CDC window would hold the run's own writes (after a large initial sync,
thousands: over CDC's 1,000-object cap, so a sync with no changes would cost several requests).
"""

from __future__ import annotations

from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync import cdc
from qbosync_desktop.sync.engine import SyncEngine


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
