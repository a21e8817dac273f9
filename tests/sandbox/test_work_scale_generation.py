"""Scale mode generates the requested volume with the benchmark's proportions, all of it valid."""

from __future__ import annotations

import time
from decimal import Decimal

from qbosync_desktop.connectors.work.client import WorkClient


def test_scale_mode_generates_counts_in_proportion_and_pages_through_the_api(make_work_sandbox):
    started = time.monotonic()
    ws = make_work_sandbox(clients=400, invoices=1200)
    elapsed = time.monotonic() - started
    store = ws.store
    assert store.count("clients") == 400 and store.count("invoices") == 1200
    invoices = store.all("invoices")
    paid = [i for i in invoices if i["status"] == "paid"]
    assert 0.65 * 1200 < len(paid) < 0.85 * 1200
    # issue 14: ~1 % of paid invoices also have a voided (bounced) check; it no longer counts
    payments = [p for p in store.all("payments") if p["status"] == "active"]
    assert len(payments) == len(paid)  # one payment per paid invoice: ~0.75 x invoices
    totals = {i["id"]: i["total"] for i in paid}
    assert all(totals[p["invoice_id"]] == p["amount"] for p in payments)
    assert store.count("contractor-invoices") == 1200 // 6 and store.count("contractors") == 6
    assert 0.15 * 400 < store.count("sites") < 0.35 * 400
    assert len({c["name"] for c in store.all("clients")}) == 400
    assert elapsed < 10  # 10,000 clients + 50,000 invoices is measured in bench/bench_work_scale.py

    cfg = ws.start()
    client = WorkClient(cfg.base_url, cfg.api_key, page_size=500)
    read = list(client.invoices())
    assert len(read) == 1200 and len({r.id for r in read}) == 1200
    # issue 14: a fraction carries tax and discounts, so the total is the subtotal less the discount plus tax
    assert all(r.total == sum((ln.amount for ln in r.lines), Decimal(0)) for r in read
               if r.tax is None and r.discount is None and not any(ln.discount for ln in r.lines))
    assert all(r.total == r.subtotal - r.discount_amount + (r.tax.amount if r.tax else 0) for r in read)


def test_scale_mode_makes_a_deterministic_fraction_of_the_books_mess(make_work_sandbox):
    """Issue 14: taxed, discounted and termed invoices, voided and corrected payments, credits and
    refunds come in fixed fractions, the same for the same seed, every figure by Work's rule."""
    def books(ws):
        keep = ("number", "tax", "discount", "terms", "total", "balance", "lines", "status", "amount", "version",
                "invoice_id", "payment_id", "client_id")
        return {r: [{k: v for k, v in rec.items() if k in keep} for rec in ws.store.all(r)]
                for r in ("invoices", "payments", "credit-notes", "refunds", "tax-rates")}

    first, second = make_work_sandbox(clients=300, invoices=2000), make_work_sandbox(clients=300, invoices=2000)
    assert books(first) == books(second)
    invoices = first.store.all("invoices")
    taxed = [i for i in invoices if i["tax"]]
    assert 0.12 * 2000 < len(taxed) < 0.28 * 2000
    assert {i["tax"]["percent"] for i in taxed} == {"8.81", "8.845", "7.5", "9.975"}
    exempt = {c["id"] for c in first.store.all("clients") if c["tax_exempt"]}
    assert exempt and not any(i["client_id"] in exempt for i in taxed)
    assert 0.02 * 2000 < sum(1 for i in invoices if i["discount"]) < 0.09 * 2000
    assert any(ln["discount"] for i in invoices for ln in i["lines"])
    assert sum(1 for i in invoices if i["terms"]) > 0.6 * 2000
    payments = first.store.all("payments")
    assert any(p["status"] == "void" for p in payments) and any(p["version"] == 2 for p in payments)
    assert first.store.count("credit-notes") > 0 and first.store.count("refunds") > 0
    assert all(i["balance"] == "0.00" for i in invoices if i["status"] in ("paid", "void"))
