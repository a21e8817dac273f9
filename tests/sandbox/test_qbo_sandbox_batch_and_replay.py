"""Batch requests (independent items, per-item faults, queries, the 30-item limit) and requestid replay
for single writes and batches: a repeated id returns the original response and writes nothing."""

from __future__ import annotations

import threading

import requests


def _batch(http, items, **params):
    return http.post(f"{http.company_url}/batch", json={"BatchItemRequest": items}, params=params, timeout=10)


def test_batch_partial_failure_is_correlated_by_bid(qbo_sandbox, qbo_http):
    ann = qbo_sandbox.store.find("Customer", DisplayName="Ann Lee")[0]
    resp = _batch(qbo_http, [
        {"bId": "a", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
        {"bId": "b", "operation": "create", "Customer": {"DisplayName": "Ann Lee"}},          # 6240
        {"bId": "c", "operation": "update", "Customer": {"Id": ann["Id"], "SyncToken": "99", "sparse": True}},  # 5010
        {"bId": "d", "Query": "select count(*) from Vendor"},
        {"bId": "e", "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
        {"bId": "f", "Query": "select * from Customer where"},                                # 4000
    ])
    assert resp.status_code == 200
    items = {item["bId"]: item for item in resp.json()["BatchItemResponse"]}
    assert items["a"]["Customer"]["DisplayName"] == "Batch One"
    assert items["b"]["Fault"]["Error"][0]["code"] == "6240"
    assert items["b"]["Fault"]["type"] == "ValidationFault"
    assert items["c"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["d"]["QueryResponse"] == {"totalCount": 5}
    assert items["e"]["Vendor"]["Id"]
    assert items["f"]["Fault"]["Error"][0]["code"] == "4000"
    assert len(qbo_sandbox.store.find("Customer", DisplayName="Batch One")) == 1


def test_batch_void_and_delete_operations(qbo_sandbox, qbo_http):
    inv = qbo_sandbox.store.find("Invoice", DocNumber="1002")[0]
    bill = qbo_sandbox.store.all("Bill")[0]
    resp = _batch(qbo_http, [
        {"bId": "1", "operation": "void", "Invoice": {"Id": inv["Id"], "SyncToken": inv["SyncToken"]}},
        {"bId": "2", "operation": "delete", "Bill": {"Id": bill["Id"], "SyncToken": bill["SyncToken"]}},
    ]).json()["BatchItemResponse"]
    assert resp[0]["Invoice"]["PrivateNote"] == "Voided"
    assert resp[1]["Bill"]["status"] == "Deleted"


def test_batch_of_more_than_30_items_is_refused_whole(qbo_sandbox, qbo_http):
    items = [{"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"Bulk {i}"}} for i in range(31)]
    resp = _batch(qbo_http, items)
    assert resp.status_code == 400
    assert resp.json()["Fault"]["Error"][0]["code"]
    assert qbo_sandbox.store.find("Customer", DisplayName="Bulk 0") == []
    ok = _batch(qbo_http, items[:30])
    assert ok.status_code == 200 and len(ok.json()["BatchItemResponse"]) == 30


def test_requestid_replays_single_write(qbo_sandbox, qbo_http):
    before = len(qbo_sandbox.store.all("Customer"))
    first = qbo_http.post(f"{qbo_http.company_url}/customer", json={"DisplayName": "Once Only"},
                          params={"requestid": "rid-1"}, timeout=10)
    second = qbo_http.post(f"{qbo_http.company_url}/customer", json={"DisplayName": "Once Only"},
                           params={"requestid": "rid-1"}, timeout=10)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()  # same Id, same SyncToken, same time
    assert len(qbo_sandbox.store.all("Customer")) == before + 1
    # a different id is a different write (and here a duplicate name)
    third = qbo_http.post(f"{qbo_http.company_url}/customer", json={"DisplayName": "Once Only"},
                          params={"requestid": "rid-2"}, timeout=10)
    assert third.status_code == 400
    assert qbo_sandbox.stats["replays"] == 1


def test_requestid_replays_an_update_without_bumping_synctoken(qbo_sandbox, qbo_http):
    ann = qbo_sandbox.store.find("Customer", DisplayName="Ann Lee")[0]
    body = {"Id": ann["Id"], "SyncToken": ann["SyncToken"], "sparse": True, "Notes": "called"}
    r1 = qbo_http.post(f"{qbo_http.company_url}/customer", json=body, params={"requestid": "upd-1"}, timeout=10)
    r2 = qbo_http.post(f"{qbo_http.company_url}/customer", json=body, params={"requestid": "upd-1"}, timeout=10)
    assert r1.json() == r2.json()
    assert qbo_sandbox.store.get("Customer", ann["Id"])["SyncToken"] == str(int(ann["SyncToken"]) + 1)


def test_requestid_replays_batch(qbo_sandbox, qbo_http):
    items = [{"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"Replay {i}"}} for i in range(3)]
    r1 = _batch(qbo_http, items, requestid="batch-1")
    r2 = _batch(qbo_http, items, requestid="batch-1")
    assert r1.json() == r2.json()
    assert len(qbo_sandbox.store.find("Customer", DisplayName="Replay 0")) == 1


def test_racing_retries_with_one_requestid_write_once(qbo_sandbox, qbo_http):
    token = qbo_http.headers["Authorization"]
    url = f"{qbo_http.company_url}/customer"
    results: list[dict] = []

    def go() -> None:
        with requests.Session() as s:
            resp = s.post(url, json={"DisplayName": "Racer"}, params={"requestid": "race-1"},
                          headers={"Authorization": token}, timeout=10)
            results.append(resp.json())

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r == results[0] for r in results)
    assert len(qbo_sandbox.store.find("Customer", DisplayName="Racer")) == 1
