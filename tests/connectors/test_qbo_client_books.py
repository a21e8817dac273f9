"""The v3 client with the sandbox's books entities: credit memos, refunds, payments applying credits,
payment update/void, delete of the new entities, batch, CDC, and the tax/discount faults in plain
language — for the US (AST) and the Canadian company."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from qbosync_desktop.connectors.qbo.client import BatchOp
from qbosync_desktop.core import errors


@pytest.fixture(params=["us", "ca"])
def conn(request, make_qbo_connection):
    c = make_qbo_connection(company=request.param)
    c.flavour = request.param
    return c


def _ids(conn):
    find = conn.sandbox.store.find
    codes = {c["Name"]: c["Id"] for c in conn.sandbox.store.all("TaxCode")}
    return {"ann": find("Customer", DisplayName="Ann Lee")[0]["Id"], "hours": find("Item", Name="Hours")[0]["Id"],
            "checking": find("Account", Name="Business Checking")[0]["Id"],
            "code": "NON" if conn.flavour == "us" else codes["Exempt"]}


def _line(ids, amount, code=None):
    return {"DetailType": "SalesItemLineDetail", "Amount": amount,
            "SalesItemLineDetail": {"ItemRef": {"value": ids["hours"]}, "Qty": 1, "UnitPrice": amount,
                                    "TaxCodeRef": {"value": code or ids["code"]}}}


def test_credit_applied_payment_edited_voided_and_documents_deleted(conn):
    client, ids = conn.client, _ids(conn)
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    inv = client.create("Invoice", {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids, 120)]}, requestid="b-inv")
    memo = client.create("CreditMemo", {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids, 20)]},
                         requestid="b-cm")
    pay = client.create("Payment", {"CustomerRef": {"value": ids["ann"]}, "TotalAmt": 50, "Line": [
        {"Amount": 70, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]},
        {"Amount": 20, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]}, requestid="b-pay")
    assert client.get("Invoice", inv["Id"])["Balance"] == 50
    assert client.get("CreditMemo", memo["Id"])["Balance"] == 0
    # just the fields asked for (what the proof after writing reads of many invoices at once)
    (row,) = client.query("Invoice", where=f"Id IN ('{inv['Id']}')", fields=("Balance", "TotalAmt"))
    assert (row["Id"], row["Balance"], row["TotalAmt"]) == (inv["Id"], 50, 120)
    assert "Line" not in row and "CustomerRef" not in row
    edited = client.update("Payment", {"Id": pay["Id"], "SyncToken": pay["SyncToken"], "TotalAmt": 80, "Line": [
        {"Amount": 100, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]},
        {"Amount": 20, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]}, requestid="b-pay-edit")
    assert edited["Id"] == pay["Id"] and client.get("Invoice", inv["Id"])["Balance"] == 20
    client.void("Payment", pay["Id"], edited["SyncToken"], requestid="b-pay-void")
    assert client.get("Invoice", inv["Id"])["Balance"] == 120
    assert client.get("CreditMemo", memo["Id"])["Balance"] == 20
    refund = client.create("RefundReceipt", {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids, 20)],
                                             "DepositToAccountRef": {"value": ids["checking"]}}, requestid="b-rr")
    memo_now = client.get("CreditMemo", memo["Id"])
    client.delete("CreditMemo", memo["Id"], memo_now["SyncToken"], requestid="b-cm-del")
    client.delete("RefundReceipt", refund["Id"], refund["SyncToken"], requestid="b-rr-del")
    changes = client.cdc(["CreditMemo", "RefundReceipt", "Payment"], since)
    assert [x.get("status") for x in changes["CreditMemo"] if x["Id"] == memo["Id"]] == ["Deleted"]
    assert [x.get("status") for x in changes["RefundReceipt"] if x["Id"] == refund["Id"]] == ["Deleted"]
    assert any(x["Id"] == pay["Id"] and x["TotalAmt"] == 0 for x in changes["Payment"])


def test_batch_creates_credit_memos_and_refunds(conn):
    client, ids = conn.client, _ids(conn)
    ops = [BatchOp("1", "create", "CreditMemo", {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids, 5)]}),
           BatchOp("2", "create", "RefundReceipt", {"Line": [_line(ids, 5)],
                                                    "DepositToAccountRef": {"value": ids["checking"]}}),
           BatchOp("3", "create", "RefundReceipt", {"Line": [_line(ids, 5)]})]
    results = client.batch(ops, requestid="b-batch")
    assert results[0].ok and results[0].obj["TotalAmt"] == 5
    assert results[1].ok and results[1].obj["Balance"] == 0
    assert isinstance(results[2].error, errors.QboValidationError) and results[2].error.code == "2020"


def test_tax_and_discount_faults_read_plainly(conn):
    client, ids = conn.client, _ids(conn)
    discount = {"DetailType": "DiscountLineDetail", "DiscountLineDetail": {"PercentBased": False}}
    with pytest.raises(errors.QboValidationError) as info:
        client.create("CreditMemo", {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids, 5), discount]},
                      requestid="b-6090")
    assert info.value.code == "6090" and "this credit memo" in info.value.message
    assert info.value.hint
    if conn.flavour == "us":
        with pytest.raises(errors.QboValidationError) as bad:
            client.create("Invoice", {"CustomerRef": {"value": ids["ann"]}, "Line": [_line(ids, 5, "7")]},
                          requestid="b-6100")
        assert bad.value.code == "6100" and "taxable" in bad.value.message
    else:
        with pytest.raises(errors.QboValidationError) as missing:
            client.create("Invoice", {"CustomerRef": {"value": ids["ann"]}, "Line": [
                {**_line(ids, 5), "SalesItemLineDetail": {"ItemRef": {"value": ids["hours"]}}}]}, requestid="b-ca-code")
        assert missing.value.code == "6000" and "GST/HST" in missing.value.message
