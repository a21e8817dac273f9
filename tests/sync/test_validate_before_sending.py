"""Issue 16, part 2: every value is cleaned or refused before QuickBooks sees it.

One practice setup and one sync for many hostile Work records (real HTTP against both practice
servers); QuickBooks is read back over its REST API. Each case ends one of two ways: the record is in
QuickBooks with its value cleaned, or it has exactly one open problem naming it, the field and the
value, with what to do in Work - and the rest of the run goes on. Values Work's own API refuses (an
invalid e-mail, a zero payment, an invoice without lines) are put in with ``WorkStore.bulk_edit``, the
documented test-only path for malformed records (docs/work-api.md, "Malformed records").

The practice QuickBooks server refuses every over-long field of Intuit's table with 2050, as Intuit
does (core/qbo_limits.py), so the app's limits and the sandbox's cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fixtures.qbo_sandbox import qbo_session

from qbosync_desktop.core.qbo_limits import LENGTHS
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync.rules import validate

TODAY = dt.date.today()


# -- the rules on their own ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("Ann\x00 Lee\x07", "Ann Lee"),                        # NUL, BEL
    ("Esc\x1b[31mape\x7f", "Esc[31mape"),                  # ESC, DEL
    ("\u202eevil\u202c Corp", "evil Corp"),                # right-to-left override + pop
    ("\u2066iso\u2069late", "isolate"),                    # isolates
    ("Zero\u200bWidth\ufeff\u2060", "ZeroWidth"),          # zero-width space, BOM, word joiner
    ("Ann\u200dLee", "AnnLee"),                            # a joiner between Latin letters hides
    ("line one\nline two\ttab", "line one\nline two\ttab"),  # text keeps its breaks and tabs
    ("\U0001F468\u200d\U0001F469\u200d\U0001F467", "\U0001F468\u200d\U0001F469\u200d\U0001F467"),  # emoji family
    ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"),  # Persian ZWNJ
    ("Carlos Núñez 中文", "Carlos Núñez 中文"),
])
def test_clean_text_removes_what_cannot_be_seen_and_keeps_what_can(raw: str, clean: str) -> None:
    assert validate.clean_text(raw) == clean


@pytest.mark.parametrize(("address", "valid"), [
    ("ann@example.com", True), ("a.b+tag@sub.example.co.uk", True), ("josé@exämple.de", True),
    ("ann@@example.com", False), ("ann@example", False), ("ann example.com", False),
    ("a@b.com, c@d.com", False), ("ann.@example.com", False), ("ann@exa..mple.com", False),
    ("ann@example.c", False), ("@example.com", False),
])
def test_email_rule(address: str, valid: bool) -> None:
    assert (validate.email_problem(address) is None) is valid


def test_values_are_shown_safely_in_problems() -> None:
    assert validate.shown("a\u202eb\x00") == "“a\\u202eb\\u0000”"
    assert validate.shown("x" * 500).endswith("…” (500 characters)")


def test_free_text_is_shortened_to_intuits_limit_and_identifiers_never_are() -> None:
    body, notes = validate.fit("Invoice", {"DocNumber": "N" * 30, "PrivateNote": "p" * 4500,
                                           "Line": [{"Description": "d" * 4001}, {"Description": "ok"}]})
    assert len(body["PrivateNote"]) == 4000 and body["PrivateNote"].endswith("…")
    assert len(body["Line"][0]["Description"]) == 4000 and body["Line"][1]["Description"] == "ok"
    assert body["DocNumber"] == "N" * 30 and len(notes) == 2  # a number is refused elsewhere, never cut


@pytest.mark.parametrize(("kind", "entity", "body", "title"), [
    ("payment", "Payment", {"TotalAmt": 0, "Line": [{"Amount": 0}]}, "Zero payment"),
    ("payment", "Payment", {"TotalAmt": -5, "Line": [{"Amount": -5}]}, "Negative payment"),
    ("credit_note", "CreditMemo", {"Line": [{"Amount": -3}]}, "Negative credit note"),
    ("bill", "Bill", {"Line": [{"Amount": -3}]}, "Negative contractor invoice"),
    ("invoice", "Invoice", {"Line": []}, "No lines"),
    ("invoice", "Invoice", {"Line": [{"Amount": 1e10}]}, "Amount too large for QuickBooks"),
    ("item", "Item", {"Name": "x", "UnitPrice": 12345678901.0}, "Amount too large for QuickBooks"),
    ("invoice", "Invoice", {"TxnDate": "9999-12-31", "Line": [{"Amount": 1}]}, "Date out of range"),
    ("invoice", "Invoice", {"TxnDate": "1899-12-31", "Line": [{"Amount": 1}]}, "Date out of range"),
    ("bill", "Bill", {"DueDate": (TODAY + dt.timedelta(days=366 * 5 + 2)).isoformat(), "Line": [{"Amount": 1}]},
     "Due date out of range"),
    ("vendor", "Vendor", {"DisplayName": "V", "PrimaryPhone": {"FreeFormNumber": "1" * 31}},
     "Phone number too long for QuickBooks"),
    ("client", "Customer", {"DisplayName": "C", "BillAddr": {"PostalCode": "9" * 31}},
     "Billing address postal code too long for QuickBooks"),
])
def test_refusals_are_one_problem_with_a_next_step_in_work(kind: str, entity: str, body: dict, title: str) -> None:
    problem = validate.vet(kind, entity, "Some record", body, today=TODAY)
    assert problem is not None and problem.title == title
    assert "It was not sent to QuickBooks" in problem.message and "in Work" in problem.hint
    assert problem.details["field"] and "value" in problem.details


@pytest.mark.parametrize(("kind", "entity", "body"), [
    ("invoice", "Invoice", {"TxnDate": TODAY.isoformat(), "Line": [{"Amount": 0}]}),  # a no-charge visit
    ("invoice", "Invoice", {"Line": [{"Amount": 9999999999.99}]}),
    ("credit_application", "Payment", {"TotalAmt": 0, "Line": [{"Amount": 5}, {"Amount": 5}]}),
    ("client", "Customer", {"DisplayName": "C", "CompanyName": "c" * 100, "PrimaryEmailAddr": {"Address": "a@b.co"}}),
])
def test_values_within_the_rules_pass(kind: str, entity: str, body: dict) -> None:
    assert validate.vet(kind, entity, "Some record", body, today=TODAY) is None


# -- over HTTP: one sync, many cases --------------------------------------------------------------------

def _get(practice: Any, entity: str, qbo_id: str) -> dict[str, Any]:
    http = qbo_session(practice.qbo)
    r = http.get(f"{http.company_url}/{entity.lower()}/{qbo_id}", timeout=30)
    r.raise_for_status()
    return dict(r.json()[entity])


def _open(kind: str, work_id: str) -> list[Problem]:
    return list(Problem.select().where((Problem.kind == kind) & (Problem.work_id == work_id)
                                       & (Problem.state == "open")))


def _linked(kind: str, work_id: str) -> Link | None:
    return Link.get_or_none((Link.kind == kind) & (Link.work_id == work_id))


def test_hostile_work_values_are_cleaned_or_refused_and_the_run_goes_on(synced: Any) -> None:
    ws, practice = synced.ws, synced.practice
    user, store = practice.work.user, practice.work.store
    wc = ws.work_client()
    inv0 = next(i for i in wc.invoices() if i.status == "sent" and _linked("invoice", i.id) is not None)
    item_id = inv0.lines[0].item_id
    line = [{"item_id": item_id, "quantity": "1", "unit_price": "10.00"}]

    # cleaned: control characters, a right-to-left override, zero-width characters
    nul = user.add_client("Nul\x00 Bel\x07 Plumbing", email="nul@example.com")
    rtl = user.add_client("\u202eRTL\u202c Roofing", company_name="Zero\u200bWidth\ufeff Ltd")
    good_inv = user.add_invoice(nul["id"], [{**line[0], "description": "Pump\x1b repair\u200b"}],
                                notes="Internal\x07 note")
    long_note = user.add_invoice(rtl["id"], line, notes="n" * 4000)
    store.bulk_edit("invoices", {long_note["id"]: {"notes": "n" * 4500}})  # longer than QuickBooks keeps
    bell = user.add_item("Bell\x07 Valve", "12.00", description="d" * 4000)
    store.bulk_edit("items", {bell["id"]: {"description": "d" * 4500}})
    assert ws.settings().bills  # the demo maps every concept: contractors and bills sync
    contract = [{"title": "Hauling", "start_date": "2026-01-01", "end_date": None, "status": "active"}]
    vera = user.add_contractor("Vera\u2067 Vendor", contracts=contract, email="vera@example.com")
    concept = store.all("invoice-concepts")[0]["name"]
    vera_bill = user.add_contractor_invoice(vera["id"], [{"concept": concept, "description": "Hauling\x00 debris",
                                                          "amount": "40.00"}])

    # refused, one problem each
    bad_mail = user.add_client("Dora Mail", email="dora@example.com")
    store.bulk_edit("clients", {bad_mail["id"]: {"email": "dora@@example"}})
    long_company = user.add_client("Long Company", company_name="C" * 101)
    long_phone = user.add_client("Long Phone", phone="5" * 31)
    far_future = user.add_invoice(nul["id"], line, issue_date="9999-12-31", due_date="9999-12-31")
    huge = user.add_invoice(nul["id"], line)
    store.bulk_edit("invoices", {huge["id"]: {"lines": [{**line[0], "unit_price": "99999999999990.00",
                                                          "description": "huge", "taxable": False,
                                                          "discount": None}]}})
    no_lines = user.add_invoice(nul["id"], line)
    store.bulk_edit("invoices", {no_lines["id"]: {"lines": []}})
    long_vendor_phone = user.add_contractor("Pete Phone", contracts=contract, phone="5" * 31)
    zero_pay = user.record_payment(inv0.id, "1.00", reference="ZERO-1")
    store.bulk_edit("payments", {zero_pay["id"]: {"amount": "0.00"}})

    summary = synced.engine.run()
    assert summary.state == "done", summary.error

    # cleaned values arrive cleaned (read back from QuickBooks)
    assert _get(practice, "Customer", _linked("client", nul["id"]).qbo_id)["DisplayName"] == "Nul Bel Plumbing"
    rtl_qbo = _get(practice, "Customer", _linked("client", rtl["id"]).qbo_id)
    assert (rtl_qbo["DisplayName"], rtl_qbo["CompanyName"]) == ("RTL Roofing", "ZeroWidth Ltd")
    inv_qbo = _get(practice, "Invoice", _linked("invoice", good_inv["id"]).qbo_id)
    assert inv_qbo["Line"][0]["Description"] == "Pump repair" and inv_qbo["PrivateNote"] == "Internal note"
    note_qbo = _get(practice, "Invoice", _linked("invoice", long_note["id"]).qbo_id)["PrivateNote"]
    assert len(note_qbo) == 4000 and note_qbo.endswith("…")
    bell_qbo = _get(practice, "Item", _linked("item", bell["id"]).qbo_id)
    assert bell_qbo["Name"] == "Bell Valve" and len(bell_qbo["Description"]) == 4000
    assert bell_qbo["Description"].endswith("…")
    assert _get(practice, "Vendor", _linked("vendor", vera["id"]).qbo_id)["DisplayName"] == "Vera Vendor"
    bill_qbo = _get(practice, "Bill", _linked("bill", vera_bill["id"]).qbo_id)
    assert bill_qbo["Line"][0]["Description"] == "Hauling debris"
    for kind, wid in (("client", nul["id"]), ("client", rtl["id"]), ("invoice", good_inv["id"]),
                      ("item", bell["id"]), ("vendor", vera["id"]), ("bill", vera_bill["id"])):
        assert not _open(kind, wid)
    # what was cleaned is said, not silent: the change's reason in the audit
    created = AuditEntry.get((AuditEntry.kind == "client") & (AuditEntry.work_id == nul["id"])
                             & (AuditEntry.action == "create"))
    assert "invisible or control characters removed from its name" in created.message

    # refused: exactly one open problem naming the record, the field and the value; nothing in QuickBooks
    refused = [
        ("client", bad_mail["id"], "Dora Mail", "dora@@example"),
        ("client", long_company["id"], "Long Company", "company name of 101 characters"),
        ("client", long_phone["id"], "Long Phone", "phone number of 31 characters"),
        ("vendor", long_vendor_phone["id"], "Pete Phone", "phone number of 31 characters"),
        ("invoice", far_future["id"], far_future["number"], "9999-12-31"),
        ("invoice", huge["id"], huge["number"], "99,999,999,999,990.00"),
        ("invoice", no_lines["id"], no_lines["number"], "no lines"),
        ("payment", zero_pay["id"], "ZERO-1", "0.00"),
    ]
    for kind, wid, name, value in refused:
        found = _open(kind, wid)
        assert len(found) == 1, (kind, name, [p.message for p in found])
        problem = found[0]
        assert name in problem.message and value in problem.message, problem.message
        assert "in Work" in (problem.hint or ""), problem.hint
        assert _linked(kind, wid) is None, (kind, name)

    # a second run sends nothing again: the cleaned records keep their fingerprint, the refused stay refused
    tokens = {wid: _get(practice, "Customer", _linked("client", wid).qbo_id)["SyncToken"]
              for wid in (nul["id"], rtl["id"])}
    again = synced.engine.run()
    assert again.state == "done", again.error
    assert {wid: _get(practice, "Customer", _linked("client", wid).qbo_id)["SyncToken"]
            for wid in (nul["id"], rtl["id"])} == tokens
    for kind, wid, _name, _value in refused:
        assert len(_open(kind, wid)) == 1


def test_practice_quickbooks_refuses_every_over_long_field_as_intuit_does(practice: Any) -> None:
    """For each text field of Intuit's table the app writes on a customer, vendor or item: one character
    over the limit is a 2050 ValidationFault naming the field; at the limit it is accepted."""
    http = qbo_session(practice.qbo)
    cases = [(entity, path, limit) for entity in ("Customer", "Vendor", "Item")
             for path, limit in LENGTHS[entity].items() if not path.startswith("ShipAddr")]
    seen = 0
    for n, (entity, path, limit) in enumerate(cases):
        for size, accepted in ((limit + 1, False), (limit, True)):
            name_field = "Name" if entity == "Item" else "DisplayName"
            body: dict[str, Any] = {name_field: f"Length probe {n} {size}"}
            if entity == "Item":
                body.update(Type="NonInventory")
            tail = "@example.com" if "Email" in path else ""
            value = (f"{n}x" + "a" * size)[:size - len(tail)] + tail  # unique: names must not collide
            holder = body
            *parents, key = path.split(".")
            for parent in parents:
                holder = holder.setdefault(parent, {})
            holder[key] = value
            r = http.post(f"{http.company_url}/{entity.lower()}", json=body, timeout=30)
            if accepted:
                assert r.status_code == 200, (entity, path, size, r.text)
            else:
                fault = r.json()["Fault"]
                assert fault["type"] == "ValidationFault", (entity, path, r.text)
                error = fault["Error"][0]
                assert (error["code"], error["element"]) == ("2050", path), (entity, path, error)
                assert f"Max:{limit}" in error["Detail"]
            seen += 1
    assert seen == 2 * len(cases) and seen > 40


def test_practice_quickbooks_refuses_an_email_without_at_and_dot(practice: Any) -> None:
    http = qbo_session(practice.qbo)
    r = http.post(f"{http.company_url}/customer", json={"DisplayName": "Mail Probe",
                                                        "PrimaryEmailAddr": {"Address": "dora@example"}}, timeout=30)
    error = r.json()["Fault"]["Error"][0]
    assert error["element"] == "PrimaryEmailAddr.Address"


def test_practice_quickbooks_refuses_an_over_long_bill_line_description(practice: Any) -> None:
    http = qbo_session(practice.qbo)
    vendor = http.post(f"{http.company_url}/vendor", json={"DisplayName": "Bill Length Probe"}, timeout=30).json()["Vendor"]
    r = http.get(f"{http.company_url}/query", params={"query": "SELECT * FROM Account WHERE AccountType = 'Expense'"},
                 timeout=30)
    account = r.json()["QueryResponse"]["Account"][0]

    def bill(description: str) -> Any:
        return http.post(f"{http.company_url}/bill", timeout=30, json={
            "VendorRef": {"value": vendor["Id"]},
            "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 1.0, "Description": description,
                      "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account["Id"]}}}]})

    error = bill("d" * 4001).json()["Fault"]["Error"][0]
    assert (error["code"], error["element"]) == ("2050", "Line.Description")
    assert bill("d" * 4000).status_code == 200
