"""Keyset paging never skips a record, even when records change or appear while a client is paging."""

from __future__ import annotations

import random
import threading

from qbosync_desktop.connectors.work.client import WorkClient


def test_records_changed_between_pages_are_seen_again_and_none_is_skipped(work_sandbox, work_client):
    work_client.page_size = 5
    all_ids = [c["id"] for c in work_sandbox.store.all("clients")]
    pages = work_client.pages("clients")
    seen = list(next(pages).records)
    assert len(seen) == work_client.page_size
    behind, ahead = seen[1], all_ids[-3]
    work_sandbox.user.edit_client(behind.id, phone="(720) 555-0101")  # already read: moves to the end
    work_sandbox.user.edit_client(ahead, phone="(720) 555-0202")      # not read yet: moves to the end
    newcomer = work_sandbox.user.add_client("Arrived While Paging")
    for page in pages:
        seen.extend(page.records)
    ids = [r.id for r in seen]
    assert set(ids) == set(all_ids) | {newcomer["id"]}
    latest = {r.id: r for r in seen}
    assert latest[behind.id].phone == "(720) 555-0101" and latest[behind.id].version == behind.version + 1
    assert ids.count(behind.id) == 2 and ids.count(ahead) == 1 and latest[ahead].phone == "(720) 555-0202"
    assert ids[-3:] == [behind.id, ahead, newcomer["id"]]


def test_paging_under_a_concurrent_editor_sees_every_record_at_its_latest_version(work_sandbox):
    cfg = work_sandbox.start()
    client = WorkClient(cfg.base_url, cfg.api_key, page_size=3, backoff=0.01)
    all_ids = [c["id"] for c in work_sandbox.store.all("clients")]
    stop = threading.Event()
    edits: list[str] = []
    rng = random.Random(7)

    def editor() -> None:
        n = 0
        while not stop.is_set() and n < 60:  # bounded
            target = rng.choice(all_ids)
            work_sandbox.user.edit_client(target, phone=f"(303) 555-{n:04d}")
            edits.append(target)
            n += 1

    thread = threading.Thread(target=editor)
    thread.start()
    try:
        seen = list(client.clients())
    finally:
        stop.set()
        thread.join()
    assert set(all_ids) <= {r.id for r in seen}
    # once the editor stops, a read from the last updated_at seen picks up whatever happened after it
    newest = max(r.updated_at for r in seen)
    caught_up = {r.id: r for r in [*seen, *client.clients(updated_since=newest)]}
    for record_id in all_ids:
        assert caught_up[record_id].version == work_sandbox.store.get("clients", record_id)["version"]
    assert edits  # the editor really ran
