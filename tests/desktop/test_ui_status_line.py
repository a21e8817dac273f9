"""The status line's words, the problem causes, and the record addresses (pure functions)."""

from __future__ import annotations

import datetime as dt

from qbosync_desktop.desktop.ui.problem_groups import group_problems, qbo_link
from qbosync_desktop.desktop.ui.status_line import SyncStatus, relative_time

NOW = dt.datetime(2026, 12, 4, 12, 0, 0, tzinfo=dt.timezone.utc)


def ago(**kw):
    return (NOW - dt.timedelta(**kw)).replace(tzinfo=None)  # naive UTC, as the database stores it


def test_relative_time_has_seconds_precision_when_recent():
    assert relative_time(ago(seconds=3), NOW) == "just now"
    assert relative_time(ago(seconds=42), NOW) == "42 seconds ago"
    assert relative_time(ago(seconds=61), NOW) == "1 minute ago"
    assert relative_time(ago(minutes=2, seconds=5), NOW) == "2 minutes ago"
    assert relative_time(ago(hours=3), NOW) == "3 hours ago"
    assert relative_time(ago(days=3), NOW).startswith("on 2026-12-01")


def test_status_line_words():
    assert SyncStatus(last_sync=ago(minutes=2)).text(NOW) == "Up to date · synced 2 minutes ago"
    assert SyncStatus(running=True, done=120, total=640).text(NOW) == "Syncing… 120 of 640"
    assert SyncStatus(running=True, done=40_000, total=151_752).text(NOW) == "Syncing… 40,000 of 151,752"
    st = SyncStatus(problems=3, waiting=2, last_sync=ago(seconds=5))
    assert st.text(NOW) == "3 problems · 2 changes wait for your decision · synced just now"
    assert st.level == "attention"
    assert SyncStatus().text(NOW) == "Not synced yet"
    assert SyncStatus(connection="needs_reconnect").text(NOW).startswith("QuickBooks needs to be reconnected")
    assert SyncStatus(paused=True, last_sync=ago(seconds=30)).text(NOW) == (
        "Up to date · synced 30 seconds ago · scheduled syncs paused")


def _p(pid, kind="bill", field=None, title="Invoice concept not mapped", hint="h", code=None):
    details = {"field": field} if field else {}
    return {"id": pid, "kind": kind, "work_id": f"w{pid}", "qbo_id": None, "title": title, "message": "m",
            "hint": hint, "code": code, "details": details}


def test_problems_group_by_root_cause():
    problems = [_p(i, field="concept.Labor", hint=f"Open Sync Settings … 'Labor' {i}") for i in range(1, 19)]
    problems += [_p(30, kind="client", title="Name not allowed", hint="Rename Smith"),
                 _p(31, kind="client", title="Address incomplete", code="missing_state"),
                 _p(32, kind="client", title="Address incomplete", code="missing_state"),
                 _p(40, field="concept.Travel")]
    groups = group_problems(problems)
    assert [g.count for g in groups] == [18, 2, 1, 1]
    labor = groups[0]
    assert labor.concept == "Labor" and labor.action == "Map the concept “Labor”…" and labor.ids == list(range(1, 19))
    assert "Use default state" in groups[1].action and groups[1].ids == [31, 32]
    assert {g.concept for g in groups[2:]} == {None, "Travel"}


def test_open_in_quickbooks_addresses():
    assert qbo_link("invoice", "130", {"environment": "production"}) == "https://app.qbo.intuit.com/app/invoice?txnId=130"
    assert qbo_link("client", "7", {"environment": "sandbox"}) == (
        "https://app.sandbox.qbo.intuit.com/app/customerdetail?nameId=7")
    assert qbo_link("bill", "9", {"environment": "practice", "api_base": "http://127.0.0.1:5000/v3"}) == (
        "http://127.0.0.1:5000/bills")
    assert qbo_link("invoice", None, {"environment": "production"}) is None
