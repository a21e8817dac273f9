"""Invoices, payments and bills in the sandbox: computed totals and balances, void/delete, and QBO's
validation faults (6070, 6140, 620, 610, 2050, account-type rules)."""

from __future__ import annotations

import pytest


def _post(http, entity, body, **params):
    return http.post(f"{http.company_url}/{entity}", json=body, params=params, timeout=10)


def _code(resp):
    assert resp.status_code == 400, resp.text
    err = resp.json()["Fault"]["Error"][0]
    return err["code"]


def _id(sb, entity, **fields):
    return sb.store.find(entity, **fields)[0]["Id"]


def _line(item_id, qty, price, amount=None):
    return {"DetailType": "SalesItemLineDetail", "Amount": round(qty * price, 2) if amount is None else amount,
            "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": price}}


@pytest.fixture
def ids(qbo_sandbox):
    sb = qbo_sandbox
    return {
        "ann": _id(sb, "Customer", DisplayName="Ann Lee"),
        "carlos": _id(sb, "Customer", DisplayName="Carlos Núñez"),
        "hoa": _id(sb, "Customer", DisplayName="Green Valley HOA"),
        "clubhouse": _id(sb, "Customer", DisplayName="Clubhouse"),
        "inactive": _id(sb, "Customer", DisplayName="Old Mill Antiques"),
        "hours": _id(sb, "Item", Name="Hours"),
        "checking": _id(sb, "Account", Name="Business Checking"),
        "undeposited": _id(sb, "Account", Name="Undeposited Funds"),
        "services": _id(sb, "Account", Name="Services"),
        "materials": _id(sb, "Account", Name="Job Materials"),
        "ap": _id(sb, "Account", Name="Accounts Payable (A/P)"),
        "vendor": _id(sb, "Vendor", DisplayName="Ace Equipment Rentals"),
    }


def test_invoice_totals_balance_update_void_delete(qbo_sandbox, qbo_http, ids):
    inv = _post(qbo_http, "invoice", {"CustomerRef": {"value": ids["carlos"]}, "DocNumber": "W-1",
                                      "Line": [_line(ids["hours"], 2, 85), _line(ids["hours"], 1.5, 85)]}).json()["Invoice"]
    assert inv["TotalAmt"] == 297.5 and inv["Balance"] == 297.5
    assert inv["CustomerRef"] == {"value": ids["carlos"], "name": "Carlos Núñez"}
    assert inv["Line"][-1]["DetailType"] == "SubTotalLineDetail" and inv["Line"][-1]["Amount"] == 297.5
    assert inv["TxnDate"] and inv["SyncToken"] == "0"
    # sending every line again (all-or-nothing lines) with the SubTotal line is fine
    upd = _post(qbo_http, "invoice", {**inv, "Line": inv["Line"][:1] + inv["Line"][2:]}).json()["Invoice"]
    assert upd["TotalAmt"] == 170 and upd["SyncToken"] == "1"
    sparse = _post(qbo_http, "invoice", {"Id": inv["Id"], "SyncToken": "1", "sparse": True, "PrivateNote": "hi"}).json()
    assert sparse["Invoice"]["TotalAmt"] == 170 and sparse["Invoice"]["PrivateNote"] == "hi"
    voided = _post(qbo_http, "invoice", {"Id": inv["Id"], "SyncToken": "2"}, operation="void").json()["Invoice"]
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and voided["PrivateNote"] == "Voided"
    assert voided["SyncToken"] == "3"
    deleted = _post(qbo_http, "invoice", {"Id": inv["Id"], "SyncToken": "3"}, operation="delete").json()
    assert deleted["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": inv["Id"]}
    assert qbo_sandbox.store.get("Invoice", inv["Id"]) is None


def test_invoice_doc_number_rules(qbo_http, ids):
    body = {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids["hours"], 1, 85)]}
    auto = _post(qbo_http, "invoice", body).json()["Invoice"]
    assert auto["DocNumber"] == "1005"  # seeded 1001-1004
    assert _code(_post(qbo_http, "invoice", {**body, "DocNumber": "1001"})) == "6140"
    dup = _post(qbo_http, "invoice", {**body, "DocNumber": "1001"}, include="allowduplicatedocnum")
    assert dup.status_code == 200 and dup.json()["Invoice"]["DocNumber"] == "1001"
    assert _code(_post(qbo_http, "invoice", {**body, "DocNumber": "X" * 22})) == "2050"
    assert _post(qbo_http, "invoice", {**body, "DocNumber": "X" * 21}).status_code == 200


def test_invoice_validation_faults(qbo_http, ids):
    good_line = _line(ids["hours"], 2, 85)
    cases = [
        ({"Line": [good_line]}, "2020"),                                                  # no CustomerRef
        ({"CustomerRef": {"value": "9999"}, "Line": [good_line]}, "2500"),                # unknown customer
        ({"CustomerRef": {"value": ids["inactive"]}, "Line": [good_line]}, "610"),        # inactive customer
        ({"CustomerRef": {"value": ids["ann"]}, "Line": []}, "2020"),                     # no lines
        ({"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids["hours"], 2, 85, amount=100)]}, "6070"),
        ({"CustomerRef": {"value": ids["ann"]}, "Line": [_line("9999", 1, 10)]}, "2500"),  # unknown item
    ]
    for body, code in cases:
        assert _code(_post(qbo_http, "invoice", body)) == code, body


def test_payment_reduces_balance_and_handles_overpayment(qbo_sandbox, qbo_http, ids):
    inv = _post(qbo_http, "invoice", {"CustomerRef": {"value": ids["carlos"]},
                                      "Line": [_line(ids["hours"], 2, 85)]}).json()["Invoice"]
    pay = _post(qbo_http, "payment", {"CustomerRef": {"value": ids["carlos"]}, "TotalAmt": 200,
                                      "Line": [{"Amount": 170, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]})
    pay = pay.json()["Payment"]
    assert pay["UnappliedAmt"] == 30  # overpayment stays as credit
    assert pay["DepositToAccountRef"] == {"value": ids["undeposited"], "name": "Undeposited Funds"}
    after = qbo_sandbox.store.get("Invoice", inv["Id"])
    assert after["Balance"] == 0 and after["SyncToken"] == "1"
    assert after["LinkedTxn"] == [{"TxnId": pay["Id"], "TxnType": "Payment"}]
    # void the payment (operation=update&include=void): the invoice is open again
    voided = _post(qbo_http, "payment", {"Id": pay["Id"], "SyncToken": pay["SyncToken"], "sparse": True},
                   operation="update", include="void").json()["Payment"]
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided"
    assert qbo_sandbox.store.get("Invoice", inv["Id"])["Balance"] == 170
    # a new payment to a checking account, then deleted
    pay2 = _post(qbo_http, "payment", {"CustomerRef": {"value": ids["carlos"]}, "TotalAmt": 50,
                                       "DepositToAccountRef": {"value": ids["checking"]},
                                       "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]})
    pay2 = pay2.json()["Payment"]
    assert qbo_sandbox.store.get("Invoice", inv["Id"])["Balance"] == 120
    gone = _post(qbo_http, "payment", {"Id": pay2["Id"], "SyncToken": pay2["SyncToken"]}, operation="delete")
    assert gone.json()["Payment"]["status"] == "Deleted"
    assert qbo_sandbox.store.get("Invoice", inv["Id"])["Balance"] == 170


def test_parent_may_pay_a_sub_customer_invoice(qbo_sandbox, qbo_http, ids):
    inv = qbo_sandbox.store.find("Invoice", DocNumber="1003")[0]
    assert inv["CustomerRef"]["value"] == ids["clubhouse"]
    pay = _post(qbo_http, "payment", {"CustomerRef": {"value": ids["hoa"]}, "TotalAmt": 10,
                                      "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]})
    assert pay.status_code == 200


def test_payment_validation_faults(qbo_sandbox, qbo_http, ids):
    ann_invoice = qbo_sandbox.store.find("Invoice", DocNumber="1001")[0]["Id"]  # balance 190
    link = [{"TxnId": ann_invoice, "TxnType": "Invoice"}]
    cases = [
        ({"CustomerRef": {"value": ids["carlos"]}, "TotalAmt": 10, "Line": [{"Amount": 10, "LinkedTxn": link}]}, "620"),
        ({"CustomerRef": {"value": ids["ann"]}, "Line": []}, "2020"),
        ({"CustomerRef": {"value": ids["ann"]}, "TotalAmt": 500, "Line": [{"Amount": 500, "LinkedTxn": link}]}, "6000"),
        ({"CustomerRef": {"value": ids["ann"]}, "TotalAmt": 10, "Line": [{"Amount": 20, "LinkedTxn": link}]}, "6000"),
        ({"CustomerRef": {"value": ids["ann"]}, "TotalAmt": 10, "DepositToAccountRef": {"value": ids["services"]}}, "6000"),
        ({"CustomerRef": {"value": ids["ann"]}, "TotalAmt": 10,
          "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": "9999", "TxnType": "Invoice"}]}]}, "2500"),
        ({"CustomerRef": {"value": ids["inactive"]}, "TotalAmt": 10}, "610"),
    ]
    for body, code in cases:
        assert _code(_post(qbo_http, "payment", body)) == code, body
    assert qbo_sandbox.store.get("Invoice", ann_invoice)["Balance"] == 190


def test_voiding_or_deleting_an_invoice_unapplies_its_payments(qbo_sandbox, qbo_http):
    inv = qbo_sandbox.store.find("Invoice", DocNumber="1001")[0]
    pay_id = inv["LinkedTxn"][0]["TxnId"]
    qbo_sandbox.user.void_invoice(inv["Id"])
    pay = qbo_sandbox.store.get("Payment", pay_id)
    assert pay["Line"] == [] and pay["UnappliedAmt"] == 100


def test_bill_rules(qbo_sandbox, qbo_http, ids):
    line = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 300,
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids["materials"]}}}
    bill = _post(qbo_http, "bill", {"VendorRef": {"value": ids["vendor"]}, "DocNumber": "ACE-1", "Line": [line]}).json()["Bill"]
    assert bill["TotalAmt"] == 300 and bill["Balance"] == 300
    assert bill["APAccountRef"] == {"value": ids["ap"], "name": "Accounts Payable (A/P)"}
    assert bill["VendorRef"]["name"] == "Ace Equipment Rentals"
    cases = [
        ({"VendorRef": {"value": ids["vendor"]}, "DocNumber": "ACE-1", "Line": [line]}, "6140"),
        ({"VendorRef": {"value": ids["vendor"]}, "DocNumber": "A" * 22, "Line": [line]}, "2050"),
        ({"VendorRef": {"value": ids["vendor"]}, "Line": [line], "APAccountRef": {"value": ids["checking"]}}, "6000"),
        ({"VendorRef": {"value": "9999"}, "Line": [line]}, "2500"),
        ({"Line": [line]}, "2020"),
        ({"VendorRef": {"value": ids["vendor"]}, "Line": []}, "2020"),
        ({"VendorRef": {"value": ids["vendor"]}, "Line": [{**line, "DetailType": "ItemBasedExpenseLineDetail"}]}, "6000"),
    ]
    for body, code in cases:
        assert _code(_post(qbo_http, "bill", body)) == code, body
    dup = _post(qbo_http, "bill", {"VendorRef": {"value": ids["vendor"]}, "DocNumber": "ACE-1", "Line": [line]},
                include="allowduplicatedocnum")
    assert dup.status_code == 200
    sparse = _post(qbo_http, "bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "ok"}).json()
    assert "Bill" in sparse, sparse
    sparse = sparse["Bill"]
    assert sparse["SyncToken"] == "1" and sparse["TotalAmt"] == 300
    assert _code(_post(qbo_http, "bill", {"Id": bill["Id"], "SyncToken": "1"}, operation="void")) == "500"
    deleted = _post(qbo_http, "bill", {"Id": bill["Id"], "SyncToken": "1"}, operation="delete").json()["Bill"]
    assert deleted["status"] == "Deleted"


def test_stale_void_and_delete_are_5010(qbo_sandbox, qbo_http):
    inv = qbo_sandbox.store.find("Invoice", DocNumber="1002")[0]
    assert _code(_post(qbo_http, "invoice", {"Id": inv["Id"], "SyncToken": "99"}, operation="void")) == "5010"
    assert _code(_post(qbo_http, "invoice", {"Id": inv["Id"], "SyncToken": "99"}, operation="delete")) == "5010"


def test_a_payment_moved_to_another_invoice_leaves_the_first_open(qbo_sandbox, qbo_http, ids):
    """Payments are found per invoice through an index; moving one must update both balances."""
    first, second = (
        _post(qbo_http, "invoice", {"CustomerRef": {"value": ids["carlos"]}, "Line": [_line(ids["hours"], 1, 100)]})
        .json()["Invoice"] for _ in range(2)
    )

    def link(inv):
        return [{"Amount": 60, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]

    pay = _post(qbo_http, "payment", {"CustomerRef": {"value": ids["carlos"]}, "TotalAmt": 60, "Line": link(first)})
    pay = pay.json()["Payment"]
    assert qbo_sandbox.store.get("Invoice", first["Id"])["Balance"] == 40
    moved = _post(qbo_http, "payment", {"Id": pay["Id"], "SyncToken": pay["SyncToken"], "sparse": True,
                                        "Line": link(second)}).json()["Payment"]
    assert qbo_sandbox.store.get("Invoice", first["Id"])["Balance"] == 100
    assert qbo_sandbox.store.get("Invoice", second["Id"])["Balance"] == 40
    # 100 still open on the first invoice: a second payment of 100 fits, 100.01 would not
    over = _post(qbo_http, "payment", {"CustomerRef": {"value": ids["carlos"]}, "TotalAmt": 100.01,
                                       "Line": [{"Amount": 100.01, "LinkedTxn": [{"TxnId": first["Id"], "TxnType": "Invoice"}]}]})
    assert _code(over) == "6000"
    # voiding the first invoice does not touch the moved payment
    inv = qbo_sandbox.store.get("Invoice", first["Id"])
    _post(qbo_http, "invoice", {"Id": inv["Id"], "SyncToken": inv["SyncToken"]}, operation="void")
    assert qbo_sandbox.store.get("Payment", moved["Id"])["Line"][0]["LinkedTxn"][0]["TxnId"] == second["Id"]
    assert qbo_sandbox.store.get("Invoice", second["Id"])["Balance"] == 40
