"""The Work demo server's pages let a person correct and void payments, credit and refund, in a browser
(real HTTP); the changes reach the API as a person's changes do, and a form from elsewhere is refused."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests


class Browser:
    def __init__(self, ws):
        cfg = ws.start()
        self.base = cfg.base_url
        self.api_headers = {"Authorization": f"Bearer {cfg.api_key}"}
        self.session = requests.Session()

    def page(self, path):
        response = self.session.get(self.base + path, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        return response.text

    def token(self, path="/payments"):
        return re.search(r"name='token' value='([^']+)'", self.page(path)).group(1)

    def submit(self, action, back, **fields):
        data = {"token": self.token(back), "back": back, **fields}
        return self.session.post(f"{self.base}/do/{action}", data=data, timeout=10)

    def api(self, path, **params):
        response = requests.get(f"{self.base}/api/v1{path}", headers=self.api_headers, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def browser(work_sandbox):
    b = Browser(work_sandbox)
    yield b
    b.session.close()


def _since(records):
    return max(r["updated_at"] for r in records)


def test_the_pages_show_the_money_records(browser, work_sandbox):
    home = browser.page("/")
    assert "Summit Field Services" in home and "Credit notes" in home
    invoices = browser.page("/invoices")
    assert "INV-2004" in invoices and "Mountain Resort District 9.975 %" in invoices and "Due on receipt" in invoices
    assert "CN-0003" in browser.page("/credit-notes") and "40.00" in browser.page("/refunds")
    assert browser.session.get(browser.base + "/nowhere", timeout=10).status_code == 404
    # counted as pages, not as API calls the connector made
    assert work_sandbox.stats.requests["GET page"] == 5 and work_sandbox.stats.requests["GET payments"] == 0


def test_a_person_voids_and_corrects_payments_and_the_api_sees_new_versions(browser):
    payments = browser.api("/payments", limit=500)["data"]
    target = next(p for p in payments if p["status"] == "active" and p["reference"] is None)
    since = _since(payments)
    done = browser.submit("edit-payment", "/payments", payment_id=target["id"], amount=target["amount"],
                          date=target["date"], method="check", reference="CHK 4242")
    assert done.status_code == 200 and "saved (version 2)" in done.text
    (edited,) = [p for p in browser.api("/payments", updated_since=since)["data"] if p["updated_at"] > since]
    assert (edited["id"], edited["method"], edited["reference"], edited["version"]) == (target["id"], "check",
                                                                                        "CHK 4242", 2)
    done = browser.submit("void-payment", "/payments", payment_id=target["id"])
    assert done.status_code == 200 and "voided" in done.text
    voided = browser.api(f"/payments/{target['id']}")
    assert voided["status"] == "void" and voided["version"] == 3
    invoice = browser.api(f"/invoices/{target['invoice_id']}")
    assert invoice["status"] == "sent" and Decimal(invoice["balance"]) >= Decimal(target["amount"])
    refused = browser.submit("edit-payment", "/payments", payment_id=target["id"], amount="1.00",
                             date=target["date"], method="cash", reference="")
    assert refused.status_code == 422 and "Work did not accept this" in refused.text
    assert browser.api(f"/payments/{target['id']}")["version"] == 3


def test_a_person_pays_credits_and_refunds(browser):
    invoices = browser.api("/invoices", limit=500)["data"]
    invoice = next(i for i in invoices if i["status"] == "sent" and i["balance"] == i["total"])
    assert browser.submit("credit-invoice", "/invoices", invoice_id=invoice["id"], amount="10.00").status_code == 200
    assert Decimal(browser.api(f"/invoices/{invoice['id']}")["balance"]) == Decimal(invoice["total"]) - 10
    paid = browser.submit("record-payment", "/invoices", invoice_id=invoice["id"], amount="")  # the whole balance
    assert paid.status_code == 200 and "recorded" in paid.text
    after = browser.api(f"/invoices/{invoice['id']}")
    assert after["status"] == "paid" and after["balance"] == "0.00"

    client = invoice["client_id"]
    given = browser.submit("credit-client", "/credit-notes", client_id=client, amount="15.00", notes="Goodwill")
    assert given.status_code == 200
    credit = next(c for c in browser.api("/credit-notes", limit=500)["data"] if c["notes"] == "Goodwill")
    assert (credit["client_id"], credit["amount"], credit["invoice_id"]) == (client, "15.00", None)
    too_much = browser.submit("refund-credit", "/credit-notes", credit_note_id=credit["id"], amount="15.01")
    assert too_much.status_code == 422
    assert browser.submit("refund-credit", "/credit-notes", credit_note_id=credit["id"], amount="15.00").status_code == 200
    refund = next(r for r in browser.api("/refunds", limit=500)["data"] if r["credit_note_id"] == credit["id"])
    assert refund["amount"] == "15.00" and refund["status"] == "active"
    assert browser.submit("void-refund", "/refunds", refund_id=refund["id"]).status_code == 200
    assert browser.api(f"/refunds/{refund['id']}")["status"] == "void"
    assert browser.submit("void-credit", "/credit-notes", credit_note_id=credit["id"]).status_code == 200
    assert browser.api(f"/credit-notes/{credit['id']}")["status"] == "void"
    empty = browser.submit("refund-payment", "/payments", payment_id="pa_1", amount="")
    assert empty.status_code == 400 and "Work did not accept this" in empty.text


def test_a_form_without_the_page_token_changes_nothing(browser):
    payment = next(p for p in browser.api("/payments", limit=500)["data"] if p["status"] == "active")
    for token in (None, "guessed"):
        data = {"payment_id": payment["id"], "back": "/payments", **({"token": token} if token else {})}
        response = requests.post(f"{browser.base}/do/void-payment", data=data, timeout=10)
        assert response.status_code == 403 and "out of date" in response.text
    assert browser.api(f"/payments/{payment['id']}") == payment
