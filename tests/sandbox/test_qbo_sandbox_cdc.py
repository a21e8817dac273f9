"""Change Data Capture: changed objects since a moment, deletions as ``status: Deleted``, voided
transactions as changed objects, and the 30-day limit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _cdc(http, entities, since):
    return http.get(f"{http.company_url}/cdc", params={"entities": entities, "changedSince": since}, timeout=10)


def _by_entity(body):
    out = {}
    for qr in body["CDCResponse"][0]["QueryResponse"]:
        for key, value in qr.items():
            if isinstance(value, list):
                out[key] = value
    return out


def test_cdc_reports_changes_and_deletions(qbo_sandbox, qbo_http):
    sb = qbo_sandbox
    sb.clock.advance(10)  # everything seeded is now "before"
    since = datetime.fromtimestamp(sb.clock.now(), timezone.utc).isoformat()
    sb.clock.advance(1)
    nothing = _cdc(qbo_http, "Customer,Invoice", since)
    assert nothing.status_code == 200
    assert nothing.json()["CDCResponse"][0]["QueryResponse"] == [{}, {}]

    ann = sb.store.find("Customer", DisplayName="Ann Lee")[0]
    sb.user.update_customer(ann["Id"], Notes="prefers mornings")
    inv_void = sb.store.find("Invoice", DocNumber="1002")[0]
    sb.user.void_invoice(inv_void["Id"])
    inv_del = sb.store.find("Invoice", DocNumber="1004")[0]
    sb.user.delete("Invoice", inv_del["Id"])

    body = _cdc(qbo_http, "customer,Invoice", since).json()
    assert "time" in body
    changes = _by_entity(body)
    assert [c["DisplayName"] for c in changes["Customer"]] == ["Ann Lee"]
    invoices = {i["Id"]: i for i in changes["Invoice"]}
    assert invoices[inv_void["Id"]]["PrivateNote"] == "Voided" and invoices[inv_void["Id"]]["TotalAmt"] == 0
    deleted = invoices[inv_del["Id"]]
    assert deleted["status"] == "Deleted" and set(deleted) == {"domain", "status", "Id", "MetaData"}


def test_cdc_includes_inactive_records(qbo_sandbox, qbo_http):
    since = datetime.fromtimestamp(qbo_sandbox.clock.now() + 5, timezone.utc).isoformat()
    qbo_sandbox.clock.advance(6)
    vendor = qbo_sandbox.store.all("Vendor")[0]
    qbo_sandbox.user.set_active("Vendor", vendor["Id"], False)
    changes = _by_entity(_cdc(qbo_http, "Vendor", since).json())
    assert changes["Vendor"][0]["Active"] is False


def test_cdc_and_queries_by_update_time_survive_a_clock_set_back(qbo_sandbox, qbo_http):
    """Changes are found from the most recent backwards; a clock moved back must not hide any."""
    sb = qbo_sandbox
    sb.clock.advance(100)
    since = datetime.fromtimestamp(sb.clock.now() - 1, timezone.utc).isoformat()
    customers = sb.store.all("Customer")
    sb.user.update_customer(customers[0]["Id"], Notes="after")
    sb.clock.advance(-50)  # the next change is stamped before the one above, and before `since`
    sb.user.update_customer(customers[1]["Id"], Notes="before")
    changes = _by_entity(_cdc(qbo_http, "Customer", since).json())
    assert [c["Notes"] for c in changes["Customer"]] == ["after"]
    found = qbo_http.get(f"{qbo_http.company_url}/query", timeout=10, params={
        "query": f"select * from Customer where MetaData.LastUpdatedTime >= '{since}'"}).json()["QueryResponse"]
    assert [c["Id"] for c in found["Customer"]] == [customers[0]["Id"]]


def test_cdc_older_than_30_days_is_refused(qbo_sandbox, qbo_http):
    old = (datetime.fromtimestamp(qbo_sandbox.clock.now(), timezone.utc) - timedelta(days=31)).isoformat()
    resp = _cdc(qbo_http, "Customer", old)
    assert resp.status_code == 400
    assert resp.json()["Fault"]["Error"][0]["element"] == "changedSince"
    recent = (datetime.fromtimestamp(qbo_sandbox.clock.now(), timezone.utc) - timedelta(days=29)).isoformat()
    assert _cdc(qbo_http, "Customer", recent).status_code == 200


def test_cdc_needs_entities_and_a_valid_time(qbo_http):
    assert _cdc(qbo_http, "", "2026-01-01").status_code == 400
    assert _cdc(qbo_http, "Customer", "yesterday").status_code == 400
    assert _cdc(qbo_http, "Widget", datetime.now(timezone.utc).isoformat()).status_code == 400


def test_a_customer_merged_in_the_web_app_is_reported_deleted_and_its_forms_move(qbo_sandbox, qbo_http):
    """QuickBooks Online has no customer merge or delete in its API; a person merges two customers in
    the web app (``SandboxUser.merge_customers``). The change feed then reports the merged one as
    ``status: Deleted`` with only its Id; its forms belong to the other customer; reading it answers
    610 and a form naming it 2500."""
    sb = qbo_sandbox
    sb.clock.advance(10)
    since = datetime.fromtimestamp(sb.clock.now(), timezone.utc).isoformat()
    sb.clock.advance(1)
    ann = sb.store.find("Customer", DisplayName="Ann Lee")[0]
    into = next(c for c in sb.store.all("Customer") if c["Id"] != ann["Id"] and not c.get("ParentRef"))
    forms = [i["Id"] for i in sb.store.all("Invoice") if i["CustomerRef"]["value"] == ann["Id"]]
    assert forms, "the practice data has invoices of Ann Lee"

    sb.user.merge_customers(ann["Id"], into["Id"])

    changes = _by_entity(_cdc(qbo_http, "Customer,Invoice", since).json())
    (gone,) = [c for c in changes["Customer"] if c["Id"] == ann["Id"]]
    assert gone["status"] == "Deleted" and set(gone) == {"domain", "status", "Id", "MetaData"}
    moved = {i["Id"]: i for i in changes["Invoice"]}
    assert set(forms) <= set(moved) and all(moved[f]["CustomerRef"]["value"] == into["Id"] for f in forms)
    read = qbo_http.get(f"{qbo_http.company_url}/customer/{ann['Id']}", timeout=10)
    assert read.status_code == 400 and read.json()["Fault"]["Error"][0]["code"] == "610"
    item = sb.store.all("Item")[0]
    refused = qbo_http.post(f"{qbo_http.company_url}/invoice", timeout=10, json={
        "CustomerRef": {"value": ann["Id"]},
        "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}}}]})
    assert refused.status_code == 400 and refused.json()["Fault"]["Error"][0]["code"] == "2500"
