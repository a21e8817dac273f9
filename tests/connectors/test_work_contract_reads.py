"""Reading every Work resource through the connector from the demo server, with typed values."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from qbosync_desktop.connectors.work.client import RESOURCES, WorkClient
from qbosync_desktop.connectors.work.models import Client, Company, Invoice, Item, Payment
from qbosync_desktop.core.errors import WorkNotFound

LISTS = {
    "clients": "clients", "sites": "sites", "items": "items", "invoices": "invoices", "payments": "payments",
    "contractors": "contractors", "contractor-invoices": "contractor_invoices",
}


def test_company_and_connection_message_name_the_work_company(work_client):
    company = work_client.company()
    assert isinstance(company, Company)
    assert (company.name, company.default_state, company.default_country, company.currency) == (
        "Summit Field Services", "CO", "US", "USD")
    assert work_client.test_connection() == "Connected to Summit Field Services"


@pytest.mark.parametrize("resource", sorted(LISTS))
def test_every_list_returns_every_record_once_as_typed_records(work_sandbox, work_client, resource):
    work_client.page_size = 7  # force several pages
    records = list(getattr(work_client, LISTS[resource])())
    expected = work_sandbox.store.all(resource)
    assert [r.id for r in records] == [e["id"] for e in expected]
    assert all(isinstance(r, RESOURCES[resource][0]) for r in records)
    assert all(r.version >= 1 and r.created_at.tzinfo is not None and r.updated_at >= r.created_at for r in records)
    ordering = [(r.updated_at, r.id) for r in records]
    assert ordering == sorted(ordering, key=lambda k: (k[0], int(k[1].split("_")[1])))


@pytest.mark.parametrize("resource", sorted(LISTS))
def test_get_by_id_matches_the_list_entry(work_sandbox, work_client, resource):
    getter = {"clients": "get_client", "sites": "get_site", "items": "get_item", "invoices": "get_invoice",
              "payments": "get_payment", "contractors": "get_contractor",
              "contractor-invoices": "get_contractor_invoice"}[resource]
    first = work_sandbox.store.all(resource)[3]
    record = getattr(work_client, getter)(first["id"])
    assert record == RESOURCES[resource][0].from_api(first)


def test_invoice_concepts_are_the_four_demo_concepts(work_client):
    assert [c.name for c in work_client.invoice_concepts()] == ["Labor", "Materials", "Travel", "Equipment rental"]


def test_money_quantities_and_dates_are_exact_types(work_client):
    invoices = list(work_client.invoices())
    inv: Invoice = next(i for i in invoices if len(i.lines) > 1)
    assert isinstance(inv.total, Decimal) and isinstance(inv.issue_date, date)
    assert inv.total == sum(line.amount for line in inv.lines)
    for line in inv.lines:
        assert line.amount == (line.quantity * line.unit_price).quantize(Decimal("0.01"))
    item: Item = next(work_client.items())
    assert isinstance(item.unit_price, Decimal) and item.kind in ("service", "product")
    payment: Payment = next(work_client.payments())
    paid_invoice = work_client.get_invoice(payment.invoice_id)
    assert payment.client_id == paid_invoice.client_id and payment.amount > 0


def test_unknown_id_is_work_not_found_in_plain_words(work_client):
    with pytest.raises(WorkNotFound) as caught:
        work_client.get_client("cl_999999")
    assert caught.value.status == 404
    assert "client cl_999999" in caught.value.message
    with pytest.raises(WorkNotFound):
        work_client.get_invoice("not-an-id")


def test_updated_since_returns_only_later_changes(work_sandbox, work_client):
    before = list(work_client.clients())
    cursor_time = max(c.updated_at for c in before)
    assert list(work_client.clients(updated_since=cursor_time + timedelta(microseconds=1))) == []
    edited = work_sandbox.user.edit_client(before[5].id, phone="(720) 555-0000")
    added = work_sandbox.user.add_client("Zed Newcomer", email="zed@example.com")
    changed = list(work_client.clients(updated_since=cursor_time + timedelta(microseconds=1)))
    assert [c.id for c in changed] == [edited["id"], added["id"]]
    assert changed[0].version == before[5].version + 1 and changed[0].phone == "(720) 555-0000"
    # inclusive bound: asking from the exact updated_at of a change includes that change
    assert [c.id for c in work_client.clients(updated_since=changed[1].updated_at)] == [added["id"]]
    # a string timestamp with an offset means the same instant
    as_text = changed[0].updated_at.astimezone(timezone(timedelta(hours=-7))).isoformat()
    assert [c.id for c in work_client.clients(updated_since=as_text)] == [edited["id"], added["id"]]


def test_updated_since_works_for_every_resource(work_sandbox, work_client):
    future = datetime.now(timezone.utc) + timedelta(days=1)
    for resource in LISTS.values():
        assert list(getattr(work_client, resource)(updated_since=future)) == []
    client = work_sandbox.store.all("clients")[0]["id"]
    item = work_sandbox.store.all("items")[0]["id"]
    since = max(r.updated_at for r in [*work_client.invoices(), *work_client.payments()]) + timedelta(microseconds=1)
    invoice = work_sandbox.user.add_invoice(client, [{"item_id": item}])
    payment = work_sandbox.user.record_payment(invoice["id"])
    assert [i.id for i in work_client.invoices(updated_since=since)] == [invoice["id"]]
    assert [p.id for p in work_client.payments(updated_since=since)] == [payment["id"]]
    assert work_client.get_invoice(invoice["id"]).status == "paid"


def test_client_records_keep_the_contract_fields(work_client):
    ann: Client = next(c for c in work_client.clients() if c.name == "Ann Lee")
    assert (ann.first_name, ann.last_name, ann.email, ann.active) == ("Ann", "Lee", "ann.lee@example.com", True)
    assert ann.billing_address is not None and ann.billing_address.state == "CO"
    becker = next(c for c in work_client.clients() if c.name == "Tom Becker")
    assert becker.billing_address is None


def test_client_repr_never_shows_the_api_key(work_sandbox):
    cfg = work_sandbox.start()
    client = WorkClient(cfg.base_url, cfg.api_key)
    assert cfg.api_key not in repr(client)
