"""Intuit's limits (429 / 3001 for 500 requests a minute, 10 in flight, 40 batches a minute) and the
drill modes: injected 500/503/dropped connections before anything happens, and lost responses after
a committed write (which a retry with the same requestid recovers)."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.fixtures.qbo_sandbox import qbo_session


def _info(http, sb):
    return http.get(f"{http.company_url}/companyinfo/{sb.config.realm_id}", timeout=10)


def test_500_requests_a_minute_then_429_until_the_window_slides(make_qbo_sandbox):
    sb = make_qbo_sandbox(throttle=True)
    http = qbo_session(sb)
    codes = [_info(http, sb).status_code for _ in range(500)]
    assert codes.count(200) == 500
    refused = _info(http, sb)
    assert refused.status_code == 429
    fault = refused.json()["Fault"]
    assert fault["Error"][0]["code"] == "3001" and refused.headers["intuit_tid"]
    assert sb.stats["throttled"] == 1
    sb.clock.advance(61)  # the throttle minute follows the sandbox clock
    assert _info(http, sb).status_code == 200


def test_time_scale_shortens_the_throttle_minute(make_qbo_sandbox):
    sb = make_qbo_sandbox(throttle=True, time_scale=6)  # a "minute" of 10 s
    http = qbo_session(sb)
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select count(*) from Item"}]}
    codes = [http.post(f"{http.company_url}/batch", json=body, timeout=10).status_code for _ in range(41)]
    assert codes == [200] * 40 + [429]
    sb.clock.advance(4)
    assert http.post(f"{http.company_url}/batch", json=body, timeout=10).status_code == 429
    sb.clock.advance(6.5)  # 10.5 s of the scaled minute have passed
    assert http.post(f"{http.company_url}/batch", json=body, timeout=10).status_code == 200


def test_concurrent_writers_get_distinct_ids(qbo_sandbox):
    token = qbo_session(qbo_sandbox).headers["Authorization"]
    url = f"{qbo_sandbox.config.api_base}/company/{qbo_sandbox.config.realm_id}/customer"
    ids: list[str] = []
    lock = threading.Lock()

    def go(k: int) -> None:
        with requests.Session() as s:
            for i in range(15):
                resp = s.post(url, json={"DisplayName": f"Thread {k}-{i}"}, headers={"Authorization": token}, timeout=10)
                assert resp.status_code == 200
                with lock:
                    ids.append(resp.json()["Customer"]["Id"])

    threads = [threading.Thread(target=go, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 90 and len(set(ids)) == 90
    assert len([c for c in qbo_sandbox.store.all("Customer") if c["DisplayName"].startswith("Thread ")]) == 90


def test_more_than_10_in_flight_is_429(make_qbo_sandbox):
    sb = make_qbo_sandbox(throttle=True, latency_ms=400)
    token = qbo_session(sb).headers["Authorization"]
    url = f"{sb.config.api_base}/company/{sb.config.realm_id}/companyinfo/{sb.config.realm_id}"
    codes: list[int] = []
    barrier = threading.Barrier(13)

    def go() -> None:
        barrier.wait()
        codes.append(requests.get(url, headers={"Authorization": token}, timeout=10).status_code)

    threads = [threading.Thread(target=go) for _ in range(13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(200) == 10 and codes.count(429) == 3


def test_40_batches_a_minute_and_xml_throttle_variant(make_qbo_sandbox):
    sb = make_qbo_sandbox(throttle=True, throttle_xml=True)
    http = qbo_session(sb)
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select count(*) from Item"}]}
    codes = [http.post(f"{http.company_url}/batch", json=body, timeout=10).status_code for _ in range(40)]
    assert codes == [200] * 40
    refused = http.post(f"{http.company_url}/batch", json=body, timeout=10)
    assert refused.status_code == 429
    assert "xml" in refused.headers["Content-Type"]
    assert '<Error code="3001">' in refused.text
    assert _info(http, sb).status_code == 200  # plain requests are still within their own limit


def test_injected_faults_fail_before_doing_anything(make_qbo_sandbox):
    sb = make_qbo_sandbox(fault_rate=1.0, random_seed=2)
    http = qbo_session(sb)  # OAuth endpoints are not affected
    before = len(sb.store.all("Customer"))
    seen: set[str] = set()
    for i in range(24):
        try:
            resp = http.post(f"{http.company_url}/customer", json={"DisplayName": f"Faulty {i}"}, timeout=10)
        except requests.ConnectionError:
            seen.add("drop")
            continue
        assert resp.status_code in (500, 503)
        seen.add(str(resp.status_code))
        if resp.status_code == 500:
            assert resp.json()["Fault"]["type"] == "SystemFault"
    assert seen == {"500", "503", "drop"}
    assert len(sb.store.all("Customer")) == before
    sb.set_faults(fault_rate=0.0)
    assert http.post(f"{http.company_url}/customer", json={"DisplayName": "Calm"}, timeout=10).status_code == 200


def test_lost_response_commits_then_drops_and_requestid_recovers(make_qbo_sandbox):
    sb = make_qbo_sandbox(lost_response_rate=1.0)
    http = qbo_session(sb)
    url = f"{http.company_url}/invoice"
    ann = sb.store.find("Customer", DisplayName="Ann Lee")[0]["Id"]
    hours = sb.store.find("Item", Name="Hours")[0]["Id"]
    body = {"CustomerRef": {"value": ann}, "DocNumber": "LOST-1",
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 85,
                      "SalesItemLineDetail": {"ItemRef": {"value": hours}, "Qty": 1, "UnitPrice": 85}}]}
    with pytest.raises(requests.ConnectionError):
        http.post(url, json=body, params={"requestid": "inv-lost-1"}, timeout=10)
    committed = sb.store.find("Invoice", DocNumber="LOST-1")
    assert len(committed) == 1  # the write happened although the client saw an error
    assert _info(http, sb).status_code == 200  # reads are not "lost"
    sb.set_faults(lost_response_rate=0.0)
    retry = http.post(url, json=body, params={"requestid": "inv-lost-1"}, timeout=10)
    assert retry.status_code == 200 and retry.json()["Invoice"]["Id"] == committed[0]["Id"]
    assert len(sb.store.find("Invoice", DocNumber="LOST-1")) == 1
    assert sb.stats["lost_responses"] == 1


def test_latency_is_added(make_qbo_sandbox):
    sb = make_qbo_sandbox(latency_ms=150)
    http = qbo_session(sb)
    resp = _info(http, sb)
    assert resp.elapsed.total_seconds() >= 0.15
