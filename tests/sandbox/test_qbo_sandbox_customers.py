"""Customers in the sandbox follow QBO's rules: create/read/full and sparse update with SyncToken,
sub-customers, DisplayName rules (6240, 2040, 2050), PostalCode length, ParentRef checks, no delete."""

from __future__ import annotations

import pytest


def _post(http, entity, body, **params):
    return http.post(f"{http.company_url}/{entity}", json=body, params={"minorversion": "75", **params}, timeout=10)


def _fault(resp):
    body = resp.json()
    assert set(body) == {"Fault", "time"}, body
    err = body["Fault"]["Error"][0]
    assert set(err) == {"Message", "Detail", "code", "element"}
    return body["Fault"]["type"], err["code"], err


def test_create_read_update_sparse_cycle(qbo_http):
    created = _post(qbo_http, "customer", {"DisplayName": "Rosa Diaz", "GivenName": "Rosa", "FamilyName": "Diaz",
                                           "PrimaryEmailAddr": {"Address": "rosa@example.com"},
                                           "BillAddr": {"City": "Eugene", "CountrySubDivisionCode": "OR"}})
    assert created.status_code == 200
    assert created.headers["intuit_tid"]
    cust = created.json()["Customer"]
    assert created.json()["time"].endswith("-08:00")
    assert cust["SyncToken"] == "0" and isinstance(cust["SyncToken"], str)
    assert cust["Active"] is True and cust["FullyQualifiedName"] == "Rosa Diaz"
    assert cust["MetaData"]["CreateTime"][-6:] == "-08:00"
    read = qbo_http.get(f"{qbo_http.company_url}/customer/{cust['Id']}", timeout=10).json()["Customer"]
    assert read == cust

    sparse = _post(qbo_http, "customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True,
                                          "PrimaryPhone": {"FreeFormNumber": "541-555-0000"}}).json()["Customer"]
    assert sparse["SyncToken"] == "1"
    assert sparse["PrimaryEmailAddr"] == {"Address": "rosa@example.com"}  # untouched
    assert sparse["PrimaryPhone"] == {"FreeFormNumber": "541-555-0000"}

    full = _post(qbo_http, "customer", {"Id": cust["Id"], "SyncToken": "1", "DisplayName": "Rosa Diaz"}).json()["Customer"]
    assert full["SyncToken"] == "2"
    assert "PrimaryEmailAddr" not in full and "PrimaryPhone" not in full  # full update drops omitted fields

    stale = _post(qbo_http, "customer", {"Id": cust["Id"], "SyncToken": "1", "sparse": True, "Notes": "x"})
    assert stale.status_code == 400
    assert _fault(stale)[1] == "5010"


def test_display_name_derived_from_person_name(qbo_http):
    cust = _post(qbo_http, "customer", {"GivenName": "Mo", "FamilyName": "Salah"}).json()["Customer"]
    assert cust["DisplayName"] == "Mo Salah"


@pytest.mark.parametrize(("body", "code", "element"), [
    ({"DisplayName": "Ann Lee"}, "6240", ""),                                  # seeded customer
    ({"DisplayName": "ann lee"}, "6240", ""),                                  # case-insensitive
    ({"DisplayName": "Old Mill Antiques"}, "6240", ""),                        # inactive still counts
    ({"DisplayName": "Northwest Plumbing Supply"}, "6240", ""),                # a vendor's name
    ({"DisplayName": "Acme: West"}, "2040", "DisplayName"),
    ({"DisplayName": "Acme\tWest"}, "2040", "DisplayName"),
    ({"DisplayName": "Acme\nWest"}, "2040", "DisplayName"),
    ({"DisplayName": "x" * 501}, "2050", "DisplayName"),
    ({"DisplayName": "Zip Long", "BillAddr": {"PostalCode": "1" * 31}}, "2050", "BillAddr.PostalCode"),
    ({"DisplayName": "Orphan", "ParentRef": {"value": "9999"}, "Job": True}, "610", "ParentRef"),
    ({"DisplayName": "Job Without Parent", "Job": True}, "6150", "ParentRef"),
    ({}, "2020", "DisplayName"),
])
def test_customer_validation_faults(qbo_http, body, code, element):
    resp = _post(qbo_http, "customer", body)
    assert resp.status_code == 400
    fault_type, got, err = _fault(resp)
    assert fault_type == "ValidationFault"
    assert (got, err["element"]) == (code, element)


def test_display_name_of_500_chars_is_fine(qbo_http):
    assert _post(qbo_http, "customer", {"DisplayName": "y" * 500}).status_code == 200


def test_sub_customer_under_inactive_parent_is_610(qbo_sandbox, qbo_http):
    inactive = qbo_sandbox.store.find("Customer", DisplayName="Old Mill Antiques")[0]
    resp = _post(qbo_http, "customer", {"DisplayName": "Back Room", "ParentRef": {"value": inactive["Id"]}, "Job": True})
    assert _fault(resp)[1] == "610"


def test_sub_customer_fully_qualified_name_follows_parent_rename(qbo_sandbox, qbo_http):
    parent = _post(qbo_http, "customer", {"DisplayName": "Hillside Mall"}).json()["Customer"]
    child = _post(qbo_http, "customer", {"DisplayName": "Food Court", "ParentRef": {"value": parent["Id"]},
                                         "Job": True}).json()["Customer"]
    assert child["FullyQualifiedName"] == "Hillside Mall:Food Court" and child["Job"] is True and child["Level"] == 1
    qbo_sandbox.user.update_customer(parent["Id"], DisplayName="Hillside Center")
    again = qbo_http.get(f"{qbo_http.company_url}/customer/{child['Id']}", timeout=10).json()["Customer"]
    assert again["FullyQualifiedName"] == "Hillside Center:Food Court"
    assert int(again["SyncToken"]) > int(child["SyncToken"])


def test_customer_cannot_be_deleted_only_made_inactive(qbo_sandbox, qbo_http):
    cust = qbo_sandbox.store.find("Customer", DisplayName="Blue Door Cafe")[0]
    resp = _post(qbo_http, "customer", {"Id": cust["Id"], "SyncToken": cust["SyncToken"]}, operation="delete")
    assert resp.status_code == 400
    inactive = _post(qbo_http, "customer", {"Id": cust["Id"], "SyncToken": cust["SyncToken"], "sparse": True,
                                            "Active": False}).json()["Customer"]
    assert inactive["Active"] is False
    listed = qbo_http.get(f"{qbo_http.company_url}/query", timeout=10,
                          params={"query": "select * from Customer where DisplayName = 'Blue Door Cafe'"}).json()
    assert listed["QueryResponse"] == {}


def test_read_unknown_id_is_610(qbo_http):
    resp = qbo_http.get(f"{qbo_http.company_url}/customer/99999", timeout=10)
    assert resp.status_code == 400 and _fault(resp)[1] == "610"


def test_update_without_synctoken_is_required_field(qbo_http):
    resp = _post(qbo_http, "customer", {"Id": "1", "DisplayName": "Ann Lee"})
    assert _fault(resp)[1] == "2020"


def test_user_handle_changes_are_visible_over_http(qbo_sandbox, qbo_http):
    ann = qbo_sandbox.store.find("Customer", DisplayName="Ann Lee")[0]
    qbo_sandbox.user.update_customer(ann["Id"], PrimaryEmailAddr={"Address": "ann@newmail.example.com"})
    qbo_sandbox.user.set_active("Customer", ann["Id"], False)
    read = qbo_http.get(f"{qbo_http.company_url}/customer/{ann['Id']}", timeout=10).json()["Customer"]
    assert read["PrimaryEmailAddr"]["Address"] == "ann@newmail.example.com"
    assert read["Active"] is False
    assert read["SyncToken"] == str(int(ann["SyncToken"]) + 2)
