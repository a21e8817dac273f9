"""Incremental work stays proportional to the change (issue 18): a sync reads the links of the records
the change feeds name, by id, and never every link of a kind. Checked on the SQL the run sends to
SQLite (``sqlite3``'s trace callback): every read of ``sync_link`` is constrained by Work or QuickBooks
ids (or the recheck flag's partial index)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from urllib.parse import parse_qs, urlsplit

from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.onboarding import MatchProposal
from qbosync_desktop.store.models.runs import Cursor
from qbosync_desktop.sync import cdc
from qbosync_desktop.sync.engine import Observer
from qbosync_desktop.sync.pipeline import build_phases
from qbosync_desktop.sync.plan import Prefetches, Probes

#: a statement that reads sync_link rows into Python (a sub-query inside SQLite's own filter is not one)
_LINK_READ = re.compile(r'^\s*SELECT\b[^()]*?\bFROM\s+"?sync_link"?', re.S | re.I)
_BY_ID = re.compile(r'\bWHERE\b.*("?work_id"?\s*(=|IN)|"?qbo_id"?\s*(=|IN)|recheck)', re.S | re.I)


def _link_reads(run) -> tuple[object, list[str]]:
    statements: list[str] = []
    conn = database.connection()
    conn.set_trace_callback(statements.append)
    try:
        summary = run()
    finally:
        conn.set_trace_callback(None)
    return summary, [s for s in statements if _LINK_READ.search(s)]


def test_a_sync_with_nothing_to_do_reads_no_link_table_in_full(synced):
    summary, reads = _link_reads(synced.engine.run)
    assert summary.state == "done"
    assert summary.qbo_requests == 1, "one CDC read of QuickBooks customers"
    full = [s for s in reads if not _BY_ID.search(s)]
    assert not full, full


def test_a_change_in_work_reads_the_links_of_the_changed_records_only(synced):
    practice = synced.practice
    link = Link.select().where((Link.kind == "client") & (Link.origin == "created")).order_by(Link.id).first()
    practice.work.user.edit_client(link.work_id, phone="555-0199")
    summary, reads = _link_reads(synced.engine.run)
    assert summary.state == "done"
    # (the two-way customers phase merges a Work client's change and writes it to QuickBooks)
    assert sum(c.get("updated", 0) for c in summary.counts.values()) == 1
    full = [s for s in reads if not _BY_ID.search(s)]
    assert not full, full
    # What QuickBooks holds: the customer has the new phone.
    assert practice.qbo.store.get("Customer", link.qbo_id)["PrimaryPhone"]["FreeFormNumber"] == "555-0199"


def _work_reads(ws) -> list[tuple[str, str, dict[str, list[str]]]]:
    """Every Work list read the workspace's client makes from now on: (thread, resource, query)."""

    seen: list[tuple[str, str, dict[str, list[str]]]] = []

    def hook(resp, *args, **kwargs):
        url = urlsplit(resp.request.url)
        if resp.request.method == "GET" and url.path.count("/") == 3:  # /api/v1/<resource>: a list
            seen.append((threading.current_thread().name, url.path.rsplit("/", 1)[1], parse_qs(url.query)))

    ws.work_client().session.hooks["response"].append(hook)
    return seen


def test_a_sync_with_nothing_to_do_reads_every_work_feed_once_at_run_start(synced):
    """Issue 18: each phase's "changed since" read is one page, asked for when the run starts (the
    run-start probes, sync/prefetch.py), not one round trip after another as the phases come; no
    list is read twice and QuickBooks gets its one CDC request."""
    reads = _work_reads(synced.ws)
    summary = synced.engine.run()
    assert summary.state == "done" and summary.qbo_requests == 1
    assert reads, "the run reads Work's change feeds"
    assert all(thread.startswith("work-probe") for thread, _, _ in reads), reads
    assert all("updated_since" in query and "cursor" not in query for _, _, query in reads), reads
    # one read per change feed: every phase that reads Work, plus the two-way customers' own feed
    phases = build_phases(synced.engine.context(Observer(), threading.Event()))
    feeds = sum(isinstance(phase, (Prefetches, Probes)) for phase in phases)
    assert len(reads) == feeds, reads


def test_a_change_longer_than_a_page_is_read_page_by_page_once_and_written_once(synced):
    """A probe holds one page; the rest of a longer change is read on from where the probe stopped
    (no page twice), and every changed record is planned and written exactly once."""
    practice, ws = synced.practice, synced.ws
    links = list(Link.select().where(Link.kind == "item").order_by(Link.id).limit(5))
    assert len(links) == 5
    for i, lk in enumerate(links):
        practice.work.user.edit_item(lk.work_id, description=f"Changed for the probe test {i}")
    work = ws.work_client()
    reads = _work_reads(ws)
    page_size, work.page_size = work.page_size, 2
    try:
        summary = synced.engine.run()
    finally:
        work.page_size = page_size
    assert summary.state == "done", summary.error
    assert summary.counts.get("items", {}).get("updated") == 5, summary.counts
    pages = [query.get("cursor", [""])[0] for _, resource, query in reads if resource == "items"]
    assert len(pages) == 3 and len(set(pages)) == 3, pages  # 5 records, 2 a page, each page once
    # What QuickBooks holds: each item once, with its new description.
    for i, lk in enumerate(links):
        assert practice.qbo.store.get("Item", lk.qbo_id)["Description"] == f"Changed for the probe test {i}"
    # ... and the next sync has nothing to do again.
    again = synced.engine.run()
    assert again.state == "done" and again.qbo_requests == 1 and not any(
        n for by in again.counts.values() for k, n in by.items() if k in ("created", "updated")), again.counts


def _full_client_reads(reads):
    return [r for r in reads if r[1] == "clients" and "updated_since" not in r[2]]


def test_a_customer_waiting_for_review_seen_again_unchanged_reads_no_client_list(synced):
    """CDC's ``changedSince`` is inclusive, so the customers of the cursor's own second come back on
    the next sync. One of them still waiting for match review was matched against every unlinked Work
    client when it was read: seen again unchanged, it must not make the run read Work's whole client
    list (that was the cause of a flaky no-op test). Changed in QuickBooks since, it is matched again."""
    practice, ws = synced.practice, synced.ws
    waiting = MatchProposal.select().where((MatchProposal.kind == "client")
                                           & (MatchProposal.state == "proposed")).order_by(MatchProposal.id).first()
    assert waiting is not None, "the practice company has a customer waiting for match review"
    name = cdc.cursor_name("Customer")

    def cursor_at(customer, back=0):
        stamped = cdc.parse_time(customer["MetaData"]["LastUpdatedTime"]) - dt.timedelta(seconds=back)
        Cursor.update(value=cdc.format_time(stamped)).where(Cursor.name == name).execute()

    cursor_at(practice.qbo.store.get("Customer", waiting.qbo_id))  # its own second: handed out again
    reads = _work_reads(ws)
    summary = synced.engine.run()
    assert summary.state == "done", summary.error
    assert not _full_client_reads(reads), reads
    # Still waiting: QuickBooks holds the customer, unlinked, and the proposal is unchanged.
    assert not Link.select().where((Link.kind == "client") & (Link.qbo_id == waiting.qbo_id)).exists()
    assert MatchProposal.get_by_id(waiting.id).state == "proposed"
    assert practice.qbo.store.get("Customer", waiting.qbo_id)["Id"] == waiting.qbo_id

    changed = practice.qbo.user.update_customer(waiting.qbo_id, Notes="Changed in QuickBooks")
    cursor_at(changed, back=1)
    reads.clear()
    summary = synced.engine.run()
    assert summary.state == "done", summary.error
    assert _full_client_reads(reads), "a changed unlinked customer is matched against every unlinked client"
