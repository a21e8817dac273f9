"""Issue 14 on the Work demo server, over real HTTP: tax, discounts and terms on invoices, Work's rounding
rule (the examples docs/work-api.md promises), balances, payment corrections and voids, tax rates,
credit notes and refunds, and the business rules that refuse impossible money."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import requests

from qbosync_desktop.sandbox.work.rules import ApiError


class Api:
    def __init__(self, ws):
        cfg = ws.start()
        self.base = cfg.base_url + "/api/v1"
        self.headers = {"Authorization": f"Bearer {cfg.api_key}"}

    def get(self, path, **params):
        response = requests.get(self.base + path, headers=self.headers, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, resource, **params):
        out, cursor = [], None
        while True:
            page = self.get(f"/{resource}", limit=500, **({"cursor": cursor} if cursor else {}), **params)
            out += page["data"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def by_number(self, resource="invoices"):
        return {r["number"]: r for r in self.all(resource)}


@pytest.fixture
def api(work_sandbox):
    return Api(work_sandbox)


def _ids(api, resource, key="name"):
    return {r[key]: r["id"] for r in api.all(resource)}


def _since(api, resource):
    newest = max(r["updated_at"] for r in api.all(resource))
    return (dt.datetime.fromisoformat(newest.replace("Z", "+00:00")) + dt.timedelta(microseconds=1)).isoformat()


def test_the_documented_rounding_examples_are_what_work_serves(api):
    inv = api.by_number()
    # 1.5 × 0.33 = 0.495 → 0.50, and 8.81 % of it 0.04405 → 0.04
    rounding = inv["INV-2005"]
    offcut = next(ln for ln in rounding["lines"] if ln["quantity"] == "1.5")
    assert (offcut["unit_price"], offcut["amount"], offcut["net_amount"]) == ("0.33", "0.50", "0.50")
    assert rounding["tax"]["taxable_amount"] == "0.50" and rounding["tax"]["amount"] == "0.04"
    assert rounding["total"] == "89.54"
    # mixed taxable and untaxed lines at 8.81 %
    mixed = inv["INV-2001"]
    assert (mixed["subtotal"], mixed["tax"]["taxable_amount"], mixed["tax"]["amount"], mixed["total"]) == (
        "417.75", "275.25", "24.25", "442.00")
    assert mixed["tax"]["name"] == "Denver" and mixed["tax"]["percent"] == "8.81" and mixed["terms"] == "Net 30"
    # a 10 % line discount and a 25.00 invoice discount before 8.845 % tax
    both = inv["INV-2002"]
    pump = both["lines"][0]
    assert (pump["amount"], pump["discount"], pump["discount_amount"], pump["net_amount"]) == (
        "680.00", {"kind": "percent", "value": "10"}, "68.00", "612.00")
    assert both["discount"] == {"kind": "amount", "value": "25.00"} and both["discount_amount"] == "25.00"
    assert (both["subtotal"], both["tax"]["percent"], both["tax"]["taxable_amount"], both["tax"]["amount"],
            both["total"]) == ("770.00", "8.845", "658.89", "58.28", "803.28")
    # a 5 % invoice discount (87.175 → 87.18) before 9.975 % tax
    resort = inv["INV-2004"]
    assert (resort["subtotal"], resort["discount_amount"], resort["tax"]["percent"], resort["tax"]["taxable_amount"],
            resort["tax"]["amount"], resort["total"]) == ("1743.50", "87.18", "9.975", "1475.82", "147.21", "1803.53")
    assert resort["terms"] == "Due on receipt"
    # every invoice holds the rule, older untaxed ones included
    for record in inv.values():
        subtotal = sum(Decimal(ln["net_amount"]) for ln in record["lines"])
        tax = Decimal(record["tax"]["amount"]) if record["tax"] else Decimal(0)
        assert Decimal(record["subtotal"]) == subtotal
        assert Decimal(record["total"]) == subtotal - Decimal(record["discount_amount"]) + tax, record["number"]


def test_new_lines_follow_the_rule_half_away_from_zero(work_sandbox, api):
    user = work_sandbox.user
    client = _ids(api, "clients")["Ann Lee"]
    item = _ids(api, "items")["PEX Pipe 10 ft"]
    rate = user.add_tax_rate("Golden", "7.725")["id"]
    made = user.add_invoice(client, [
        {"item_id": item, "quantity": "1.5", "unit_price": "0.33", "taxable": True},          # 0.495 → 0.50
        {"item_id": item, "quantity": "1.5", "unit_price": "-0.33"},                          # -0.495 → -0.50
        {"item_id": item, "quantity": "3", "unit_price": "0.99", "taxable": True,
         "discount": {"kind": "percent", "value": "12.5"}},                                   # 0.37125 → 0.37
    ], tax_rate_id=rate, discount={"kind": "percent", "value": "2.5"}, terms="Net 15")
    served = api.get(f"/invoices/{made['id']}")
    assert [ln["amount"] for ln in served["lines"]] == ["0.50", "-0.50", "2.97"]
    assert [ln["net_amount"] for ln in served["lines"]] == ["0.50", "-0.50", "2.60"]
    # subtotal 2.60; discount R(0.065) = 0.07; T = 3.10, share R(0.07 × 3.10 / 2.60) = R(0.08346) = 0.08
    assert (served["subtotal"], served["discount_amount"]) == ("2.60", "0.07")
    # taxable 3.02 × 7.725 % = 0.233295 → 0.23; total 2.60 − 0.07 + 0.23
    assert served["tax"] == {"rate_id": rate, "name": "Golden", "percent": "7.725", "taxable_amount": "3.02",
                             "amount": "0.23"}
    assert served["total"] == "2.76" and served["balance"] == "2.76" and served["terms"] == "Net 15"


def test_impossible_discounts_and_tax_are_refused(work_sandbox, api):
    user = work_sandbox.user
    clients, items = _ids(api, "clients"), _ids(api, "items")
    line = {"item_id": items["Service Call"]}
    with pytest.raises(ApiError) as more:
        user.add_invoice(clients["Ann Lee"], [line], discount={"kind": "amount", "value": "89.01"})
    assert more.value.status == 422 and more.value.details["field"] == "discount"
    with pytest.raises(ApiError) as line_more:
        user.add_invoice(clients["Ann Lee"], [{**line, "discount": {"kind": "amount", "value": "100.00"}}])
    assert line_more.value.status == 422 and line_more.value.details["field"] == "lines.0.discount"
    with pytest.raises(ApiError) as percent:
        user.add_invoice(clients["Ann Lee"], [line], discount={"kind": "percent", "value": "100.5"})
    assert percent.value.status == 400
    with pytest.raises(ApiError) as exempt:
        user.add_invoice(clients["Wash Park Preschool"], [line], tax_rate_id=_ids(api, "tax-rates")["Denver"])
    assert exempt.value.status == 422 and "tax-exempt" in exempt.value.message
    with pytest.raises(ApiError) as unknown_rate:
        user.add_invoice(clients["Ann Lee"], [line], tax_rate_id="tx_999")
    assert unknown_rate.value.status == 422
    assert api.get(f"/clients/{clients['Wash Park Preschool']}")["tax_exempt"] is True
    assert api.get(f"/clients/{clients['Ann Lee']}")["tax_exempt"] is False


def test_tax_rates_sites_and_the_rate_an_invoice_keeps(work_sandbox, api):
    rates = {r["name"]: r for r in api.all("tax-rates")}
    assert {r["percent"] for r in rates.values()} >= {"8.81", "8.845", "7.5", "9.975"}
    assert rates["Denver (before 2025)"]["active"] is False
    taxed_sites = [s for s in api.all("sites") if s["tax_rate_id"]]
    assert len({s["tax_rate_id"] for s in taxed_sites}) >= 4
    before = api.by_number()["INV-2001"]
    work_sandbox.user.edit_tax_rate(rates["Denver"]["id"], percent="9.15")
    after = api.by_number()["INV-2001"]
    assert after["tax"] == before["tax"] and after["version"] == before["version"]  # billed is billed
    new = work_sandbox.user.add_invoice(before["client_id"], [{"item_id": before["lines"][0]["item_id"],
                                                               "taxable": True}], tax_rate_id=rates["Denver"]["id"])
    assert new["tax"]["percent"] == "9.15" and new["tax"]["amount"] == "20.04"  # 219.00 × 9.15 % = 20.0385


def test_balances_count_active_payments_and_applied_credits_only(api):
    inv = api.by_number()
    credits = api.by_number("credit-notes")
    assert inv["INV-2001"]["balance"] == "0.00" and inv["INV-2002"]["balance"] == "0.00"
    assert inv["INV-2006"]["balance"] == "0.00" and inv["INV-2006"]["status"] == "paid"  # void check + card
    assert credits["CN-0002"]["amount"] == "37.94" and credits["CN-0002"]["invoice_id"] == inv["INV-2004"]["id"]
    assert credits["CN-0002"]["tax"]["amount"] == "3.44" and credits["CN-0002"]["subtotal"] == "34.50"
    assert Decimal(inv["INV-2004"]["balance"]) == Decimal(inv["INV-2004"]["total"]) - Decimal("37.94")
    assert credits["CN-0001"]["status"] == "void" and inv["INV-2003"]["balance"] == inv["INV-2003"]["total"]
    assert inv["INV-2003"]["tax"] is None
    assert all(i["balance"] == "0.00" for i in inv.values() if i["status"] == "void")
    payments = api.all("payments")
    for record in inv.values():
        if record["status"] == "void":
            continue
        paid = sum(Decimal(p["amount"]) for p in payments if p["invoice_id"] == record["id"] and p["status"] == "active")
        credited = sum(Decimal(c["amount"]) for c in credits.values()
                       if c["invoice_id"] == record["id"] and c["status"] == "active")
        assert Decimal(record["balance"]) == Decimal(record["total"]) - paid - credited, record["number"]


def test_the_seeded_payment_corrections_and_refunds_are_there(api):
    inv = api.by_number()
    payments = api.all("payments")
    edited = [p for p in payments if p["invoice_id"] == inv["INV-2001"]["id"]]
    assert len(edited) == 1 and edited[0]["version"] == 2 and edited[0]["amount"] == inv["INV-2001"]["total"]
    bounced = [p for p in payments if p["invoice_id"] == inv["INV-2006"]["id"]]
    assert sorted(p["status"] for p in bounced) == ["active", "void"]
    refunds = api.all("refunds")
    partial = next(r for r in refunds if r["amount"] == "40.00")
    paid = next(p for p in payments if p["id"] == partial["payment_id"])
    assert paid["invoice_id"] == inv["INV-2002"]["id"] and Decimal(partial["amount"]) < Decimal(paid["amount"])
    assert any(r["status"] == "void" for r in refunds)
    open_credit = api.by_number("credit-notes")["CN-0003"]
    against = [r for r in refunds if r["credit_note_id"] == open_credit["id"]]
    assert open_credit["invoice_id"] is None and [r["amount"] for r in against] == ["25.00"]


def test_a_person_edits_and_voids_a_payment_and_updated_since_reads_see_it(work_sandbox, api):
    user = work_sandbox.user
    invoice = next(i for i in api.all("invoices") if i["status"] == "sent" and not i["tax"]
                   and i["balance"] == i["total"])
    since = _since(api, "payments")
    invoice_since = _since(api, "invoices")
    first = user.record_payment(invoice["id"], "10.00", method="check", reference="CHK 1")
    rest = user.record_payment(invoice["id"], str(Decimal(invoice["total"]) - 10))
    assert api.get(f"/invoices/{invoice['id']}")["status"] == "paid"

    later = _since(api, "payments")
    user.edit_payment(first["id"], reference="CHK 11", date=first["date"])
    (changed,) = api.get("/payments", updated_since=later)["data"]
    assert (changed["id"], changed["version"], changed["reference"], changed["status"]) == (first["id"], 2, "CHK 11",
                                                                                          "active")
    later = _since(api, "payments")
    user.void_payment(rest["id"])
    (voided,) = api.get("/payments", updated_since=later)["data"]
    assert (voided["id"], voided["version"], voided["status"], voided["amount"]) == (rest["id"], 2, "void",
                                                                                     rest["amount"])
    reopened = api.get(f"/invoices/{invoice['id']}")
    assert reopened["status"] == "sent" and Decimal(reopened["balance"]) == Decimal(invoice["total"]) - 10
    assert invoice["id"] in {i["id"] for i in api.get("/invoices", updated_since=invoice_since)["data"]}
    assert {p["id"] for p in api.get("/payments", updated_since=since)["data"]} == {first["id"], rest["id"]}

    with pytest.raises(ApiError) as again:
        user.edit_payment(rest["id"], amount="1.00")
    assert again.value.status == 422 and "void payment" in again.value.message
    with pytest.raises(ApiError) as too_much:
        user.edit_payment(first["id"], amount=str(Decimal(invoice["total"]) + 1))
    assert too_much.value.status == 422 and too_much.value.details["field"] == "amount"
    user.edit_payment(first["id"], amount=invoice["total"])
    assert api.get(f"/invoices/{invoice['id']}")["status"] == "paid"


def test_credit_notes_and_refunds_list_page_and_follow_their_rules(work_sandbox, api):
    user = work_sandbox.user
    seeded = api.all("credit-notes")
    page = api.get("/credit-notes", limit=1)
    assert len(page["data"]) == 1 and page["next_cursor"]
    rest = api.get("/credit-notes", limit=500, cursor=page["next_cursor"])["data"]
    assert [c["id"] for c in page["data"] + rest] == [c["id"] for c in seeded]
    assert api.get(f"/refunds/{api.all('refunds')[0]['id']}")["id"]

    clients, items = _ids(api, "clients"), _ids(api, "items")
    invoice = next(i for i in api.all("invoices") if i["status"] == "sent" and i["balance"] == i["total"])
    since_credit, since_refund = _since(api, "credit-notes"), _since(api, "refunds")
    applied = user.add_credit_note(invoice["client_id"], amount="5.00", invoice_id=invoice["id"])
    assert Decimal(api.get(f"/invoices/{invoice['id']}")["balance"]) == Decimal(invoice["total"]) - 5
    open_credit = user.add_credit_note(clients["Ann Lee"], lines=[
        {"item_id": items["Faucet Cartridge"], "quantity": "1.5", "taxable": True}],
        tax_rate_id=_ids(api, "tax-rates")["Lakewood"])
    # 1.5 × 34.50 = 51.75; 7.5 % = 3.88125 → 3.88
    assert (open_credit["subtotal"], open_credit["tax"]["amount"], open_credit["amount"]) == ("51.75", "3.88", "55.63")
    assert {c["id"] for c in api.get("/credit-notes", updated_since=since_credit)["data"]} == {applied["id"],
                                                                                              open_credit["id"]}
    refund = user.add_refund("50.00", credit_note_id=open_credit["id"], method="cash")
    assert [r["id"] for r in api.get("/refunds", updated_since=since_refund)["data"]] == [refund["id"]]

    def refused(call, *args, **kwargs):
        with pytest.raises(ApiError) as caught:
            call(*args, **kwargs)
        assert caught.value.status == 422, caught.value.message
        return caught.value

    assert "more than is left" in refused(user.add_refund, "5.64", credit_note_id=open_credit["id"]).message
    refused(user.add_refund, "1.00", credit_note_id=applied["id"])  # an applied credit is used up
    refused(user.add_credit_note, invoice["client_id"], amount=str(Decimal(invoice["total"])), invoice_id=invoice["id"])
    other = next(c for c in clients if clients[c] != invoice["client_id"])
    refused(user.add_credit_note, clients[other], amount="1.00", invoice_id=invoice["id"])
    refused(user.add_credit_note, clients["Wash Park Preschool"], tax_rate_id=_ids(api, "tax-rates")["Denver"],
            lines=[{"item_id": items["Faucet Cartridge"], "taxable": True}])
    payment = next(p for p in api.all("payments") if p["status"] == "active")
    refused(work_sandbox.store.create, "refunds", {"client_id": payment["client_id"], "payment_id": payment["id"],
                                                   "credit_note_id": open_credit["id"], "amount": "1.00",
                                                   "date": "2026-01-01", "method": "cash"})
    refused(user.add_refund, str(Decimal(payment["amount"]) + Decimal("0.01")), payment_id=payment["id"])
    user.void_refund(refund["id"])
    user.add_refund("55.63", credit_note_id=open_credit["id"])  # a voided refund frees its amount
    user.void_credit_note(applied["id"])
    assert api.get(f"/invoices/{invoice['id']}")["balance"] == invoice["total"]
    refused(user.add_refund, "1.00", payment_id=next(p["id"] for p in api.all("payments") if p["status"] == "void"))


def test_money_records_are_read_only_through_the_api(work_sandbox, api):
    for resource in ("credit-notes", "refunds", "tax-rates", "payments"):
        response = requests.post(f"{api.base}/{resource}", headers=api.headers, json={"amount": "1.00"}, timeout=10)
        assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_a_record_stored_before_these_fields_reads_with_their_defaults(work_sandbox, api):
    """A demo database kept in a data folder from before issue 14 still reads, with the new fields filled."""
    store = work_sandbox.store
    invoice = api.by_number()["INV-1002"]
    old = {k: invoice[k] for k in ("number", "client_id", "site_id", "issue_date", "due_date", "status", "notes")}
    old["lines"] = [{k: ln[k] for k in ("item_id", "description", "quantity", "unit_price")} for ln in invoice["lines"]]
    payment = next(p for p in api.all("payments") if p["invoice_id"] == invoice["id"]) if invoice["status"] == "paid" \
        else None
    with store.wdb.connection():
        model = store.wdb.tables["invoices"]
        model.update(data=json.dumps(old)).where(model.id == int(invoice["id"][3:])).execute()
        if payment:
            pay = store.wdb.tables["payments"]
            data = {k: payment[k] for k in ("invoice_id", "client_id", "amount", "date", "method", "reference")}
            pay.update(data=json.dumps(data)).where(pay.id == int(payment["id"][3:])).execute()
    served = api.get(f"/invoices/{invoice['id']}")
    assert {k: served[k] for k in invoice if k != "lines"} == {k: invoice[k] for k in invoice if k != "lines"}
    assert served["lines"] == [{**ln} for ln in invoice["lines"]]
    assert served["tax"] is None and served["terms"] is None and served["lines"][0]["taxable"] is False
    if payment:
        assert api.get(f"/payments/{payment['id']}")["status"] == "active"


def test_records_the_engine_must_refuse_can_be_planted_and_are_served(work_sandbox, api):
    """Work's own rules refuse these, but older or imported data may hold them (as the demo's invalid
    e-mail address shows); ``store.bulk_insert`` skips the checks, so engine tests can plant them."""
    store, user = work_sandbox.store, work_sandbox.user
    clients, items = _ids(api, "clients"), _ids(api, "items")
    negative = user.add_invoice(clients["Ann Lee"], [{"item_id": items["Service Call"], "unit_price": "-89.00"}])
    assert api.get(f"/invoices/{negative['id']}")["total"] == "-89.00"  # a negative total is valid in Work
    payment = next(p for p in api.all("payments") if p["status"] == "active")
    (too_big,) = store.bulk_insert("refunds", [{
        "client_id": payment["client_id"], "payment_id": payment["id"], "credit_note_id": None,
        "amount": str(Decimal(payment["amount"]) + 100), "date": payment["date"], "method": "card"}])
    (orphan,) = store.bulk_insert("credit-notes", [{"number": "CN-ORPHAN", "client_id": "cl_99999",
                                                    "date": payment["date"], "amount": "12.00"}])
    assert api.get(f"/refunds/{too_big}")["status"] == "active"
    served = api.get(f"/credit-notes/{orphan}")
    assert (served["client_id"], served["amount"], served["subtotal"], served["lines"]) == ("cl_99999", "12.00",
                                                                                          "12.00", [])
