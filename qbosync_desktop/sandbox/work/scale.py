"""Scale mode (``--clients N --invoices M``): synthetic volume for benchmarks and load drills.

Proportions follow the benchmark the issues use (5,000 clients, 20,000 invoices, ~15,000 payments):
about a quarter of the clients have a site; 75 % of invoices are paid (one payment each), 15 % sent,
5 % drafts, 5 % voids; one contractor per 500 clients (at least 6) with one contract each, and one
contractor invoice per 6 invoices. Every record is valid, names are unique, and 5 % of clients have
no State, so the default-state rule is exercised at volume too.

Speed: everything goes in through :meth:`WorkStore.bulk_insert` (one transaction per resource, chunked
multi-row inserts); 10,000 clients and 50,000 invoices take a few seconds (bench/bench_work_scale.py).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from qbosync_desktop.sandbox.work.seed import CITIES, COMPANY, CONCEPTS, FIRST, ITEMS, LAST, STREETS
from qbosync_desktop.sandbox.work.store import WorkStore

CENT = Decimal("0.01")


def generate(store: WorkStore, *, clients: int, invoices: int, seed: str = "scale",
             today: dt.date | None = None) -> dict[str, int]:
    """Fill an empty store; returns how many records of each kind were made."""
    rng = random.Random(seed)
    today = today or dt.date.today()
    store.bulk_insert("company", [COMPANY])
    store.bulk_insert("invoice-concepts", [{"name": n, "description": d} for n, d in CONCEPTS])
    item_ids = store.bulk_insert("items", [{"name": n, "kind": k, "unit_price": p, "description": d, "active": True}
                                           for n, k, p, d in ITEMS])
    prices = [(iid, Decimal(item[2])) for iid, item in zip(item_ids, ITEMS, strict=True) if Decimal(item[2]) > 0]

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
                            "active": True})
    client_ids = store.bulk_insert("clients", client_rows)
    site_rows = [{"client_id": cid, "name": f"Site of client {cid}", "address": address(False), "active": True}
                 for cid in client_ids if rng.random() < 0.25]
    store.bulk_insert("sites", site_rows)

    invoice_rows, totals = [], []
    for n in range(invoices if client_ids else 0):
        issued = today - dt.timedelta(days=rng.randint(0, 364))
        lines, total = [], Decimal(0)
        for item_id, price in rng.sample(prices, rng.randint(1, 3)):
            qty = rng.randint(1, 3)
            total += price * qty
            lines.append({"item_id": item_id, "description": None, "quantity": str(qty), "unit_price": str(price)})
        roll = rng.random()
        status = "paid" if roll < 0.75 else "sent" if roll < 0.90 else "draft" if roll < 0.95 else "void"
        invoice_rows.append({"number": f"S-{n + 1:07d}", "client_id": rng.choice(client_ids), "site_id": None,
                             "issue_date": issued.isoformat(),
                             "due_date": (issued + dt.timedelta(days=30)).isoformat(),
                             "status": status, "lines": lines, "notes": None})
        totals.append(total)
    invoice_ids = store.bulk_insert("invoices", invoice_rows)
    payment_rows = [
        {"invoice_id": iid, "client_id": inv["client_id"], "amount": str(total.quantize(CENT)),
         "date": min(today, dt.date.fromisoformat(inv["issue_date"]) + dt.timedelta(days=rng.randint(0, 20))).isoformat(),
         "method": rng.choice(("card", "check", "cash", "bank_transfer")), "reference": None}
        for iid, inv, total in zip(invoice_ids, invoice_rows, totals, strict=True) if inv["status"] == "paid" and total > 0
    ]
    store.bulk_insert("payments", payment_rows)

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
            "payments": len(payment_rows), "contractors": contractor_count, "contractor_invoices": len(ci_rows)}
