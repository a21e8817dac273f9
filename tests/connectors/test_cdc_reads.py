"""QuickBooks changes are read with one CDC request per sync; a gap over 30 days falls back to a
``MetaData.LastUpdatedTime`` query and still finds everything (over HTTP against the practice server)."""

from __future__ import annotations

import datetime as dt

from fixtures.two_way import engine, qbo_customer, work_client

from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync import cdc


def _stats(practice) -> dict[str, int]:
    return dict(practice.qbo.stats)


def _delta(after: dict[str, int], before: dict[str, int], key: str) -> int:
    return after.get(key, 0) - before.get(key, 0)


def test_one_cdc_request_per_sync(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    assert eng.run().ok  # reads back what the first run created
    q = qbo_customer(practice, "Sunrise Yoga Studio")
    practice.qbo.user.update_customer(q["Id"], PrimaryEmailAddr={"Address": "hello@sunriseyoga.example.com"})

    before = _stats(practice)
    summary = eng.run()
    after = _stats(practice)

    assert summary.ok
    assert work_client(practice, "Sunrise Yoga Studio")["email"] == "hello@sunriseyoga.example.com"
    assert _delta(after, before, "cdc") == 1
    assert _delta(after, before, "query") == 0
    # and a sync with nothing new costs that one request and nothing else
    before = _stats(practice)
    summary = eng.run()
    assert summary.qbo_requests <= 2
    assert _delta(_stats(practice), before, "requests") <= 2


def test_a_gap_over_30_days_falls_back_to_a_query(clients_workspace, practice) -> None:
    eng = engine(clients_workspace)
    assert eng.run(initial=True).ok
    q = qbo_customer(practice, "Blue Door Cafe")
    practice.qbo.user.update_customer(q["Id"], PrimaryPhone={"FreeFormNumber": "(503) 555-9999"})
    old = cdc.format_time(dt.datetime.utcnow() - dt.timedelta(days=40))
    Cursor.update(value=old).where(Cursor.name == cdc.cursor_name("Customer")).execute()

    before = _stats(practice)
    assert eng.run().ok
    after = _stats(practice)

    assert _delta(after, before, "cdc") == 0
    assert _delta(after, before, "query") >= 1
    assert work_client(practice, "Blue Door Cafe")["phone"] == "(503) 555-9999"
    # the cursor is recent again: the next sync is back on CDC
    before = _stats(practice)
    assert eng.run().ok
    assert _delta(_stats(practice), before, "cdc") == 1


def test_the_cursor_is_quickbooks_time_and_never_moves_back() -> None:
    now = dt.datetime(2026, 5, 1, 12, 0, 0)
    rows = [{"MetaData": {"LastUpdatedTime": "2026-05-01T04:59:58-07:00"}},
            {"MetaData": {"LastUpdatedTime": "2026-05-01T11:50:00Z"}}]
    assert cdc.next_cursor(rows, now - dt.timedelta(hours=1), now) == "2026-05-01T11:59:58Z"
    # nothing changed: the cursor follows our clock minus the margin, never going backwards
    assert cdc.next_cursor([], now - dt.timedelta(days=2), now) == cdc.format_time(now - cdc.CLOCK_MARGIN)
    assert cdc.next_cursor([], now - dt.timedelta(minutes=1), now) == cdc.format_time(now - dt.timedelta(minutes=1))
    # the cursor's own second, read again (changedSince is inclusive): once it is older than the
    # margin the cursor moves past it, or those records would come back on every sync for good
    second = [{"MetaData": {"LastUpdatedTime": "2026-05-01T11:30:00Z"}}]
    assert cdc.next_cursor(second, dt.datetime(2026, 5, 1, 11, 30), now) == cdc.format_time(now - cdc.CLOCK_MARGIN)
    assert cdc.next_cursor(second, dt.datetime(2026, 5, 1, 11, 30), now.replace(hour=11, minute=35)) == "2026-05-01T11:30:00Z"
