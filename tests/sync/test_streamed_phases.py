"""Issue 18: a phase streams its Work list (read a page → plan → send → let go), and stays exactly once.

Real HTTP against both practice servers. The run reads Work invoices 50 to a page; while it pages, a
person edits an invoice it has already read (the edit goes through the Work demo server's own update
path, the one its API calls): Work's keyset paging hands that invoice out again at the end. QuickBooks
must then hold that invoice once, with the edited line - created from the first copy, updated from the
second after the first copy's write was applied - and the next sync has nothing to do.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import threading
import time
from typing import Any

import pytest

EDITED = "Edited in Work while the sync was reading"


@pytest.fixture
def paged(make_enabled: Any) -> Any:
    practice, ws = make_enabled(work_clients=12, work_invoices=160)
    ws.work_client().page_size = 50  # the engine's Work client: four pages of invoices
    return practice, ws


def test_an_invoice_edited_while_the_run_pages_is_created_once_then_updated(paged: Any) -> None:
    from qbosync_desktop.sync.engine import SyncEngine

    practice, ws = paged
    store = practice.work.store
    original_page = store.page
    edited: dict[str, Any] = {}

    def page(resource: str, *args: Any, **kwargs: Any) -> Any:
        data, next_cursor = original_page(resource, *args, **kwargs)
        if resource == "invoices" and not edited and next_cursor:
            # A person saves an invoice the sync has just read (its first page).
            inv = next(r for r in data if r["status"] in ("sent", "paid"))
            lines = [{k: v for k, v in line.items() if k in ("item_id", "description", "quantity", "unit_price",
                                                            "taxable", "discount")}
                     for line in inv["lines"]]
            lines[0]["description"] = EDITED
            edited.update(store.update("invoices", inv["id"], {"lines": lines}))
        return data, next_cursor

    qbo = ws.qbo_client()
    before = len(list(qbo.query("Invoice", order_by="Id")))  # the practice company's own invoices
    store.page = page
    try:
        summary = SyncEngine(ws).run(initial=True)
    finally:
        store.page = original_page
    assert summary.state == "done", summary.error
    assert edited, "the edit while paging did not happen"

    same = list(qbo.query("Invoice", where=f"DocNumber = '{edited['number']}'"))
    assert len(same) == 1  # created once, not twice
    assert same[0]["Line"][0].get("Description") == EDITED  # ... and then updated to the newer copy
    # Every invoice QuickBooks holds was created once; the edited one was updated once more.
    counts = summary.counts["invoices"]
    assert counts["created"] == len(list(qbo.query("Invoice", order_by="Id"))) - before
    assert counts.get("updated") == 1

    again = SyncEngine(ws).run()
    assert again.state == "done", again.error
    assert not any(n for c in again.counts.values() for k, n in c.items() if k in ("created", "updated"))


def test_a_reader_stays_a_bounded_number_of_records_ahead_and_stops_when_closed() -> None:
    from qbosync_desktop.sync.flows.reading import ReadAhead

    produced = [0]

    def records(n: int | None) -> Any:
        for i in itertools.count() if n is None else range(n):
            produced[0] += 1
            yield i

    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        reader = ReadAhead(records(5000), limit=400, chunk=100).start(pool)
        it = iter(reader)
        assert next(it) == 0
        deadline = time.monotonic() + 10
        while not reader._queue.full() and time.monotonic() < deadline:
            threading.Event().wait(0.005)
        assert reader._queue.full()
        # the buffer (4 chunks) + the chunk being handed over + the one the planner holds
        assert produced[0] <= 400 + 2 * 100
        assert [0, *it] == list(range(5000))  # in order, nothing lost

        endless = ReadAhead(records(None), limit=400, chunk=100).start(pool)
        endless.close()
        assert endless._future is not None
        endless._future.result(timeout=10)  # its thread ended
