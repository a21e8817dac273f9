"""Vendors, items and accounts in the sandbox: create/read/update/sparse and QBO's validation faults."""

from __future__ import annotations

import pytest


def _post(http, entity, body, **params):
    return http.post(f"{http.company_url}/{entity}", json=body, params=params, timeout=10)


def _code(resp):
    assert resp.status_code == 400, resp.text
    err = resp.json()["Fault"]["Error"][0]
    return err["code"], err["element"]


def _account_id(sb, name):
    return sb.store.find("Account", Name=name)[0]["Id"]


def test_vendor_lifecycle_and_shared_name_space(qbo_sandbox, qbo_http):
    vendor = _post(qbo_http, "vendor", {"DisplayName": "Sparks & Sons", "CompanyName": "Sparks & Sons",
                                        "PrimaryEmailAddr": {"Address": "ap@sparks.example.com"}}).json()["Vendor"]
    assert vendor["SyncToken"] == "0" and vendor["Active"] is True
    sparse = _post(qbo_http, "vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True,
                                        "Active": False}).json()["Vendor"]
    assert sparse["Active"] is False and sparse["CompanyName"] == "Sparks & Sons" and sparse["SyncToken"] == "1"
    # a customer may not take a vendor's name, inactive or not
    assert _code(_post(qbo_http, "customer", {"DisplayName": "Sparks & Sons"}))[0] == "6240"
    assert _code(_post(qbo_http, "vendor", {"DisplayName": "Brightside Dental LLC"}))[0] == "6240"
    assert _code(_post(qbo_http, "vendor", {"DisplayName": "Bad:Name"})) == ("2040", "DisplayName")
    assert _code(_post(qbo_http, "vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True}))[0] == "5010"


def test_item_rules(qbo_sandbox, qbo_http):
    services = _account_id(qbo_sandbox, "Services")
    checking = _account_id(qbo_sandbox, "Business Checking")
    materials = _account_id(qbo_sandbox, "Job Materials")
    item = _post(qbo_http, "item", {"Name": "Gutter Cleaning", "Type": "Service", "UnitPrice": 150,
                                    "IncomeAccountRef": {"value": services}}).json()["Item"]
    assert item["IncomeAccountRef"] == {"value": services, "name": "Services"}
    assert item["FullyQualifiedName"] == "Gutter Cleaning"
    updated = _post(qbo_http, "item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "UnitPrice": 175}).json()["Item"]
    assert updated["UnitPrice"] == 175 and updated["SyncToken"] == "1"
    cases = [
        ({"Name": "gutter cleaning", "Type": "Service", "IncomeAccountRef": {"value": services}}, ("6240", "")),
        ({"Name": "Bad:Item", "Type": "Service", "IncomeAccountRef": {"value": services}}, ("2040", "Name")),
        ({"Name": "x" * 101, "Type": "Service", "IncomeAccountRef": {"value": services}}, ("2050", "Name")),
        ({"Name": "No Account", "Type": "Service"}, ("2020", "IncomeAccountRef")),
        ({"Name": "Wrong Account", "Type": "Service", "IncomeAccountRef": {"value": checking}}, ("6000", "IncomeAccountRef")),
        ({"Name": "Ghost Account", "Type": "Service", "IncomeAccountRef": {"value": "999"}}, ("2500", "IncomeAccountRef")),
        ({"Name": "Bad Expense", "Type": "NonInventory", "IncomeAccountRef": {"value": services},
          "ExpenseAccountRef": {"value": services}}, ("6000", "ExpenseAccountRef")),
        ({"Name": "Weird", "Type": "Category"}, ("2170", "Type")),
        ({"Type": "Service", "IncomeAccountRef": {"value": services}}, ("2020", "Name")),
    ]
    for body, expected in cases:
        assert _code(_post(qbo_http, "item", body)) == expected, body
    ok = _post(qbo_http, "item", {"Name": "Pipe", "Type": "NonInventory", "IncomeAccountRef": {"value": services},
                                  "ExpenseAccountRef": {"value": materials}})
    assert ok.status_code == 200


def test_item_with_inactive_income_account_is_610(qbo_sandbox, qbo_http):
    acct = _post(qbo_http, "account", {"Name": "Old Income", "AccountType": "Income"}).json()["Account"]
    qbo_sandbox.user.set_active("Account", acct["Id"], False)
    resp = _post(qbo_http, "item", {"Name": "Legacy", "Type": "Service", "IncomeAccountRef": {"value": acct["Id"]}})
    assert _code(resp) == ("610", "IncomeAccountRef")


def test_account_rules(qbo_http):
    acct = _post(qbo_http, "account", {"Name": "Fuel", "AccountType": "Expense"}).json()["Account"]
    assert acct["Classification"] == "Expense" and acct["AccountSubType"] and acct["Active"] is True
    assert _code(_post(qbo_http, "account", {"Name": "fuel", "AccountType": "Expense"}))[0] == "6240"
    assert _code(_post(qbo_http, "account", {"Name": "NoType"})) == ("2020", "AccountType")
    assert _code(_post(qbo_http, "account", {"Name": "Odd", "AccountType": "Magic"})) == ("2170", "AccountType")
    renamed = _post(qbo_http, "account", {"Id": acct["Id"], "SyncToken": "0", "sparse": True, "Name": "Fuel & Oil"})
    assert renamed.json()["Account"]["FullyQualifiedName"] == "Fuel & Oil"


@pytest.mark.parametrize("entity", ["vendor", "item", "account"])
def test_name_lists_cannot_be_deleted(qbo_sandbox, qbo_http, entity):
    obj = qbo_sandbox.store.all(entity)[0]
    resp = _post(qbo_http, entity, {"Id": obj["Id"], "SyncToken": obj["SyncToken"]}, operation="delete")
    assert resp.status_code == 400
    assert qbo_sandbox.store.get(entity, obj["Id"]) is not None


def test_company_info_and_preferences(qbo_sandbox, qbo_http):
    realm = qbo_sandbox.config.realm_id
    info = qbo_http.get(f"{qbo_http.company_url}/companyinfo/{realm}", params={"minorversion": "40"}, timeout=10)
    assert info.status_code == 200 and info.json()["CompanyInfo"]["CompanyName"] == "Cedar & Pine Home Services"
    prefs = qbo_http.get(f"{qbo_http.company_url}/preferences", timeout=10)
    assert prefs.json()["Preferences"]["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
