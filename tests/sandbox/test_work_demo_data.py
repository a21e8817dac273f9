"""The demo seed holds the realistic mess the seed module's docstring promises, deterministically."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from pathlib import Path

from qbosync_desktop.sandbox.work import seed


def _by_name(ws):
    return {c["name"]: c for c in ws.store.all("clients")}


def test_company_counts_and_proportions(work_sandbox):
    store = work_sandbox.store
    assert store.company()["name"] == "Summit Field Services" and store.company()["default_state"] == "CO"
    assert 38 <= store.count("clients") <= 45 and 10 <= store.count("items") <= 15
    assert 110 <= store.count("invoices") <= 130 and store.count("contractors") == 6
    assert 18 <= store.count("contractor-invoices") <= 22
    statuses = [i["status"] for i in store.all("invoices")]
    assert statuses.count("sent") + statuses.count("paid") > 0.8 * len(statuses)
    assert statuses.count("draft") >= 2 and statuses.count("void") >= 2
    clients_with_sites = {s["client_id"] for s in store.all("sites")}
    assert len(clients_with_sites) >= 5
    per_client = [sum(1 for s in store.all("sites") if s["client_id"] == c) for c in clients_with_sites]
    assert max(per_client) <= 3


def test_invoice_dates_span_the_last_90_days_and_paid_ones_are_paid_in_full(work_sandbox):
    store = work_sandbox.store
    today = dt.date.today()
    invoices = store.all("invoices")
    dates = [dt.date.fromisoformat(i["issue_date"]) for i in invoices]
    assert min(dates) >= today - dt.timedelta(days=90) and max(dates) <= today
    assert (max(dates) - min(dates)).days >= 60
    paid_by_invoice: dict[str, Decimal] = {}
    for p in store.all("payments"):
        if p["status"] == "void":  # issue 14: a voided payment (the bounced check) no longer counts
            continue
        paid_by_invoice[p["invoice_id"]] = paid_by_invoice.get(p["invoice_id"], Decimal(0)) + Decimal(p["amount"])
    for inv in invoices:
        paid = paid_by_invoice.get(inv["id"], Decimal(0))
        if inv["status"] == "paid":
            assert paid == Decimal(inv["total"])
        else:
            assert paid < Decimal(inv["total"]) or Decimal(inv["total"]) == 0
    assert sum(1 for i in invoices if i["status"] == "sent" and i["id"] in paid_by_invoice) == 3
    assert any(sum(1 for p in store.all("payments") if p["invoice_id"] == i) == 2 for i in paid_by_invoice)


def test_the_messy_records_are_all_there(work_sandbox):
    clients = _by_name(work_sandbox)
    assert clients["Ann Lee"]["email"] == "ann.lee@example.com"
    assert clients["Carlos Nunez"]["email"] == "carlos.nunez@example.com"
    assert {"Brightside Dental", "Green Valley H.O.A."} <= set(clients)
    assert clients["Maple St. Bakery"]["phone"] == "(503) 555-0105"
    assert any(":" in name for name in clients)
    assert any(len(name) > 100 for name in clients)
    assert {"Joe Plumbing", "joe  plumbing"} <= set(clients)
    assert "@" in clients["Dave Ortiz"]["email"] and "." not in clients["Dave Ortiz"]["email"].split("@")[1]
    text = "".join(clients)
    for ch in "éñü中":
        assert ch in unicodedata.normalize("NFC", text)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
    no_state = [c for c in clients.values() if not (c["billing_address"] or {}).get("state")]
    assert len(no_state) >= 3 and any(c["billing_address"] is None for c in no_state)
    assert clients["Old Town Laundromat"]["active"] is False
    contractor_emails = {c["email"] for c in work_sandbox.store.all("contractors")}
    assert clients["Hank Rivera"]["email"] in contractor_emails
    sites = work_sandbox.store.all("sites")
    assert any(s["address"] is None for s in sites)
    invoices = work_sandbox.store.all("invoices")
    assert any(len(i["number"]) > 21 for i in invoices)
    assert any(Decimal(line["amount"]) == 0 for i in invoices for line in i["lines"])
    item_names = {i["name"] for i in work_sandbox.store.all("items")}
    assert {"Service Call", "Drain Cleaning", "Water Heater Install"} <= item_names


def test_contractors_have_contracts_and_invoices_use_the_four_concepts(work_sandbox):
    store = work_sandbox.store
    contractors = store.all("contractors")
    assert all(1 <= len(c["contracts"]) <= 2 for c in contractors)
    contract_owner = {k["id"]: c["id"] for c in contractors for k in c["contracts"]}
    assert len(contract_owner) == sum(len(c["contracts"]) for c in contractors)  # contract ids are unique
    concepts = {line["concept"] for ci in store.all("contractor-invoices") for line in ci["lines"]}
    assert concepts == {"Labor", "Materials", "Travel", "Equipment rental"}
    for ci in store.all("contractor-invoices"):
        assert contract_owner[ci["contract_id"]] == ci["contractor_id"]
        assert Decimal(ci["total"]) == sum(Decimal(line["amount"]) for line in ci["lines"])


def test_the_seed_is_deterministic(make_work_sandbox):
    def fingerprint(ws):
        keep = ("name", "email", "phone", "number", "lines", "total", "status", "client_id", "amount")
        return {r: [{k: v for k, v in rec.items() if k in keep} for rec in ws.store.all(r)]
                for r in ("clients", "sites", "invoices", "payments", "contractors", "contractor-invoices")}

    assert fingerprint(make_work_sandbox()) == fingerprint(make_work_sandbox())
    assert fingerprint(make_work_sandbox(seed="other"))["invoices"] != fingerprint(make_work_sandbox())["invoices"]


def test_docstring_lists_the_near_matches_the_matching_engineer_relies_on():
    for fact in ("Ann Lee", "Brightside Dental LLC", "Carlos Núñez", "Green Valley HOA", "Maple Street Bakery"):
        assert fact in seed.__doc__


def test_data_dir_keeps_data_and_api_key_across_restarts(make_work_sandbox, tmp_path):
    first = make_work_sandbox(data_dir=tmp_path / "work")
    added = first.user.add_client("Persisted Client")
    key = first.start().api_key
    assert (Path(first.start().db_path).stat().st_mode & 0o777) == 0o600  # it holds the API key
    first.stop()
    second = make_work_sandbox(data_dir=tmp_path / "work")
    assert second.start().api_key == key
    assert second.store.get("clients", added["id"])["name"] == "Persisted Client"
    again = second.user.edit_client(added["id"], phone="1")
    assert again["updated_at"] > added["updated_at"] and again["version"] == 2
