"""Scale mode (``--clients N --invoices M``): synthetic volume for benchmarks and load drills.

Proportions follow the benchmark the issues use (5,000 clients, 20,000 invoices, ~15,000 payments):
about a quarter of the clients have a site; 75 % of invoices are paid (one payment each), 15 % sent,
5 % drafts, 5 % voids; one contractor per 500 clients (at least 6) with one contract each, and one
contractor invoice per 6 invoices. Every record is valid, names are unique, and 5 % of clients have
no State, so the default-state rule is exercised at volume too.

The "books" mess of issue 14 comes in fixed fractions, drawn from a second generator so the records
above stay exactly what they were before it existed: the five demo tax rates; about 20 % of invoices
taxed (their product lines taxable) at one of the active rates, never for the 2 % of clients who are
tax-exempt; about 5 % with an invoice discount (percent or amount) and 3 % with a 10 % line discount;
terms on most; 1 % of paid invoices paid by a check that bounced (voided) and then by card; 1 % of
paid invoices' payments corrected afterwards (version 2); 5 % of sent invoices with a credit of 10 %
applied; 1 % of payments partly (20 %) refunded.

Speed: everything goes in through :meth:`WorkStore.bulk_insert` (one transaction per resource, chunked
multi-row inserts); 10,000 clients and 50,000 invoices take a few seconds (bench/bench_work_scale.py).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from qbosync_desktop.sandbox.work.rules import compute
from qbosync_desktop.sandbox.work.seed import (
    CITIES,
    COMPANY,
    CONCEPTS,
    FIRST,
    ITEMS,
    LAST,
    STREETS,
    TAX_RATES,
)
from qbosync_desktop.sandbox.work.store import WorkStore

TERMS = ("Net 30", "Net 30", "Net 15", "Due on receipt", None)

CENT = Decimal("0.01")


def generate(store: WorkStore, *, clients: int, invoices: int, seed: str = "scale",
             today: dt.date | None = None) -> dict[str, int]:
    """Fill an empty store; returns how many records of each kind were made."""
    rng = random.Random(seed)
    books = random.Random(f"{seed}-books")
    today = today or dt.date.today()
    store.bulk_insert("company", [COMPANY])
    store.bulk_insert("invoice-concepts", [{"name": n, "description": d} for n, d in CONCEPTS])
    item_ids = store.bulk_insert("items", [{"name": n, "kind": k, "unit_price": p, "description": d, "active": True}
                                           for n, k, p, d in ITEMS])
    prices = [(iid, Decimal(item[2])) for iid, item in zip(item_ids, ITEMS, strict=True) if Decimal(item[2]) > 0]
    products = {iid for iid, item in zip(item_ids, ITEMS, strict=True) if item[1] == "product"}
    rate_ids = store.bulk_insert("tax-rates", [{"name": n, "percent": p, "active": a} for n, p, a in TAX_RATES])
    rates = [{"rate_id": rid, "name": n, "percent": p} for rid, (n, p, a) in zip(rate_ids, TAX_RATES, strict=True) if a]

    def address(no_state: bool) -> dict[str, Any]:
        city, postal = rng.choice(CITIES)
        return {"line1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}", "line2": None, "city": city,
                "state": None if no_state else "CO", "postal_code": postal, "country": "US"}

    client_rows = []
    for n in range(clients):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        client_rows.append({"name": f"{first} {last} #{n + 1}", "first_name": first, "last_name": last,
                            "company_name": None, "email": f"client{n + 1}@example.com",
                            "phone": f"(303) 555-{n % 10000:04d}", "billing_address": address(rng.random() < 0.05),
                            "active": True, "tax_exempt": books.random() < 0.02})
    client_ids = store.bulk_insert("clients", client_rows)
    site_rows = [{"client_id": cid, "name": f"Site of client {cid}", "address": address(False), "active": True}
                 for cid in client_ids if rng.random() < 0.25]
    store.bulk_insert("sites", site_rows)

    invoice_rows, totals = [], []
    exempt = {cid for cid, row in zip(client_ids, client_rows, strict=True) if row["tax_exempt"]}
    for n in range(invoices if client_ids else 0):
        issued = today - dt.timedelta(days=rng.randint(0, 364))
        lines: list[dict[str, Any]] = []
        for item_id, price in rng.sample(prices, rng.randint(1, 3)):
            qty = rng.randint(1, 3)
            lines.append({"item_id": item_id, "description": None, "quantity": str(qty), "unit_price": str(price),
                          "taxable": False, "discount": None})
        roll = rng.random()
        status = "paid" if roll < 0.75 else "sent" if roll < 0.90 else "draft" if roll < 0.95 else "void"
        row: dict[str, Any] = {"number": f"S-{n + 1:07d}", "client_id": rng.choice(client_ids), "site_id": None,
               "issue_date": issued.isoformat(), "due_date": (issued + dt.timedelta(days=30)).isoformat(),
               "status": status, "lines": lines, "notes": None, "tax": None, "discount": None,
               "terms": books.choice(TERMS)}
        if books.random() < 0.20 and row["client_id"] not in exempt:
            row["tax"] = dict(books.choice(rates))
            for line in lines:
                line["taxable"] = line["item_id"] in products
        if books.random() < 0.05:
            row["discount"] = books.choice(({"kind": "percent", "value": "5"}, {"kind": "percent", "value": "7.5"},
                                            {"kind": "amount", "value": "10.00"}))
        if books.random() < 0.03:
            lines[0]["discount"] = {"kind": "percent", "value": "10"}
        invoice_rows.append(compute("invoices", row))
        totals.append(Decimal(row["total"]))
    invoice_ids = store.bulk_insert("invoices", invoice_rows, computed=True)
    payment_rows: list[dict[str, Any]] = []
    credit_rows: list[dict[str, Any]] = []
    edited: list[int] = []
    for iid, inv, total in zip(invoice_ids, invoice_rows, totals, strict=True):
        if inv["status"] == "sent" and books.random() < 0.05:
            credit_rows.append({"number": f"SC-{len(credit_rows) + 1:07d}", "client_id": inv["client_id"],
                                "invoice_id": iid, "date": inv["issue_date"], "lines": [], "tax": None,
                                "amount": str((total / 10).quantize(CENT)), "status": "active",
                                "notes": "Scale-mode credit"})
        if inv["status"] != "paid" or total <= 0:
            continue
        paid_on = min(today, dt.date.fromisoformat(inv["issue_date"]) + dt.timedelta(days=rng.randint(0, 20)))
        payment = {"invoice_id": iid, "client_id": inv["client_id"], "amount": str(total.quantize(CENT)),
                   "date": paid_on.isoformat(), "method": rng.choice(("card", "check", "cash", "bank_transfer")),
                   "reference": None, "status": "active"}
        fate = books.random()
        if fate < 0.01:  # the check bounced; then the client paid by card
            payment_rows.append({**payment, "method": "check", "reference": "bounced", "status": "void"})
            payment = {**payment, "method": "card"}
        payment_rows.append(payment)
        if 0.01 <= fate < 0.02:
            edited.append(len(payment_rows) - 1)
    payment_ids = store.bulk_insert("payments", payment_rows)
    # corrected afterwards, as a person would: version 2, a later updated_at
    store.bulk_edit("payments", {payment_ids[k]: {"reference": f"corrected {k}"} for k in edited})
    refund_rows = [{"client_id": row["client_id"], "payment_id": pid, "credit_note_id": None,
                    "amount": str((Decimal(row["amount"]) / 5).quantize(CENT)), "date": row["date"],
                    "method": "card", "reference": None, "status": "active"}
                   for pid, row in zip(payment_ids, payment_rows, strict=True)
                   if row["status"] == "active" and books.random() < 0.01 and Decimal(row["amount"]) >= 1]
    store.bulk_insert("credit-notes", credit_rows)
    store.bulk_insert("refunds", refund_rows)

    contractor_count = max(6, clients // 500)
    contract_ids = store.reserve_contract_ids(contractor_count)
    contractor_rows = [{"name": f"Contractor {n + 1}", "email": f"contractor{n + 1}@example.com", "phone": None,
                        "company_name": None,
                        "contracts": [{"id": contract_ids[n], "title": f"Service contract {n + 1}",
                                       "start_date": (today - dt.timedelta(days=400)).isoformat(),
                                       "end_date": None, "status": "active"}]}
                       for n in range(contractor_count)]
    contractor_ids = store.bulk_insert("contractors", contractor_rows)
    concept_names = [c[0] for c in CONCEPTS]
    ci_rows = []
    for n in range(invoices // 6):
        k = rng.randrange(contractor_count)
        issued = today - dt.timedelta(days=rng.randint(0, 364))
        ci_rows.append({"contractor_id": contractor_ids[k], "contract_id": contract_ids[k], "number": f"CS-{n + 1:07d}",
                        "date": issued.isoformat(), "due_date": (issued + dt.timedelta(days=15)).isoformat(),
                        "lines": [{"concept": rng.choice(concept_names), "description": None,
                                   "amount": f"{rng.randint(50, 5000)}.{rng.randint(0, 99):02d}"}],
                        "status": rng.choice(("approved", "paid", "submitted"))})
    store.bulk_insert("contractor-invoices", ci_rows)
    return {"clients": len(client_ids), "sites": len(site_rows), "invoices": len(invoice_ids),
            "payments": len(payment_rows), "contractors": contractor_count, "contractor_invoices": len(ci_rows),
            "tax_rates": len(rate_ids), "credit_notes": len(credit_rows), "refunds": len(refund_rows),
            "void_payments": sum(1 for p in payment_rows if p["status"] == "void"), "edited_payments": len(edited)}
