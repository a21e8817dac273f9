"""The v3 client against the practice sandbox: paging, reads, writes, void/delete, batch, CDC, accounts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from qbosync_desktop.connectors.qbo.client import BatchOp
from qbosync_desktop.connectors.qbo.query import condition
from qbosync_desktop.core import errors


def customer_ops(names: list[str], start: int = 0) -> list[BatchOp]:
    return [BatchOp(str(start + i), "create", "Customer", {"DisplayName": n}) for i, n in enumerate(names)]


def test_bulk_reads_page_past_1000_rows_and_split_capped_cdc_windows(qbo_connection):
    conn = qbo_connection
    client = conn.client
    start = datetime.now(timezone.utc) - timedelta(days=2)
    names = [f"Bulk Customer {i:04d}" for i in range(1100)]
    assert all(r.ok for r in client.batch_chunked(customer_ops(names[:600]), lambda i: f"bulk-a-{i}"))
    conn.sandbox.clock.advance(3600)  # the rest an hour later, so a narrower CDC window can separate them
    assert all(r.ok for r in client.batch_chunked(customer_ops(names[600:], 600), lambda i: f"bulk-b-{i}"))
    everyone = {c["Id"] for c in conn.sandbox.store.all("Customer")}

    before = client.stats.requests
    rows = list(client.query("Customer", where="Active IN (true, false)"))
    assert client.stats.requests - before == 2  # a 1000-row page and the rest
    assert len(rows) == len(everyone) == client.count("Customer", where="Active IN (true, false)")
    assert {r["Id"] for r in rows} == everyone  # no row twice, none skipped

    before = client.stats.requests
    now = datetime.fromtimestamp(conn.sandbox.clock.now(), timezone.utc)
    changes = client.cdc(["Customer"], start, now=now)
    ids = [x["Id"] for x in changes["Customer"]]
    assert len(ids) == len(set(ids))  # overlapping answers merged by Id
    assert set(ids) == everyone  # nothing lost to the 1000-object cap
    assert client.stats.requests - before >= 3  # the capped answer, a narrower window, the query

    # the same read a page at a time (issue 18: the settle step's read-back of a run's own writes)
    pages = list(client.cdc_pages("Customer", start, now=now))
    paged = [x["Id"] for page in pages for x in page]
    assert len(pages) >= 2 and all(len(page) <= 1000 for page in pages)
    assert len(paged) == len(set(paged)) and set(paged) == everyone


def test_a_name_with_an_apostrophe_is_found_by_a_quoted_query(qbo_connection):
    client = qbo_connection.client
    created = client.create("Customer", {"DisplayName": "O'Brien \\ Sons"}, requestid="create-obrien")
    found = list(client.query("Customer", where=condition("DisplayName", "=", "O'Brien \\ Sons")))
    assert [c["Id"] for c in found] == [created["Id"]]


def test_create_get_sparse_and_full_update(qbo_connection):
    client = qbo_connection.client
    c = client.create("Customer", {"DisplayName": "Brand New Co", "CompanyName": "Brand New"}, requestid="c-1")
    assert client.get("Customer", c["Id"])["DisplayName"] == "Brand New Co"
    sparse = client.update("Customer", {"Id": c["Id"], "SyncToken": c["SyncToken"], "Notes": "hi"}, requestid="u-1")
    assert sparse["CompanyName"] == "Brand New" and sparse["Notes"] == "hi"
    full = client.update(
        "Customer", {"Id": c["Id"], "SyncToken": sparse["SyncToken"], "DisplayName": "Brand New Co"},
        requestid="u-2", sparse=False,
    )
    assert not full.get("CompanyName")  # a full update blanks what was not sent
    with pytest.raises(errors.StaleObject) as info:
        client.update("Customer", {"Id": c["Id"], "SyncToken": c["SyncToken"], "Notes": "x"}, requestid="u-3")
    assert info.value.code == "5010" and info.value.transient
    with pytest.raises(ValueError):
        client.create("Customer", {"DisplayName": "No Id"}, requestid="")


def test_duplicate_name_fault_names_the_customer(qbo_connection):
    client = qbo_connection.client
    existing = qbo_connection.sandbox.store.all("Customer")[0]["DisplayName"]
    with pytest.raises(errors.DuplicateName) as info:
        client.create("Customer", {"DisplayName": existing}, requestid="dup-1")
    err = info.value
    assert err.message == f"QuickBooks already has a customer or vendor called '{existing}'."
    assert err.code == "6240" and err.details["intuit_tid"]


def test_void_invoice_void_payment_and_delete_bill(qbo_connection):
    conn = qbo_connection
    client = conn.client
    inv = conn.sandbox.store.all("Invoice")[-1]
    voided = client.void("Invoice", inv["Id"], inv["SyncToken"], requestid="void-inv")
    assert float(voided["TotalAmt"]) == 0 and voided["PrivateNote"] == "Voided" and voided["Id"] == inv["Id"]
    pay = conn.sandbox.store.all("Payment")[0]
    client.void("Payment", pay["Id"], pay["SyncToken"], requestid="void-pay")
    assert float(conn.sandbox.store.get("Payment", pay["Id"])["TotalAmt"]) == 0
    bill = conn.sandbox.store.all("Bill")[0]
    client.delete("Bill", bill["Id"], bill["SyncToken"], requestid="del-bill")
    assert conn.sandbox.store.get("Bill", bill["Id"]) is None
    with pytest.raises(errors.InvalidReference):
        client.get("Bill", bill["Id"])


def test_batch_returns_one_result_per_operation_by_bid(qbo_connection):
    client = qbo_connection.client
    existing = qbo_connection.sandbox.store.all("Customer")[0]["DisplayName"]
    ops = [
        BatchOp("a", "create", "Customer", {"DisplayName": "Batch One"}),
        BatchOp("b", "create", "Customer", {"DisplayName": existing}),
        BatchOp("c", "create", "Customer", {"DisplayName": "Bad: Colon"}),
        BatchOp("d", "query", "Customer", "SELECT * FROM Customer WHERE DisplayName = 'Batch One'"),
    ]
    results = client.batch(ops, requestid="batch-mixed")
    assert [r.bid for r in results] == ["a", "b", "c", "d"]
    assert results[0].ok and results[0].obj["DisplayName"] == "Batch One"
    assert isinstance(results[1].error, errors.DuplicateName) and existing in results[1].error.message
    assert isinstance(results[2].error, errors.QboValidationError) and results[2].error.code == "2040"
    assert results[3].ok and isinstance(results[3].obj, dict)
    # replaying the same requestid answers the original batch without writing again
    again = client.batch(ops, requestid="batch-mixed")
    assert again[0].obj["Id"] == results[0].obj["Id"]
    assert len(qbo_connection.sandbox.store.find("Customer", DisplayName="Batch One")) == 1
    with pytest.raises(ValueError):
        client.batch(customer_ops([f"n{i}" for i in range(31)]), requestid="too-big")


def test_batch_chunked_sends_thirty_per_request(qbo_connection):
    client = qbo_connection.client
    before = client.stats.requests
    ids = []
    results = client.batch_chunked(customer_ops([f"Chunked {i}" for i in range(65)]), lambda i: ids.append(i) or f"chunk-{i}")
    assert len(results) == 65 and all(r.ok for r in results)
    assert ids == [0, 1, 2] and client.stats.requests - before == 3


def test_cdc_reports_changes_and_deletions_and_refuses_old_windows(qbo_connection):
    conn = qbo_connection
    client = conn.client
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    c = client.create("Customer", {"DisplayName": "CDC Person"}, requestid="cdc-c")
    bill = conn.sandbox.store.all("Bill")[0]
    client.delete("Bill", bill["Id"], bill["SyncToken"], requestid="cdc-del")
    changes = client.cdc(["Customer", "Bill"], since - timedelta(days=1))
    assert c["Id"] in {x["Id"] for x in changes["Customer"]}
    assert {"Id": bill["Id"], "status": "Deleted"}.items() <= next(
        x for x in changes["Bill"] if x["Id"] == bill["Id"]
    ).items()
    with pytest.raises(errors.ConfigurationError) as info:
        client.cdc(["Customer"], datetime.now(timezone.utc) - timedelta(days=31))
    assert info.value.field == "changedSince"


def test_company_info_and_account_groups(qbo_connection):
    client = qbo_connection.client
    assert client.company_info()["CompanyName"] == qbo_connection.result.company_name
    groups = client.accounts()
    types = {g: {a["AccountType"] for a in accts} for g, accts in groups.items()}
    assert types["income"] == {"Income"}
    assert types["expense"] <= {"Expense", "Cost of Goods Sold"} and types["expense"]
    assert types["deposit"] <= {"Bank", "Other Current Asset"} and types["deposit"]
    assert types["ap"] == {"Accounts Payable"}
    assert all(a["Id"] and a["Name"] for accts in groups.values() for a in accts)


def test_every_call_sends_minorversion_75_and_writes_carry_the_callers_requestid(qbo_connection):
    client = qbo_connection.client
    seen: list[str] = []
    client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.url))
    client.count("Customer")
    client.company_info()
    c = client.create("Customer", {"DisplayName": "Minor Version"}, requestid="mv-create")
    client.update("Customer", {"Id": c["Id"], "SyncToken": c["SyncToken"], "Notes": "n"}, requestid="mv-update")
    assert len(seen) == 4 and all("minorversion=75" in u for u in seen)
    assert "requestid=mv-create" in seen[2] and "requestid=mv-update" in seen[3]
    with pytest.raises(errors.QueryError) as info:
        client.query_raw("SELECT * FROM Customer WHERE DisplayName = 'unterminated")
    assert info.value.code == "4000"
