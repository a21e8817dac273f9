"""Credit memos, refund receipts and payment corrections (update, void, delete) in the practice
QuickBooks over real HTTP, for the US and the Canadian company: balances are recomputed to the cent,
writes replay by requestid, batch, and show in CDC."""

from __future__ import annotations

import pytest

from tests.fixtures.qbo_sandbox import qbo_session


def _post(http, entity, body, **params):
    return http.post(f"{http.company_url}/{entity}", json=body, params=params, timeout=10)


def _ok(resp, entity):
    assert resp.status_code == 200, resp.text
    return resp.json()[entity]


def _code(resp):
    assert resp.status_code == 400, resp.text
    return resp.json()["Fault"]["Error"][0]["code"]


def _get(http, entity, obj_id):
    return _ok(http.get(f"{http.company_url}/{entity.lower()}/{obj_id}", timeout=10), entity)


class Books:
    """One company flavour: its HTTP session, ids and a line maker that taxes nothing (so amounts
    are easy to follow) or, with ``taxed=True``, at the flavour's usual code."""

    def __init__(self, sb, flavour):
        self.sb, self.flavour = sb, flavour
        self.http = qbo_session(sb)
        find = sb.store.find
        self.ann = find("Customer", DisplayName="Ann Lee")[0]["Id"]
        self.carlos = find("Customer", DisplayName="Carlos Núñez")[0]["Id"]
        self.hours = find("Item", Name="Hours")[0]["Id"]
        self.checking = find("Account", Name="Business Checking")[0]["Id"]
        self.services = find("Account", Name="Services")[0]["Id"]
        codes = {c["Name"]: c["Id"] for c in sb.store.all("TaxCode")}
        self.no_tax = "NON" if flavour == "us" else codes["Exempt"]
        self.gst = codes.get("GST")

    def line(self, amount, code=None):
        return {"DetailType": "SalesItemLineDetail", "Amount": amount,
                "SalesItemLineDetail": {"ItemRef": {"value": self.hours}, "Qty": 1, "UnitPrice": amount,
                                        "TaxCodeRef": {"value": code or self.no_tax}}}

    def invoice(self, amount, customer=None):
        return _ok(_post(self.http, "invoice", {"CustomerRef": {"value": customer or self.ann},
                                                "Line": [self.line(amount)]}), "Invoice")

    def credit(self, amount, customer=None, **extra):
        return _ok(_post(self.http, "creditmemo", {"CustomerRef": {"value": customer or self.ann},
                                                   "Line": [self.line(amount)], **extra}), "CreditMemo")

    def pay(self, total, invoices=(), credits=(), customer=None, **params):
        lines = [{"Amount": a, "LinkedTxn": [{"TxnId": i, "TxnType": "Invoice"}]} for i, a in invoices]
        lines += [{"Amount": a, "LinkedTxn": [{"TxnId": c, "TxnType": "CreditMemo"}]} for c, a in credits]
        return _post(self.http, "payment", {"CustomerRef": {"value": customer or self.ann}, "TotalAmt": total,
                                            "Line": lines}, **params)

    def get(self, entity, obj_id):
        return self.sb.store.get(entity, obj_id)


@pytest.fixture(params=["us", "ca"])
def books(request, make_qbo_sandbox):
    b = Books(make_qbo_sandbox(company=request.param), request.param)
    yield b
    b.http.close()


# --- credit memos -------------------------------------------------------------------------------

def test_credit_memo_create_read_query_update_delete(books):
    memo = books.credit(40, DocNumber="CM-1", PrivateNote="returned part")
    assert memo["TotalAmt"] == 40 and memo["Balance"] == 40 and memo["RemainingCredit"] == 40
    assert memo["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert memo["CustomerRef"]["name"] == "Ann Lee"
    read = _get(books.http, "CreditMemo", memo["Id"])
    assert read == memo
    rows = books.http.get(f"{books.http.company_url}/query", timeout=10,
                          params={"query": "select * from CreditMemo where DocNumber = 'CM-1'"}).json()
    assert [r["Id"] for r in rows["QueryResponse"]["CreditMemo"]] == [memo["Id"]]
    upd = _ok(_post(books.http, "creditmemo", {"Id": memo["Id"], "SyncToken": memo["SyncToken"], "sparse": True,
                                               "Line": [books.line(55)]}), "CreditMemo")
    assert upd["TotalAmt"] == 55 and upd["Balance"] == 55 and upd["SyncToken"] == "1"
    assert _code(_post(books.http, "creditmemo", {"CustomerRef": {"value": books.ann}, "DocNumber": "CM-1",
                                                  "Line": [books.line(1)]})) == "6140"
    assert _code(_post(books.http, "creditmemo", {"Line": [books.line(1)]})) == "2020"
    gone = _ok(_post(books.http, "creditmemo", {"Id": memo["Id"], "SyncToken": "1"}, operation="delete"), "CreditMemo")
    assert gone == {"status": "Deleted", "domain": "QBO", "Id": memo["Id"]}
    assert books.get("CreditMemo", memo["Id"]) is None


def test_credit_memo_carries_tax(books):
    code = "TAX" if books.flavour == "us" else books.gst
    body = {"CustomerRef": {"value": books.ann}, "Line": [books.line(100, code)]}
    if books.flavour == "us":
        body["TxnTaxDetail"] = {"TotalTax": 8.9}  # the amount charged, as an AST override
    memo = _ok(_post(books.http, "creditmemo", body), "CreditMemo")
    assert memo["TxnTaxDetail"]["TotalTax"] == (8.9 if books.flavour == "us" else 5)
    assert memo["TotalAmt"] == memo["Balance"] == (108.9 if books.flavour == "us" else 105)


def test_a_credit_is_applied_to_an_invoice_by_a_payment_linking_both(books):
    inv = books.invoice(200)
    memo = books.credit(50)
    pay = _ok(books.pay(0, invoices=[(inv["Id"], 50)], credits=[(memo["Id"], 50)]), "Payment")
    assert pay["TotalAmt"] == 0 and pay["UnappliedAmt"] == 0
    inv_after, memo_after = books.get("Invoice", inv["Id"]), books.get("CreditMemo", memo["Id"])
    assert inv_after["Balance"] == 150 and inv_after["LinkedTxn"] == [{"TxnId": pay["Id"], "TxnType": "Payment"}]
    assert memo_after["Balance"] == 0 and memo_after["RemainingCredit"] == 0
    assert memo_after["LinkedTxn"] == [{"TxnId": pay["Id"], "TxnType": "Payment"}]
    # cash and credit in one payment: 100 cash + a 30 credit pays 130 of the next invoice
    inv2, memo2 = books.invoice(130), books.credit(30)
    pay2 = _ok(books.pay(100, invoices=[(inv2["Id"], 130)], credits=[(memo2["Id"], 30)]), "Payment")
    assert pay2["UnappliedAmt"] == 0 and books.get("Invoice", inv2["Id"])["Balance"] == 0
    # a credit cannot be used twice, used for more than the invoices paid, or for another customer
    assert _code(books.pay(0, invoices=[(inv["Id"], 10)], credits=[(memo["Id"], 10)])) == "6000"
    more = books.credit(20)
    assert _code(books.pay(0, invoices=[(inv["Id"], 10)], credits=[(more["Id"], 20)])) == "6000"
    theirs = books.credit(5, customer=books.carlos)
    assert _code(books.pay(0, invoices=[(inv["Id"], 5)], credits=[(theirs["Id"], 5)])) == "620"
    assert _code(books.pay(0, invoices=[(inv["Id"], 5)], credits=[("9999", 5)])) == "2500"
    # a credit memo cannot drop below the credit already used
    current = books.get("CreditMemo", memo["Id"])
    assert _code(_post(books.http, "creditmemo", {"Id": memo["Id"], "SyncToken": current["SyncToken"], "sparse": True,
                                                  "Line": [books.line(40)]})) == "6000"
    raised = _ok(_post(books.http, "creditmemo", {"Id": memo["Id"], "SyncToken": current["SyncToken"], "sparse": True,
                                                  "Line": [books.line(70)]}), "CreditMemo")
    assert raised["Balance"] == 20 and raised["TotalAmt"] == 70


def test_deleting_an_applied_credit_memo_reopens_the_invoice(books):
    inv, memo = books.invoice(200), books.credit(50)
    pay = _ok(books.pay(0, invoices=[(inv["Id"], 50)], credits=[(memo["Id"], 50)]), "Payment")
    cash = _ok(books.pay(150, invoices=[(inv["Id"], 150)]), "Payment")
    assert books.get("Invoice", inv["Id"])["Balance"] == 0
    memo_now = books.get("CreditMemo", memo["Id"])
    _ok(_post(books.http, "creditmemo", {"Id": memo["Id"], "SyncToken": memo_now["SyncToken"]}, operation="delete"),
        "CreditMemo")
    assert books.get("Invoice", inv["Id"])["Balance"] == 50
    assert books.get("Invoice", inv["Id"])["LinkedTxn"] == [{"TxnId": cash["Id"], "TxnType": "Payment"}]
    emptied = books.get("Payment", pay["Id"])
    assert emptied["Line"] == [] and emptied["UnappliedAmt"] == 0


def test_voiding_an_invoice_gives_its_credit_back(books):
    inv, memo = books.invoice(80), books.credit(30)
    pay = _ok(books.pay(50, invoices=[(inv["Id"], 80)], credits=[(memo["Id"], 30)]), "Payment")
    current = books.get("Invoice", inv["Id"])
    _ok(_post(books.http, "invoice", {"Id": inv["Id"], "SyncToken": current["SyncToken"]}, operation="void"), "Invoice")
    assert books.get("CreditMemo", memo["Id"])["Balance"] == 30
    left = books.get("Payment", pay["Id"])
    assert left["Line"] == [] and left["UnappliedAmt"] == 50  # the cash stays with the customer as a credit


# --- refund receipts ----------------------------------------------------------------------------

def test_refund_receipt_create_read_query_delete(books):
    body = {"CustomerRef": {"value": books.ann}, "DepositToAccountRef": {"value": books.checking},
            "Line": [books.line(25)], "PaymentRefNum": "R-1"}
    refund = _ok(_post(books.http, "refundreceipt", body), "RefundReceipt")
    assert refund["TotalAmt"] == 25 and refund["Balance"] == 0
    assert refund["DepositToAccountRef"] == {"value": books.checking, "name": "Business Checking"}
    assert _get(books.http, "RefundReceipt", refund["Id"]) == refund
    rows = books.http.get(f"{books.http.company_url}/query", timeout=10,
                          params={"query": "select * from RefundReceipt"}).json()["QueryResponse"]["RefundReceipt"]
    assert [r["Id"] for r in rows] == [refund["Id"]]
    assert _code(_post(books.http, "refundreceipt", {**body, "DepositToAccountRef": None})) == "2020"
    assert _code(_post(books.http, "refundreceipt", {**body, "DepositToAccountRef": {"value": books.services}})) == "6000"
    assert _code(_post(books.http, "refundreceipt", {**body, "CustomerRef": {"value": "9999"}})) == "2500"
    gone = _ok(_post(books.http, "refundreceipt", {"Id": refund["Id"], "SyncToken": "0"}, operation="delete"),
               "RefundReceipt")
    assert gone["status"] == "Deleted" and books.get("RefundReceipt", refund["Id"]) is None


def test_refund_receipt_with_tax_and_discount(books):
    code = "TAX" if books.flavour == "us" else books.gst
    body = {"CustomerRef": {"value": books.ann}, "DepositToAccountRef": {"value": books.checking},
            "Line": [books.line(100, code), {"DetailType": "DiscountLineDetail", "Amount": 20,
                                             "DiscountLineDetail": {"PercentBased": False}}]}
    if books.flavour == "us":
        body["TxnTaxDetail"] = {"TotalTax": 6.4}
    refund = _ok(_post(books.http, "refundreceipt", body), "RefundReceipt")
    assert refund["TotalAmt"] == (86.4 if books.flavour == "us" else 84)  # CA: 80 + 5% GST


# --- payment corrections ------------------------------------------------------------------------

def test_payment_sparse_and_full_updates_recompute_the_invoice_balance(books):
    inv = books.invoice(300)
    pay = _ok(books.pay(100, invoices=[(inv["Id"], 100)]), "Payment")
    assert books.get("Invoice", inv["Id"])["Balance"] == 200
    sparse = _ok(_post(books.http, "payment", {
        "Id": pay["Id"], "SyncToken": pay["SyncToken"], "sparse": True, "TotalAmt": 150,
        "Line": [{"Amount": 150, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]}), "Payment")
    assert sparse["TotalAmt"] == 150 and sparse["SyncToken"] == "1"
    assert books.get("Invoice", inv["Id"])["Balance"] == 150
    full = {**sparse, "TotalAmt": 120.5, "PaymentRefNum": "CHK-9",
            "Line": [{"Amount": 120.5, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]}
    full.pop("sparse")
    updated = _ok(_post(books.http, "payment", full), "Payment")
    assert updated["TotalAmt"] == 120.5 and updated["PaymentRefNum"] == "CHK-9"
    assert books.get("Invoice", inv["Id"])["Balance"] == 179.5
    assert _code(_post(books.http, "payment", {**full, "SyncToken": "1"})) == "5010"  # stale
    assert len(books.sb.store.all("Payment")) == 2  # the seeded one and this one: never a second payment


def test_payment_void_and_delete_reopen_invoices_and_credits(books):
    inv, memo = books.invoice(100), books.credit(40)
    pay = _ok(books.pay(60, invoices=[(inv["Id"], 100)], credits=[(memo["Id"], 40)]), "Payment")
    assert books.get("Invoice", inv["Id"])["Balance"] == 0 and books.get("CreditMemo", memo["Id"])["Balance"] == 0
    voided = _ok(_post(books.http, "payment", {"Id": pay["Id"], "SyncToken": pay["SyncToken"], "sparse": True},
                       operation="update", include="void"), "Payment")
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided" and voided["Id"] == pay["Id"]
    assert books.get("Invoice", inv["Id"])["Balance"] == 100
    assert books.get("CreditMemo", memo["Id"])["Balance"] == 40
    second = _ok(books.pay(60, invoices=[(inv["Id"], 100)], credits=[(memo["Id"], 40)]), "Payment")
    _ok(_post(books.http, "payment", {"Id": second["Id"], "SyncToken": second["SyncToken"]}, operation="delete"),
        "Payment")
    assert books.get("Invoice", inv["Id"])["Balance"] == 100
    assert books.get("CreditMemo", memo["Id"])["Balance"] == 40
    assert second["Id"] in books.sb.store.deleted("Payment")


# --- exactly once, batch, CDC -------------------------------------------------------------------

def test_new_writes_replay_by_requestid(books):
    body = {"CustomerRef": {"value": books.ann}, "Line": [books.line(12.5)]}
    first = _post(books.http, "creditmemo", body, requestid="cm-once")
    again = _post(books.http, "creditmemo", body, requestid="cm-once")
    assert first.status_code == again.status_code == 200 and first.content == again.content
    assert len(books.sb.store.all("CreditMemo")) == 1
    refund = {"CustomerRef": {"value": books.ann}, "DepositToAccountRef": {"value": books.checking},
              "Line": [books.line(5)]}
    r1 = _post(books.http, "refundreceipt", refund, requestid="rr-once")
    r2 = _post(books.http, "refundreceipt", refund, requestid="rr-once")
    assert r1.content == r2.content and len(books.sb.store.all("RefundReceipt")) == 1
    inv = books.invoice(50)
    pay = _ok(books.pay(50, invoices=[(inv["Id"], 50)]), "Payment")
    void = {"Id": pay["Id"], "SyncToken": pay["SyncToken"], "sparse": True}
    v1 = _post(books.http, "payment", void, operation="update", include="void", requestid="void-once")
    v2 = _post(books.http, "payment", void, operation="update", include="void", requestid="void-once")
    assert v1.content == v2.content and books.get("Payment", pay["Id"])["SyncToken"] == "1"


def test_new_entities_batch_and_appear_in_cdc(books):
    # the cursor is the time of a response after the seed, as a syncing client would keep it
    since = books.http.get(f"{books.http.company_url}/query", params={"query": "select * from Term"},
                           timeout=10).json()["time"]
    inv = books.invoice(90)
    pay = _ok(books.pay(90, invoices=[(inv["Id"], 90)]), "Payment")
    batch = {"BatchItemRequest": [
        {"bId": "c1", "operation": "create", "CreditMemo": {"CustomerRef": {"value": books.ann},
                                                            "Line": [books.line(10)]}},
        {"bId": "r1", "operation": "create", "RefundReceipt": {"CustomerRef": {"value": books.ann},
                                                               "DepositToAccountRef": {"value": books.checking},
                                                               "Line": [books.line(10)]}},
        {"bId": "r2", "operation": "create", "RefundReceipt": {"Line": [books.line(10)]}},  # no deposit account
        {"bId": "v1", "operation": "void", "Payment": {"Id": pay["Id"], "SyncToken": pay["SyncToken"]}},
        {"bId": "t1", "operation": "create", "Term": {"Name": "Net 60", "DueDays": 60}},
    ]}
    resp = books.http.post(f"{books.http.company_url}/batch", json=batch, timeout=10).json()["BatchItemResponse"]
    by_id = {item["bId"]: item for item in resp}
    assert by_id["c1"]["CreditMemo"]["TotalAmt"] == 10
    assert by_id["r1"]["RefundReceipt"]["TotalAmt"] == 10
    assert by_id["r2"]["Fault"]["Error"][0]["code"] == "2020"
    assert by_id["v1"]["Payment"]["TotalAmt"] == 0
    assert by_id["t1"]["Term"]["DueDays"] == 60
    refund = by_id["r1"]["RefundReceipt"]
    _ok(_post(books.http, "refundreceipt", {"Id": refund["Id"], "SyncToken": "0"}, operation="delete"), "RefundReceipt")
    cdc = books.http.get(f"{books.http.company_url}/cdc", timeout=10, params={
        "entities": "CreditMemo,RefundReceipt,Term,Payment,Invoice", "changedSince": since}).json()
    groups = cdc["CDCResponse"][0]["QueryResponse"]
    assert [o["Id"] for o in groups[0]["CreditMemo"]] == [by_id["c1"]["CreditMemo"]["Id"]]
    assert groups[1]["RefundReceipt"] == [{"domain": "QBO", "status": "Deleted", "Id": refund["Id"],
                                           "MetaData": groups[1]["RefundReceipt"][0]["MetaData"]}]
    assert [o["Name"] for o in groups[2]["Term"]] == ["Net 60"]
    assert pay["Id"] in [o["Id"] for o in groups[3]["Payment"]]
    assert books.get("Invoice", inv["Id"])["Balance"] == 90


def test_text_field_lengths(books):
    base = {"CustomerRef": {"value": books.ann}, "Line": [books.line(1)]}
    for body, element in [({**base, "PrivateNote": "n" * 4001}, "PrivateNote"),
                          ({**base, "CustomerMemo": {"value": "m" * 1001}}, "CustomerMemo"),
                          ({**base, "Line": [{**books.line(1), "Description": "d" * 4001}]}, "Line.Description")]:
        resp = _post(books.http, "creditmemo", body)
        assert _code(resp) == "2050" and resp.json()["Fault"]["Error"][0]["element"] == element
    assert _post(books.http, "creditmemo", {**base, "PrivateNote": "n" * 4000}).status_code == 200
    pay = {"CustomerRef": {"value": books.ann}, "TotalAmt": 1}
    assert _post(books.http, "payment", {**pay, "PaymentRefNum": "9" * 21}).status_code == 200
    assert _code(_post(books.http, "payment", {**pay, "PaymentRefNum": "9" * 22})) == "2050"
