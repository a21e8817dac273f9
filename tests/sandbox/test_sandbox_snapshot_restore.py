"""Both practice servers can be put back to an earlier moment: what lets the tests start them once per
module and still give every test the same untouched company (tests/fixtures/workspace.py)."""

from __future__ import annotations

import requests

from qbosync_desktop.sandbox.qbo.testing import qbo_sandbox_tokens


def test_qbo_restore_undoes_data_tokens_counters_drills_and_the_clock(qbo_sandbox) -> None:
    before_customers = qbo_sandbox.store.all("Customer")
    before_invoices = qbo_sandbox.store.all("Invoice")
    snap = qbo_sandbox.snapshot()
    tokens = qbo_sandbox_tokens(qbo_sandbox)  # a grant made after the snapshot
    cfg = qbo_sandbox.config
    url = f"{cfg.api_base}/company/{cfg.realm_id}/customer?minorversion=75"
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    created = requests.post(url, json={"DisplayName": "Made After The Snapshot"}, headers=headers, timeout=10)
    assert created.status_code == 200, created.text
    qbo_sandbox.user.update_customer(before_customers[0]["Id"], CompanyName="Changed By Hand")
    qbo_sandbox.user.delete("Invoice", before_invoices[0]["Id"])
    qbo_sandbox.set_faults(latency_ms=5, fault_rate=0.5, throttle=True)
    qbo_sandbox.clock.advance(86_400)
    assert qbo_sandbox.stats.get("write", 0) >= 1

    qbo_sandbox.restore(snap)

    assert qbo_sandbox.store.all("Customer") == before_customers
    assert qbo_sandbox.store.all("Invoice") == before_invoices and qbo_sandbox.store.deleted("Invoice") == []
    assert qbo_sandbox.stats == snap.stats
    assert (qbo_sandbox.settings.latency_ms, qbo_sandbox.settings.fault_rate) == (0, 0.0)
    assert qbo_sandbox.clock.offset == 0
    # the token granted after the snapshot is gone, like the grant itself
    again = requests.get(url.replace("/customer?", f"/customer/{before_customers[0]['Id']}?"), headers=headers, timeout=10)
    assert again.status_code == 401
    # the next id is the one a fresh server would give (nothing of the undone create is left)
    fresh = qbo_sandbox.user.create("Customer", {"DisplayName": "Made After The Snapshot"})
    assert fresh["Id"] == created.json()["Customer"]["Id"]


def test_work_restore_undoes_data_faults_and_the_request_log(work_sandbox, work_client) -> None:
    clients_before = work_sandbox.store.all("clients")
    snap = work_sandbox.snapshot()
    work_client.session.get(work_sandbox.base_url + "/api/v1/clients", timeout=10)
    added = work_sandbox.user.add_client("Made After The Snapshot")
    work_sandbox.user.edit_client(clients_before[0]["id"], email="changed@example.com")
    work_sandbox.fail_next(503, count=5)
    work_sandbox.set_latency(20)
    assert work_sandbox.recent

    work_sandbox.restore(snap)

    assert work_sandbox.store.all("clients") == clients_before
    assert work_sandbox.recent == [] and not work_sandbox.stats.requests, "as they were at the snapshot"
    assert work_sandbox.latency_ms == 0
    # the faults are gone: the API answers at once
    assert work_client.company() is not None
    # a record written after the restore is newer than everything restored
    again = work_sandbox.user.add_client("Made After The Restore")
    assert again["id"] == added["id"], "ids count from the snapshot again"
    assert again["updated_at"] > max(c["updated_at"] for c in clients_before), "the clock kept counting up"
