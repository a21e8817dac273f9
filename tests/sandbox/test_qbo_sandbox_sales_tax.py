"""Sales tax, discounts, terms and line rounding in the practice QuickBooks, over real HTTP, for both
company flavours: US with Automated Sales Tax and Canada with TaxCode/TaxRate entities."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from qbosync_desktop.sandbox.qbo import SandboxConfig
from qbosync_desktop.sandbox.qbo.testing import qbo_sandbox_tokens
from tests.fixtures.qbo_sandbox import qbo_session


def _post(http, entity, body, **params):
    return http.post(f"{http.company_url}/{entity}", json=body, params=params, timeout=10)


def _ok(resp, entity):
    assert resp.status_code == 200, resp.text
    return resp.json()[entity]


def _fault(resp):
    assert resp.status_code == 400, resp.text
    return resp.json()["Fault"]["Error"][0]


def _query(http, text):
    resp = http.get(f"{http.company_url}/query", params={"query": text}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["QueryResponse"]


def _id(sb, entity, **fields):
    return sb.store.find(entity, **fields)[0]["Id"]


def _line(item, qty, price, code=None, amount=None):
    detail = {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price}
    if code is not None:
        detail["TaxCodeRef"] = {"value": code}
    return {"DetailType": "SalesItemLineDetail", "Amount": round(qty * price, 2) if amount is None else amount,
            "SalesItemLineDetail": detail}


WA = {"Line1": "1520 Main St", "City": "Vancouver", "CountrySubDivisionCode": "WA", "PostalCode": "98660"}


@pytest.fixture
def us(make_qbo_sandbox):
    sb = make_qbo_sandbox(company="us")
    http = qbo_session(sb)
    yield sb, http, {"carlos": _id(sb, "Customer", DisplayName="Carlos Núñez"),
                     "ann": _id(sb, "Customer", DisplayName="Ann Lee"), "hours": _id(sb, "Item", Name="Hours")}
    http.close()


@pytest.fixture
def ca(make_qbo_sandbox):
    sb = make_qbo_sandbox(company="ca")
    http = qbo_session(sb)
    codes = {c["Name"]: c["Id"] for c in sb.store.all("TaxCode")}
    yield sb, http, {"ann": _id(sb, "Customer", DisplayName="Ann Lee"), "hours": _id(sb, "Item", Name="Hours"),
                     "codes": codes}
    http.close()


def _invoice(http, customer, lines, **extra):
    return _post(http, "invoice", {"CustomerRef": {"value": customer}, "Line": lines, **extra})


# --- the two companies --------------------------------------------------------------------------

def test_us_company_has_automated_sales_tax_and_its_tax_lists(us):
    sb, http, _ = us
    info = http.get(f"{http.company_url}/companyinfo/{sb.config.realm_id}", timeout=10).json()["CompanyInfo"]
    prefs = http.get(f"{http.company_url}/preferences", timeout=10).json()["Preferences"]
    assert info["Country"] == "US"
    assert prefs["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": True}
    assert prefs["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    codes = _query(http, "select * from TaxCode")["TaxCode"]
    assert [c["Name"] for c in codes] == ["Oregon", "Washington", "California", "New York", "Texas", "Colorado",
                                        "Other states"]
    wa_rates = [d["TaxRateRef"]["name"] for d in codes[1]["SalesTaxRateList"]["TaxRateDetail"]]
    assert wa_rates == ["Washington State", "Washington Local"]
    rate = _query(http, "select * from TaxRate where Name = 'Washington State'")["TaxRate"][0]
    assert rate["RateValue"] == 6.5
    assert [t["Name"] for t in _query(http, "select * from Term")["Term"]] == ["Due on receipt", "Net 15", "Net 30"]


def test_ca_company_has_tax_codes_rates_and_canadian_dollars(ca):
    sb, http, ids = ca
    info = http.get(f"{http.company_url}/companyinfo/{sb.config.realm_id}", timeout=10).json()["CompanyInfo"]
    prefs = http.get(f"{http.company_url}/preferences", timeout=10).json()["Preferences"]
    assert info["Country"] == "CA" and info["CompanyAddr"]["CountrySubDivisionCode"] == "BC"
    assert "PartnerTaxEnabled" not in prefs["TaxPrefs"]
    assert prefs["CurrencyPrefs"]["HomeCurrency"]["value"] == "CAD"
    assert sorted(ids["codes"]) == ["Exempt", "GST", "GST/PST BC", "GST/QST QC", "HST ON", "Zero-rated"]
    qst = _query(http, "select * from TaxRate where Name = 'QST'")["TaxRate"][0]
    assert qst["RateValue"] == 9.975
    code = http.get(f"{http.company_url}/taxcode/{ids['codes']['GST/QST QC']}", timeout=10).json()["TaxCode"]
    assert code["TaxGroup"] is True and len(code["SalesTaxRateList"]["TaxRateDetail"]) == 2
    # the customers moved to Canada, names unchanged (the Work demo's near matches still work)
    ann = sb.store.find("Customer", DisplayName="Ann Lee")[0]
    assert ann["BillAddr"]["Country"] == "Canada" and ann["CurrencyRef"]["value"] == "CAD"
    # seeded invoices carry their tax: 1003 is 250 services (GST) + 127.50 materials (GST + PST)
    inv = sb.store.find("Invoice", DocNumber="1003")[0]
    assert inv["TxnTaxDetail"]["TotalTax"] == 27.81  # 5% of 377.50 = 18.875 -> 18.88; 7% of 127.50 = 8.925 -> 8.93
    assert inv["TotalAmt"] == 405.31


@pytest.mark.parametrize("entity", ["taxcode", "taxrate"])
def test_tax_lists_are_read_only_through_the_api(ca, entity):
    _, http, _ = ca
    err = _fault(_post(http, entity, {"Name": "Mine"}))
    assert err["code"] == "500"


def test_cli_company_flag_picks_the_flavour(tmp_path):
    env = {**os.environ, "QBOSYNC_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "qbosync_desktop.cli.main", "sandbox", "qbo", "--auto-consent",
                             "--no-throttle", "--company", "ca"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        cfg = json.loads(proc.stdout.readline())
        tokens = qbo_sandbox_tokens(SandboxConfig(**cfg))
        resp = requests.get(f"{cfg['api_base']}/company/{cfg['realm_id']}/query", timeout=10,
                            params={"query": "select count(*) from TaxCode"},
                            headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"})
        assert resp.json()["QueryResponse"]["totalCount"] == 6
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "qbosync_desktop.cli.main", "sandbox", "qbo", "--company", "uk"],
                         capture_output=True, text=True, env=env, timeout=30)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


# --- US: Automated Sales Tax --------------------------------------------------------------------

def test_ast_taxes_taxable_lines_at_the_ship_to_state(us):
    _, http, ids = us
    inv = _ok(_invoice(http, ids["carlos"], [_line(ids["hours"], 1, 100, "TAX"), _line(ids["hours"], 1, 50, "NON")],
                       ShipAddr=WA), "Invoice")
    detail = inv["TxnTaxDetail"]
    assert detail["TxnTaxCodeRef"]["name"] == "Washington"
    assert [(t["TaxLineDetail"]["TaxRateRef"]["name"], t["Amount"], t["TaxLineDetail"]["NetAmountTaxable"])
            for t in detail["TaxLine"]] == [("Washington State", 6.5, 100.0), ("Washington Local", 2.4, 100.0)]
    assert detail["TotalTax"] == 8.9
    assert inv["TotalAmt"] == 158.9 and inv["Balance"] == 158.9
    assert inv["Line"][-1] == {"Amount": 150.0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}


def test_ast_without_a_ship_address_uses_the_company_address(us):
    _, http, ids = us
    # Carlos is billed in Washington, but there is no ship-to address: AST uses the company's (Oregon)
    inv = _ok(_invoice(http, ids["carlos"], [_line(ids["hours"], 1, 100, "TAX")]), "Invoice")
    assert inv["TxnTaxDetail"]["TxnTaxCodeRef"]["name"] == "Oregon"
    assert inv["TxnTaxDetail"]["TotalTax"] == 0 and inv["TotalAmt"] == 100


def test_ast_line_taxability_customer_exemption_and_bad_codes(us):
    sb, http, ids = us
    # no TaxCodeRef: the item decides (Hours is not taxable; a taxable item is)
    plain = _ok(_invoice(http, ids["carlos"], [_line(ids["hours"], 1, 100)], ShipAddr=WA), "Invoice")
    assert plain["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert plain["TxnTaxDetail"]["TotalTax"] == 0
    services = _id(sb, "Account", Name="Sales of Product Income")
    item = _ok(_post(http, "item", {"Name": "Filter", "Type": "NonInventory", "Taxable": True,
                                    "IncomeAccountRef": {"value": services}}), "Item")
    taxed = _ok(_invoice(http, ids["carlos"], [_line(item["Id"], 2, 10)], ShipAddr=WA), "Invoice")
    assert taxed["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    assert taxed["TxnTaxDetail"]["TotalTax"] == 1.78  # 6.5% of 20 = 1.30, 2.4% = 0.48
    # a tax-exempt customer pays no tax on TAX lines
    exempt = _ok(_post(http, "customer", {"DisplayName": "Church of Exemption", "Taxable": False}), "Customer")
    none = _ok(_invoice(http, exempt["Id"], [_line(ids["hours"], 1, 100, "TAX")], ShipAddr=WA), "Invoice")
    assert none["TxnTaxDetail"]["TotalTax"] == 0 and none["TotalAmt"] == 100
    err = _fault(_invoice(http, ids["carlos"], [_line(ids["hours"], 1, 100, "5")]))
    assert (err["code"], err["element"]) == ("6100", "Line.SalesItemLineDetail.TaxCodeRef")
    assert "TAX or NON" in err["Detail"]


def test_ast_honours_an_override_and_prorates_it_across_the_rates(us):
    sb, http, ids = us
    lines = [_line(ids["hours"], 1, 120, "TAX"), _line(ids["hours"], 1, 80, "TAX")]
    inv = _ok(_invoice(http, ids["carlos"], lines, ShipAddr=WA, TxnTaxDetail={"TotalTax": 19.95}), "Invoice")
    detail = inv["TxnTaxDetail"]
    assert detail["TotalTax"] == 19.95 and inv["TotalAmt"] == 219.95
    # computed would be 13.00 + 4.80; the 19.95 is split 6.5 : 2.4 -> 14.57 + 5.38
    assert [t["Amount"] for t in detail["TaxLine"]] == [14.57, 5.38]
    assert [t["TaxLineDetail"]["OverrideDeltaAmount"] for t in detail["TaxLine"]] == [1.57, 0.58]
    # an override is honoured in a state with no sales tax too (Oregon, the company address)
    oregon = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 100, "TAX")],
                          TxnTaxDetail={"TotalTax": "7.25"}), "Invoice")
    assert oregon["TxnTaxDetail"]["TotalTax"] == 7.25 and oregon["TotalAmt"] == 107.25
    # a sparse update that does not touch the lines keeps the tax; new lines are taxed again
    kept = _ok(_post(http, "invoice", {"Id": inv["Id"], "SyncToken": inv["SyncToken"], "sparse": True,
                                       "PrivateNote": "checked"}), "Invoice")
    assert kept["TxnTaxDetail"]["TotalTax"] == 19.95
    again = _ok(_post(http, "invoice", {"Id": inv["Id"], "SyncToken": kept["SyncToken"], "sparse": True,
                                        "Line": [_line(ids["hours"], 1, 100, "TAX")]}), "Invoice")
    assert again["TxnTaxDetail"]["TotalTax"] == 8.9 and again["TotalAmt"] == 108.9
    assert _fault(_invoice(http, ids["carlos"], lines, TxnTaxDetail={"TotalTax": -1}))["code"] == "6000"
    assert sb.store.get("Invoice", inv["Id"])["TotalAmt"] == 108.9


# --- Canada: tax codes per line -----------------------------------------------------------------

def test_ca_tax_is_computed_per_rate_from_each_lines_code(ca):
    _, http, ids = ca
    c = ids["codes"]
    inv = _ok(_invoice(http, ids["ann"], [
        _line(ids["hours"], 1, 100, c["GST"]), _line(ids["hours"], 2, 100, c["GST/QST QC"]),
        _line(ids["hours"], 1, 50, c["Exempt"])]), "Invoice")
    taxes = {t["TaxLineDetail"]["TaxRateRef"]["name"]: (t["Amount"], t["TaxLineDetail"]["NetAmountTaxable"])
             for t in inv["TxnTaxDetail"]["TaxLine"]}
    assert taxes == {"GST": (15.0, 300.0), "QST": (19.95, 200.0), "Exempt": (0.0, 50.0)}
    assert inv["TxnTaxDetail"]["TotalTax"] == 34.95 and inv["TotalAmt"] == 384.95
    assert "TxnTaxCodeRef" not in inv["TxnTaxDetail"]
    assert inv["CurrencyRef"]["value"] == "CAD"


def test_ca_rounds_each_rate_half_up_on_its_whole_base(ca):
    _, http, ids = ca
    c = ids["codes"]
    qc = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 4495.16, c["GST/QST QC"])]), "Invoice")
    # GST 224.758 -> 224.76; QST 9.975% of 4495.16 = 448.39221 -> 448.39
    assert [t["Amount"] for t in qc["TxnTaxDetail"]["TaxLine"]] == [224.76, 448.39]
    half = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 41.10, c["GST"])]), "Invoice")
    assert half["TxnTaxDetail"]["TotalTax"] == 2.06  # 2.055 rounds up, as QuickBooks does


def test_ca_lines_need_a_valid_tax_code(ca):
    _, http, ids = ca
    missing = _fault(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 100)]))
    assert (missing["code"], missing["element"]) == ("6000", "Line.SalesItemLineDetail.TaxCodeRef")
    assert "GST/HST" in missing["Detail"]
    assert _fault(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 100, "TAX")]))["code"] == "2500"
    assert _fault(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 100, "999")]))["code"] == "2500"


def test_ca_tax_line_amounts_override_their_rate(ca):
    _, http, ids = ca
    c = ids["codes"]
    qst = _query(http, "select * from TaxRate where Name = 'QST'")["TaxRate"][0]
    inv = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 2, 100, c["GST/QST QC"])], TxnTaxDetail={"TaxLine": [
        {"Amount": 19.94, "DetailType": "TaxLineDetail", "TaxLineDetail": {"TaxRateRef": {"value": qst["Id"]}}}]}),
        "Invoice")
    lines = {t["TaxLineDetail"]["TaxRateRef"]["name"]: t for t in inv["TxnTaxDetail"]["TaxLine"]}
    assert lines["QST"]["Amount"] == 19.94 and lines["QST"]["TaxLineDetail"]["OverrideDeltaAmount"] == -0.01
    assert "OverrideDeltaAmount" not in lines["GST"]["TaxLineDetail"] and lines["GST"]["Amount"] == 10
    assert inv["TotalAmt"] == 229.94
    pst = _query(http, "select * from TaxRate where Name = 'PST BC'")["TaxRate"][0]
    err = _fault(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 100, c["GST"])], TxnTaxDetail={"TaxLine": [
        {"Amount": 7, "DetailType": "TaxLineDetail", "TaxLineDetail": {"TaxRateRef": {"value": pst["Id"]}}}]}))
    assert err["code"] == "6000"


# --- discounts ----------------------------------------------------------------------------------

def _discount(amount=None, percent=None):
    detail = {"PercentBased": percent is not None}
    if percent is not None:
        detail["DiscountPercent"] = percent
    line = {"DetailType": "DiscountLineDetail", "DiscountLineDetail": detail}
    if amount is not None:
        line["Amount"] = amount
    return line


def test_discounts_come_off_before_tax(us):
    _, http, ids = us
    amount = _ok(_invoice(http, ids["carlos"], [_line(ids["hours"], 2, 100, "TAX"), _discount(amount=10)],
                          ShipAddr=WA), "Invoice")
    assert amount["TxnTaxDetail"]["TotalTax"] == 16.91  # 6.5% and 2.4% of 190 = 12.35 + 4.56
    assert amount["TotalAmt"] == 206.91
    disc = next(ln for ln in amount["Line"] if ln["DetailType"] == "DiscountLineDetail")
    assert disc["Amount"] == 10 and disc["DiscountLineDetail"]["PercentBased"] is False
    assert amount["Line"][-1]["Amount"] == 200  # the subtotal is before the discount
    pct = _ok(_invoice(http, ids["carlos"], [_line(ids["hours"], 2, 100, "TAX"), _discount(percent=10)],
                       ShipAddr=WA), "Invoice")
    disc = next(ln for ln in pct["Line"] if ln["DetailType"] == "DiscountLineDetail")
    assert disc["Amount"] == 20 and disc["DiscountLineDetail"]["DiscountPercent"] == 10
    assert pct["TotalAmt"] == 196.02  # 180 + 11.70 + 4.32
    # the discount is spread over taxable and non-taxable lines: taxable base 100 - 25 = 75
    mixed = _ok(_invoice(http, ids["carlos"], [_line(ids["hours"], 1, 100, "TAX"), _line(ids["hours"], 1, 100, "NON"),
                                               _discount(amount=50)], ShipAddr=WA), "Invoice")
    assert [t["Amount"] for t in mixed["TxnTaxDetail"]["TaxLine"]] == [4.88, 1.8]  # 4.875 rounds up
    assert mixed["TotalAmt"] == 156.68


def test_discount_faults(us):
    _, http, ids = us
    line = _line(ids["hours"], 1, 100, "TAX")
    err = _fault(_invoice(http, ids["carlos"], [line, _discount()]))
    assert (err["code"], err["Message"]) == ("6090", "Discount Line missing required info.")
    assert _fault(_invoice(http, ids["carlos"], [line, _discount(amount=150)]))["code"] == "6000"
    assert _fault(_invoice(http, ids["carlos"], [line, _discount(amount=1), _discount(amount=2)]))["code"] == "6000"
    assert _fault(_invoice(http, ids["carlos"], [line, _discount(percent=120)]))["code"] == "6000"


def test_ca_discount_and_tax(ca):
    _, http, ids = ca
    inv = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 100, ids["codes"]["GST/QST QC"]), _discount(percent=10)]),
              "Invoice")
    assert [t["Amount"] for t in inv["TxnTaxDetail"]["TaxLine"]] == [4.5, 8.98]  # QST 8.9775 -> 8.98
    assert inv["TotalAmt"] == 103.48


# --- terms --------------------------------------------------------------------------------------

def test_sales_terms_set_the_due_date(us):
    sb, http, ids = us
    net15 = _id(sb, "Term", Name="Net 15")
    inv = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 85)], TxnDate="2026-11-20",
                       SalesTermRef={"value": net15}), "Invoice")
    assert inv["SalesTermRef"] == {"value": net15, "name": "Net 15"} and inv["DueDate"] == "2026-12-05"
    explicit = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 85)], TxnDate="2026-11-20", DueDate="2026-11-25",
                            SalesTermRef={"value": net15}), "Invoice")
    assert explicit["DueDate"] == "2026-11-25"
    assert _fault(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 85)], SalesTermRef={"value": "99"}))["code"] == "2500"
    made = _ok(_post(http, "term", {"Name": "Net 45", "DueDays": 45}), "Term")
    assert made["Type"] == "STANDARD" and made["Active"] is True
    assert _fault(_post(http, "term", {"Name": "net 45", "DueDays": 10}))["code"] == "6240"
    due = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], 1, 85)], TxnDate="2026-01-31",
                       SalesTermRef={"value": made["Id"]}), "Invoice")
    assert due["DueDate"] == "2026-03-17"


# --- line amount rounding -----------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["us", "ca"])
def test_line_amount_is_qty_times_price_rounded_half_up_to_the_cent(flavour, us, ca):
    sb, http, ids = us if flavour == "us" else ca
    code = "NON" if flavour == "us" else ids["codes"]["Exempt"]
    accepted = [(1.5, 0.33, 0.50), (1, 2.675, 2.68), (3, 0.335, 1.01), (3, 0.3333333, 1.00), (2, 85, 170)]
    for qty, price, amount in accepted:
        inv = _ok(_invoice(http, ids["ann"], [_line(ids["hours"], qty, price, code, amount=amount)]), "Invoice")
        assert inv["Line"][0]["Amount"] == amount and inv["TotalAmt"] == amount, (qty, price)
    for qty, price, amount in [(1.5, 0.33, 0.49), (1, 2.675, 2.67), (2, 85, 169.99)]:
        err = _fault(_invoice(http, ids["ann"], [_line(ids["hours"], qty, price, code, amount=amount)]))
        assert (err["code"], err["element"]) == ("6070", "Line.Amount"), (qty, price, amount)


# --- starting the flavours ----------------------------------------------------------------------

def test_a_stored_company_keeps_its_flavour_across_restarts(make_qbo_sandbox, tmp_path):
    first = make_qbo_sandbox(company="ca", data_dir=tmp_path)
    first.stop()
    again = make_qbo_sandbox(company="us", data_dir=tmp_path)  # the stored company wins, like the realm id
    assert again.store.get("CompanyInfo", "1")["Country"] == "CA"
    assert len(again.store.all("TaxCode")) == 6


def test_unknown_flavour_is_refused():
    from qbosync_desktop.core.errors import ConfigurationError
    from qbosync_desktop.sandbox.qbo import QboSandbox

    with pytest.raises(ConfigurationError) as err:
        QboSandbox(company="uk")
    assert err.value.field == "company"


def test_start_practice_takes_the_company_flavour():
    from qbosync_desktop.runtime.practice import start_practice

    practice = start_practice(qbo_company="ca", throttle=False)
    try:
        assert practice.qbo.store.get("CompanyInfo", "1")["Country"] == "CA"
    finally:
        practice.stop()


def test_html_view_lists_credit_memos_and_refunds(ca):
    sb, http, ids = ca
    _ok(_post(http, "creditmemo", {"CustomerRef": {"value": ids["ann"]}, "DocNumber": "CM-77",
                                   "Line": [_line(ids["hours"], 1, 10, ids["codes"]["Exempt"])]}), "CreditMemo")
    page = requests.get(sb.config.base_url + "/creditmemos", timeout=10)
    assert page.status_code == 200 and "CM-77" in page.text and "Credit left" in page.text
    assert requests.get(sb.config.base_url + "/refunds", timeout=10).status_code == 200
