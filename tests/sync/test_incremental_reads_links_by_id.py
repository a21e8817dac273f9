"""Incremental work stays proportional to the change (issue 18): a sync reads the links of the records
the change feeds name, by id, and never every link of a kind. Checked on the SQL the run sends to
SQLite (``sqlite3``'s trace callback): every read of ``sync_link`` is constrained by Work or QuickBooks
ids (or the recheck flag's partial index)."""

from __future__ import annotations

import re

from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.links import Link

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
