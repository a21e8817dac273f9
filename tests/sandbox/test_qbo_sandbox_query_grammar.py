"""The QBO query language, table-driven against the seeded practice company (read-only, so one server
serves the whole table)."""

from __future__ import annotations

import pytest
import requests

from qbosync_desktop.sandbox.qbo import QboSandbox
from qbosync_desktop.sandbox.qbo.testing import qbo_sandbox_tokens


@pytest.fixture(scope="module")
def http():
    sb = QboSandbox(auto_consent=True, throttle=False)
    sb.start()
    tokens = qbo_sandbox_tokens(sb)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"})
    session.company_url = f"{sb.config.api_base}/company/{sb.config.realm_id}"
    session.sandbox = sb
    yield session
    session.close()
    sb.stop()


def _query(http, text, post=False):
    if post:
        return http.post(f"{http.company_url}/query", data=text.encode("utf-8"),
                         headers={"Content-Type": "application/text"}, params={"minorversion": "75"}, timeout=10)
    return http.get(f"{http.company_url}/query", params={"query": text, "minorversion": "75"}, timeout=10)


def names(key="DisplayName", entity="Customer"):
    return lambda qr: [o[key] for o in qr.get(entity, [])]


# (query, check) where check is: a fault code string "4000"/"4001", an int total for count(*),
# a list of expected names (in order), or a callable(QueryResponse) -> bool.
CASES = [
    ("select * from Customer where DisplayName = 'Ann Lee'", ["Ann Lee"]),
    ("SELECT * FROM CUSTOMER WHERE DISPLAYNAME = 'Ann Lee'", ["Ann Lee"]),
    ("select * from customer where displayname = 'ann lee'", ["Ann Lee"]),
    ("select * from Customer where DisplayName LIKE 'Green%'", ["Green Valley HOA"]),
    ("select * from Customer where DisplayName like '%bakery%'", ["Maple Street Bakery", "Maple Street Bakery - Warehouse"]),
    ("select * from Customer where DisplayName LIKE '%Court'", ["12 Elm Court"]),
    ("select * from Customer where DisplayName = 'Old Mill Antiques'", []),  # inactive hidden
    ("select * from Customer where DisplayName = 'Old Mill Antiques' and Active = false", ["Old Mill Antiques"]),
    ("select count(*) from Customer", 19),
    ("select count(*) from Customer where Active IN (true, false)", 20),
    ("select count(*) from Customer where Active = false", 1),
    ("SELECT COUNT(*) FROM Customer WHERE Job = true", 5),
    ("select count(*) from Vendor", 5),
    ("select count(*) from Item where Type = 'Service'", 4),
    ("select count(*) from Account where AccountType = 'Income'", 3),
    ("select count(*) from Account where AccountType IN ('Expense', 'Cost of Goods Sold')", 6),
    ("select count(*) from Account where AccountType IN ('Bank','Other Current Asset')", 3),
    ("select * from Account where AccountSubType = 'UndepositedFunds'", lambda qr: [a["Name"] for a in qr["Account"]] == ["Undeposited Funds"]),
    ("select * from Customer where Id = '1'", ["Ann Lee"]),
    ("select * from Customer where Id IN ('1', '2')", ["Ann Lee", "Brightside Dental LLC"]),
    ("select * from Customer where Id < '3'", ["Ann Lee", "Brightside Dental LLC"]),
    ("select * from Customer where Id > '18'", ["12 Elm Court", "48 Birch Lane"]),
    ("select * from Customer where Id >= '19' and Id <= '19'", ["12 Elm Court"]),
    ("select * from Customer where ParentRef = '4'", ["Clubhouse", "Pool House"]),
    ("select * from Customer where PrimaryEmailAddr = 'carlos.nunez@example.com'", ["Carlos Núñez"]),
    ("select * from Customer where DisplayName = 'Carlos Núñez'", ["Carlos Núñez"]),
    ("select * from Customer where Id IN ('1','2','3') ORDERBY DisplayName DESC", ["Carlos Núñez", "Brightside Dental LLC", "Ann Lee"]),
    ("select * from Customer where Id IN ('1','2','3') orderby DisplayName asc", ["Ann Lee", "Brightside Dental LLC", "Carlos Núñez"]),
    ("select * from Customer ORDERBY Id STARTPOSITION 1 MAXRESULTS 2", ["Ann Lee", "Brightside Dental LLC"]),
    ("select * from Customer ORDERBY Id STARTPOSITION 3 MAXRESULTS 2", ["Carlos Núñez", "Green Valley HOA"]),
    ("select * from Customer MAXRESULTS 2 STARTPOSITION 3", ["Carlos Núñez", "Green Valley HOA"]),
    ("select * from Customer STARTPOSITION 100", []),
    ("select * from Customer MAXRESULTS 1000", lambda qr: qr["maxResults"] == 19 and qr["startPosition"] == 1),
    ("select * from Customer", lambda qr: len(qr["Customer"]) == 19 and qr["maxResults"] == 19),
    ("select * from Customer MAXRESULTS 1001", "4001"),
    ("select * from Customer MAXRESULTS 0", "4001"),
    ("select * from Customer where DisplayName = 'Nobody\\'s Home'", []),
    ("select * from Vendor where DisplayName = 'Dave\\'s Electrical Subcontracting'", lambda qr: len(qr["Vendor"]) == 1),
    ("select * from Vendor where DisplayName = 'Dave's Electrical Subcontracting'", "4000"),
    ("select * from Customer where DisplayName = 'unterminated", "4000"),
    ("select * from Customer where DisplayName = 'A' or DisplayName = 'B'", "4000"),
    ("select * from Customer join Vendor", "4000"),
    ("select * from Customer group by DisplayName", "4000"),
    ("select from Customer", "4000"),
    ("select * Customer", "4000"),
    ("select * from Gizmo", "4000"),
    ("select * from Customer where", "4000"),
    ("select * from Customer where DisplayName ! 'x'", "4000"),
    ("delete from Customer", "4000"),
    ("select * from Invoice where DocNumber = '1001'", lambda qr: qr["Invoice"][0]["Balance"] == 190.0),
    ("select * from Invoice where Balance > '0' ORDERBY DocNumber", lambda qr: [i["DocNumber"] for i in qr["Invoice"]] == ["1001", "1002", "1003", "1004"]),
    ("select * from Invoice where TotalAmt >= 340", lambda qr: sorted(i["DocNumber"] for i in qr["Invoice"]) == ["1003", "1004"]),
    ("select * from Invoice where CustomerRef = '1'", lambda qr: [i["DocNumber"] for i in qr["Invoice"]] == ["1001"]),
    ("select * from Invoice where MetaData.LastUpdatedTime > '2000-01-01T00:00:00-08:00'", lambda qr: len(qr["Invoice"]) == 4),
    ("select * from Invoice where MetaData.LastUpdatedTime > '2100-01-01T00:00:00Z'", []),
    ("select * from Invoice where MetaData.CreateTime >= '2000-01-01'", lambda qr: len(qr["Invoice"]) == 4),
    ("select * from Payment", lambda qr: qr["Payment"][0]["TotalAmt"] == 100.0),
    ("select * from Bill where DocNumber = 'NWP-20931'", lambda qr: qr["Bill"][0]["TotalAmt"] == 412.75),
    ("select Id, DisplayName from Customer where Id = '2'", lambda qr: qr["Customer"][0].get("DisplayName") == "Brightside Dental LLC" and "BillAddr" not in qr["Customer"][0]),
    ("select * from CompanyInfo", lambda qr: qr["CompanyInfo"][0]["CompanyName"] == "Cedar & Pine Home Services"),
    ("select * from Item where Name = 'Hours'", lambda qr: qr["Item"][0]["IncomeAccountRef"]["name"] == "Services"),
    ("  select   *   from   Customer   where   DisplayName='Ann Lee'  ", ["Ann Lee"]),
    ("select count(*) from Customer where DisplayName LIKE '%'", 19),
    # answered by lookups (Id, unique name, update time) rather than a scan: the same semantics
    ("select * from Customer where Id IN (3, '1') ORDERBY Id DESC", ["Carlos Núñez", "Ann Lee"]),
    ("select * from Customer where Id = '01'", ["Ann Lee"]),
    ("select * from Customer where Id IN ('1', '2', '999') and DisplayName IN ('ann lee', 'Nobody')", ["Ann Lee"]),
    ("select * from Customer where DisplayName = 'Old Mill Antiques' and Id > '0'", []),  # inactive hidden
    ("select * from Invoice where DocNumber = 1001", lambda qr: [i["DocNumber"] for i in qr["Invoice"]] == ["1001"]),
    ("select count(*) from Invoice where MetaData.LastUpdatedTime >= '2000-01-01T00:00:00Z' and Id IN ('1', '2')", 2),
]


@pytest.mark.parametrize(("text", "check"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_query(http, text, check):
    resp = _query(http, text, post=CASES.index((text, check)) % 2 == 1)
    body = resp.json()
    if isinstance(check, str):
        assert resp.status_code == 400, body
        assert body["Fault"]["Error"][0]["code"] == check
        assert body["Fault"]["type"] == "ValidationFault"
        return
    assert resp.status_code == 200, body
    assert "time" in body
    qr = body["QueryResponse"]
    if isinstance(check, int):
        assert qr == {"totalCount": check}
    elif isinstance(check, list):
        if not check:
            assert qr == {}  # an empty result has no entity key
        else:
            assert names()(qr) == check
    else:
        assert check(qr), qr


def test_table_is_big_enough():
    assert len(CASES) >= 40


def test_paging_walks_every_row_once_in_id_order(qbo_sandbox, qbo_http):
    for i in range(230):
        qbo_sandbox.user.create("Customer", {"DisplayName": f"Pager {i:03d}"})
    qbo_sandbox.user.set_active("Customer", qbo_sandbox.store.find("Customer", DisplayName="Pager 005")[0]["Id"], False)
    seen: list[str] = []
    start = 1
    while True:
        qr = _query(qbo_http, f"select * from Customer where DisplayName LIKE 'Pager%' "
                              f"STARTPOSITION {start} MAXRESULTS 100").json()["QueryResponse"]
        if not qr:
            break
        assert qr["startPosition"] == start
        seen += [c["DisplayName"] for c in qr["Customer"]]
        start += qr["maxResults"]
    expected = [f"Pager {i:03d}" for i in range(230) if i != 5]
    assert seen == expected
    total = _query(qbo_http, "select count(*) from Customer where DisplayName LIKE 'Pager%'").json()
    assert total["QueryResponse"]["totalCount"] == 229
