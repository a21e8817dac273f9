"""Each retry class against the practice sandbox's drills: lost responses, 5xx/drops, 429, timeouts."""

from __future__ import annotations

import pytest

from qbosync_desktop.connectors.qbo.client import BatchOp
from qbosync_desktop.connectors.qbo.ratelimit import RateLimits
from qbosync_desktop.core import errors

GENEROUS = RateLimits(per_minute=100_000, per_second=100_000, concurrent=50, batch_per_minute=100_000)


def test_a_create_whose_response_was_lost_is_retried_and_makes_exactly_one_record(make_qbo_connection):
    conn = make_qbo_connection(random_seed=11)
    conn.sandbox.set_faults(lost_response_rate=0.5)
    names = [f"Lost Response {i}" for i in range(12)]
    created = [conn.client.create("Customer", {"DisplayName": n}, requestid=f"lost-{i}") for i, n in enumerate(names)]
    stats = conn.sandbox.stats
    assert stats.get("lost_responses", 0) >= 3 and stats.get("replays", 0) == stats["lost_responses"]
    for n, obj in zip(names, created, strict=True):
        assert [c["Id"] for c in conn.sandbox.store.find("Customer", DisplayName=n)] == [obj["Id"]]
    assert conn.client.stats.retries == stats["lost_responses"]


def test_a_batch_whose_response_was_lost_is_replayed_not_repeated(make_qbo_connection):
    conn = make_qbo_connection(random_seed=3)
    conn.sandbox.set_faults(lost_response_rate=1.0)
    ops = [BatchOp(str(i), "create", "Customer", {"DisplayName": f"Lost Batch {i}"}) for i in range(30)]
    results = conn.client.batch(ops, requestid="lost-batch-1")  # attempt 1 is lost, attempt 2 is a replay
    assert all(r.ok for r in results)
    assert conn.sandbox.stats["replays"] == 1
    for i in range(30):
        assert len(conn.sandbox.store.find("Customer", DisplayName=f"Lost Batch {i}")) == 1


def test_server_errors_and_dropped_connections_are_retried_with_the_same_requestid(make_qbo_connection):
    conn = make_qbo_connection(random_seed=5)
    conn.sandbox.set_faults(fault_rate=0.35)
    for i in range(20):
        conn.client.create("Customer", {"DisplayName": f"Flaky {i}"}, requestid=f"flaky-{i}")
        assert conn.client.count("Customer") > 0
    stats = conn.sandbox.stats
    assert stats.get("fault_500", 0) and stats.get("fault_503", 0) and stats.get("fault_drop", 0)
    assert conn.client.stats.retries >= stats["fault_500"] + stats["fault_503"] + stats["fault_drop"]
    for i in range(20):
        assert len(conn.sandbox.store.find("Customer", DisplayName=f"Flaky {i}")) == 1


def test_retries_are_bounded(qbo_connection):
    conn = qbo_connection
    client = conn.new_client(max_retries=3)
    conn.sandbox.set_faults(fault_rate=1.0)
    before = conn.sandbox.stats["requests"]
    with pytest.raises((errors.ServerError, errors.ConnectionProblem)) as info:
        client.count("Customer")
    assert conn.sandbox.stats["requests"] - before == 4
    assert info.value.transient and info.value.details["attempts"] == 4


@pytest.mark.parametrize("xml", [False, True])
def test_a_429_waits_and_retries_so_the_caller_never_sees_it(make_qbo_connection, xml):
    # a client whose limiter is switched off meets the sandbox's batch throttle (40 per scaled minute)
    conn = make_qbo_connection(
        throttle=True, time_scale=60, throttle_xml=xml, client_options={"limits": GENEROUS, "retry_wait_429": 0.2}
    )
    sent = 0
    while conn.sandbox.stats.get("throttled", 0) == 0 and sent < 400:  # bounded, even on a slow machine
        results = conn.client.batch([BatchOp("1", "query", "Item", "SELECT * FROM Item")], requestid=f"q-{xml}-{sent}")
        assert results[0].ok  # the caller never sees the 429
        sent += 1
    assert conn.sandbox.stats["throttled"] >= 1
    assert conn.client.stats.throttled == conn.sandbox.stats["throttled"]


def test_throttling_that_does_not_stop_ends_as_throttled(make_qbo_connection):
    conn = make_qbo_connection(
        throttle=True, time_scale=1, client_options={"limits": GENEROUS, "retry_wait_429": 0.01, "max_retries": 2}
    )
    with pytest.raises(errors.Throttled) as info:
        for i in range(60):
            conn.client.batch([BatchOp("1", "query", "Item", "SELECT * FROM Item")], requestid=f"t-{i}")
    assert info.value.code == "3001" and info.value.retry_after == 0.01
    assert conn.client.stats.throttled == 3


def test_a_slow_server_times_out_and_is_retried(make_qbo_connection):
    conn = make_qbo_connection()
    client = conn.new_client(timeout=0.3, max_retries=1)
    conn.sandbox.set_faults(latency_ms=600)
    before = conn.sandbox.stats["requests"]
    with pytest.raises(errors.ConnectionProblem) as info:
        client.count("Customer")
    assert info.value.details["error"] in ("ReadTimeout", "Timeout", "ConnectTimeout")
    assert conn.sandbox.stats["requests"] - before == 2
    conn.sandbox.set_faults(latency_ms=0)
    assert client.count("Customer") > 0
