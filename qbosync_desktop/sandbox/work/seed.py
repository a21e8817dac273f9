"""The demo data (``--seed demo``): "Summit Field Services", a US field-service business.

Deterministic: names, amounts and relations come from ``random.Random(seed)``; only the dates move
with "today" (invoices spread over the last 90 days). Other areas (matching, the sync engine, the
wizard's practice company) rely on these facts, so change them only together with their tests:

Company
    name "Summit Field Services", default_state "CO", default_country "US", currency "USD".
Invoice concepts
    Labor, Materials, Travel, Equipment rental.
Items (14)
    Service Call, Drain Cleaning, Water Heater Install, Water Heater Flush, Leak Repair,
    Furnace Tune-Up, AC Tune-Up, Thermostat Install, Garbage Disposal, Faucet Cartridge,
    "PEX Pipe 10 ft", Hourly Labor, Sump Pump Install, Warranty Part (unit price 0.00).
Clients (42), with the mess real data has:
    * near-matches for the QBO practice company's customers:
      - "Ann Lee", email ann.lee@example.com            (QBO: "Ann Lee", same email — exact match)
      - "Brightside Dental"                             (QBO: "Brightside Dental LLC")
      - "Carlos Nunez", email carlos.nunez@example.com  (QBO: "Carlos Núñez", same email)
      - "Green Valley H.O.A."                           (QBO: "Green Valley HOA")
      - "Maple St. Bakery", phone "(503) 555-0105"      (QBO: "Maple Street Bakery", same phone)
    * "Smith: Residential" — a colon, which QBO refuses in a DisplayName (code 2040);
    * a name over 100 characters (the "Rocky Mountain Regional Property Management ..." client; as its
      company name too it is over QuickBooks' 100, so the sync refuses it with a problem, issue 16);
    * "Joe Plumbing" and "joe  plumbing" — differ only in case and spacing;
    * "Dave Ortiz" with the invalid email "dave.ortiz@example" (no top-level domain: a problem, issue 16);
    * unicode names: "José Álvarez" (é, Á), "Peña Landscaping" (ñ), "Müller Haus" (ü), "李明 Li Ming" and
      "中华园 Zhonghua Garden" (中文);
    * no State: "Prairie Wind Farms" and "Lakeside Storage" (city but no state), "Tom Becker" (no
      billing address at all);
    * "Hank Rivera" (email hank@riveraelectric.example) is also the contractor "Hank Rivera";
    * "Old Town Laundromat" is inactive.
Sites
    About a third of the clients have 1-3 sites; Green Valley H.O.A. has "Clubhouse", "Pool House"
    and "Gate 2 Irrigation" — the last one has no address at all.
Invoices (~120, numbers INV-1001...)
    Issue dates spread over the last 90 days, due 30 days later; most sent or paid, a few drafts and
    voids; 1-4 lines on sensibly named items. Special ones: the invoice numbered
    "SUMMIT-2024-SERVICE-AGREEMENT-0042" (over QBO's 21 characters) and one with a zero-amount line
    (a "Warranty Part" at 0.00).
Payments
    Every paid invoice is paid in full by its active payments (one paid in two instalments); three
    of the ~120 sent invoices are partly paid.
    The ~120 invoices above carry no tax, discount or terms (``tax``/``discount``/``terms`` null,
    lines not taxable): they keep the figures older tests and the QuickBooks practice data rely on.
Books (issue 14; added after everything else, made "as a Work user would", no random numbers)
    * Tax rates: Denver 8.81 %, Boulder 8.845 %, Lakewood 7.5 %, Mountain Resort District 9.975 %,
      and the inactive "Denver (before 2025)" 8.31 %; four new sites carry one each.
    * "Wash Park Preschool" is tax-exempt.
    * INV-2001 (Mile High Brewing Co., Denver): taxable and untaxed lines, Net 30; paid by a check
      first typed 10.00 short and with a wrong reference, then corrected (payment version 2).
    * INV-2002 (Foothills Vet Clinic, Boulder): a 10 % line discount and a 25.00 invoice discount,
      Net 15; paid; 40.00 refunded against the payment (a partial refund).
    * INV-2003 (Wash Park Preschool, tax-exempt): taxable goods, no tax; a 20.00 credit applied to
      it and then voided (CN-0001).
    * INV-2004 (Cherry Creek Apartments, Mountain Resort District 9.975 %): a 5 % invoice
      discount, due on receipt; a returned cartridge credited with its tax and applied to it
      (CN-0002, 37.94), so it stays partly open.
    * INV-2005 (Ann Lee, Denver): 1.5 × 0.33 = 0.495 → a 0.50 line, its tax 0.04.
    * INV-2006 (Union Station Deli, Lakewood): a check that bounced (voided), then paid by card; a
      15.00 refund against the card payment keyed by mistake and voided.
    * CN-0003: an open 60.00 credit for Red Rocks Yoga, 25.00 of it refunded by check.
Contractors (6) with 1-2 contracts each; ~20 contractor invoices over the 4 concepts, mostly approved
    or paid, some submitted, one draft, one rejected.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from qbosync_desktop.sandbox.work.store import WorkStore

COMPANY = {"name": "Summit Field Services", "default_state": "CO", "default_country": "US", "currency": "USD"}
CONCEPTS = [
    ("Labor", "Hours worked on a contract"),
    ("Materials", "Parts and supplies bought for a job"),
    ("Travel", "Mileage, parking and travel time"),
    ("Equipment rental", "Rented tools and machines"),
]
ITEMS = [  # name, kind, unit price, description
    ("Service Call", "service", "89.00", "Diagnostic visit, first 30 minutes"),
    ("Drain Cleaning", "service", "149.00", "Main or branch drain clearing"),
    ("Water Heater Install", "service", "1450.00", "40-50 gal tank water heater, installed"),
    ("Water Heater Flush", "service", "120.00", "Sediment flush and anode check"),
    ("Leak Repair", "service", "185.00", "Repair of a visible supply or drain leak"),
    ("Furnace Tune-Up", "service", "129.00", "Seasonal furnace inspection and cleaning"),
    ("AC Tune-Up", "service", "129.00", "Seasonal air-conditioning check"),
    ("Thermostat Install", "service", "95.00", "Install and configure a thermostat"),
    ("Garbage Disposal", "product", "219.00", "1/2 HP disposal unit"),
    ("Faucet Cartridge", "product", "34.50", "Replacement cartridge"),
    ("PEX Pipe 10 ft", "product", "18.75", "1/2 in PEX-A, 10 ft"),
    ("Hourly Labor", "service", "95.00", "Technician labor per hour"),
    ("Sump Pump Install", "service", "680.00", "Sump pump supplied and installed"),
    ("Warranty Part", "product", "0.00", "Part replaced under manufacturer warranty"),
]
LONG_NAME = ("Rocky Mountain Regional Property Management Cooperative of the Front Range - "
             "Commercial and Residential Maintenance Division")
LONG_NUMBER = "SUMMIT-2024-SERVICE-AGREEMENT-0042"
CITIES = [("Denver", "80202"), ("Boulder", "80302"), ("Aurora", "80012"), ("Lakewood", "80226"),
          ("Golden", "80401"), ("Littleton", "80120"), ("Arvada", "80002"), ("Westminster", "80031"),
          ("Englewood", "80110"), ("Thornton", "80229")]
STREETS = ["Elm St", "Pine Ave", "Colfax Ave", "Broadway", "Larimer St", "Cedar Ln", "Aspen Way",
           "Spruce Ct", "Pearl St", "Federal Blvd", "Alameda Ave", "Quebec St"]
FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Harper", "Mason", "Ella",
         "Logan", "Grace", "Owen", "Chloe", "Wyatt", "Nora", "Caleb", "Ruby", "Henry"]
LAST = ["Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Anderson",
        "Taylor", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Young"]
TAX_EXEMPT = "Wash Park Preschool"  # a non-profit school: never charged sales tax
BUSINESSES = ["Front Range Dentistry", "Mile High Brewing Co.", "Cherry Creek Apartments", "Foothills Vet Clinic",
              "Red Rocks Yoga", "Sloan's Lake Cafe", "Highlands Hair Studio", "Union Station Deli",
              "Platte River Fitness", "Wash Park Preschool"]


def _address(rng: random.Random, *, state: str | None = "CO") -> dict[str, Any]:
    city, postal = rng.choice(CITIES)
    return {"line1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}", "line2": None, "city": city,
            "state": state, "postal_code": postal, "country": "US"}


def _phone(rng: random.Random) -> str:
    return f"(303) 555-{rng.randint(200, 9999):04d}"


def _client(name: str, rng: random.Random, **over: Any) -> dict[str, Any]:
    first, _, last = name.partition(" ") if over.pop("person", False) else (None, "", None)
    slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum()) or "client"
    record = {"name": name, "first_name": first, "last_name": last or None, "company_name": None,
              "email": f"{slug[:20]}@example.com", "phone": _phone(rng), "billing_address": _address(rng),
              "active": True}
    if first is None:
        record["company_name"] = name
    record.update(over)
    return record


def demo_clients(rng: random.Random) -> list[dict[str, Any]]:
    """The 42 demo clients: the special cases first (see the module docstring), then ordinary ones."""
    no_state = _address(rng, state=None)
    clients = [
        _client("Ann Lee", rng, person=True, email="ann.lee@example.com"),
        _client("Brightside Dental", rng, email="frontdesk@brightsidedental.example"),
        _client("Carlos Nunez", rng, person=True, email="carlos.nunez@example.com"),
        _client("Green Valley H.O.A.", rng, email="board@greenvalleyhoa.example"),
        _client("Maple St. Bakery", rng, email="hello@maplestbakery.example", phone="(503) 555-0105"),
        _client("Smith: Residential", rng, first_name="Pat", last_name="Smith"),
        _client(LONG_NAME, rng, email="maintenance@rmrpmc.example"),
        _client("Joe Plumbing", rng, email="joe@joeplumbing.example"),
        _client("joe  plumbing", rng, email="office@joeplumbing.example"),
        _client("Dave Ortiz", rng, person=True, email="dave.ortiz@example"),
        _client("José Álvarez", rng, person=True, email="jose.alvarez@example.com"),
        _client("Peña Landscaping", rng, email="info@penalandscaping.example"),
        _client("Müller Haus", rng, email="kontakt@muellerhaus.example"),
        _client("李明 Li Ming", rng, first_name="明", last_name="李", email="li.ming@example.com"),
        _client("中华园 Zhonghua Garden", rng, email="info@zhonghuagarden.example"),
        _client("Prairie Wind Farms", rng, billing_address=no_state),
        _client("Lakeside Storage", rng, billing_address={**_address(rng, state=None), "country": None}),
        _client("Tom Becker", rng, person=True, billing_address=None, phone=None),
        _client("Hank Rivera", rng, person=True, email="hank@riveraelectric.example",
                company_name="Rivera Electric"),
        _client("Old Town Laundromat", rng, active=False),
    ]
    for business in BUSINESSES:
        clients.append(_client(business, rng, tax_exempt=business == TAX_EXEMPT))
    used = {c["name"] for c in clients}
    while len(clients) < 42:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name not in used:
            used.add(name)
            clients.append(_client(name, rng, person=True))
    return clients


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def load(store: WorkStore, seed: str | None = "demo", *, today: dt.date | None = None) -> None:
    """Fill an empty store with the demo data (``seed=None``: only the company and the concepts)."""
    rng = random.Random(seed or "empty")
    today = today or dt.date.today()
    now = store.clock.now()
    day = 86_400_000_000

    def created(days_ago: int) -> int:
        return now - days_ago * day

    store.bulk_insert("company", [{**COMPANY, "created_at": created(800)}])
    store.bulk_insert("invoice-concepts", [{"name": n, "description": d, "created_at": created(700)}
                                           for n, d in CONCEPTS])
    if seed is None:
        return
    item_ids = store.bulk_insert("items", [
        {"name": n, "kind": k, "unit_price": p, "description": d, "active": True, "created_at": created(600)}
        for n, k, p, d in ITEMS])
    items = dict(zip([i[0] for i in ITEMS], zip(item_ids, [Decimal(i[2]) for i in ITEMS], strict=True), strict=True))

    clients = demo_clients(rng)
    client_ids = store.bulk_insert("clients", [{**c, "created_at": created(rng.randint(95, 720))} for c in clients])
    by_name = dict(zip([c["name"] for c in clients], client_ids, strict=True))

    sites: list[dict[str, Any]] = []
    green = by_name["Green Valley H.O.A."]
    sites += [{"client_id": green, "name": "Clubhouse", "address": _address(rng), "active": True},
              {"client_id": green, "name": "Pool House", "address": _address(rng), "active": True},
              {"client_id": green, "name": "Gate 2 Irrigation", "address": None, "active": True}]
    for client, cid in zip(clients, client_ids, strict=True):
        if client["name"] == "Green Valley H.O.A." or rng.random() > 0.3:
            continue
        for n in range(rng.randint(1, 3)):
            label = rng.choice(["Main Office", "Warehouse", "Rental", "Shop", "North Lot", "Unit"])
            parent = client["billing_address"] or {}
            address = {**_address(rng), "state": parent.get("state", "CO")}
            sites.append({"client_id": cid, "name": f"{label} {n + 1}", "address": address, "active": True})
    site_ids = store.bulk_insert("sites", [{**s, "created_at": created(rng.randint(1, 90))} for s in sites])
    sites_of: dict[str, list[str]] = {}
    for site, sid in zip(sites, site_ids, strict=True):
        sites_of.setdefault(site["client_id"], []).append(sid)

    active_clients = [cid for c, cid in zip(clients, client_ids, strict=True) if c["active"]]
    invoices, plans = _demo_invoices(rng, today, active_clients, sites_of, items)
    invoice_ids = store.bulk_insert("invoices", invoices)
    payments = _demo_payments(rng, today, invoices, invoice_ids, plans)
    store.bulk_insert("payments", payments)
    _load_contractors(store, rng, today, created)
    _load_books(store, today, by_name, {name: item_id for name, (item_id, _price) in items.items()},
                {cid: len(ids) for cid, ids in sites_of.items()})


def _demo_invoices(rng: random.Random, today: dt.date, client_ids: list[str], sites_of: dict[str, list[str]],
                   items: dict[str, tuple[str, Decimal]]) -> tuple[list[dict[str, Any]], list[str]]:
    """~120 invoices over the last 90 days, and per invoice a payment plan: none, full, split, partial."""
    count = 120
    dates = sorted(today - dt.timedelta(days=rng.randint(0, 89)) for _ in range(count))
    ordinary = [n for n in items if n != "Warranty Part"]
    invoices, plans = [], []
    for n, issued in enumerate(dates):
        client = rng.choice(client_ids)
        lines = []
        for name in rng.sample(ordinary, rng.randint(1, 4)):
            item_id, price = items[name]
            qty = {"Hourly Labor": rng.choice(["1.5", "2", "3"]), "PEX Pipe 10 ft": str(rng.randint(1, 10)),
                   "Faucet Cartridge": str(rng.randint(1, 3))}.get(name, "1")
            if rng.random() < 0.1:  # a negotiated price now and then
                price = (price * Decimal("0.9")).quantize(Decimal("0.01"))
            lines.append({"item_id": item_id, "description": name, "quantity": qty, "unit_price": _money(price)})
        if n == 17:  # the zero-amount line
            lines.append({"item_id": items["Warranty Part"][0], "description": "Warranty Part - cartridge",
                          "quantity": "1", "unit_price": "0.00"})
        roll = rng.random()
        age = (today - issued).days
        if age < 3 and roll < 0.5 or roll < 0.06:
            status, plan = "draft", "none"
        elif roll < 0.10:
            status, plan = "void", "none"
        elif roll < 0.62 and age > 2:
            status, plan = "paid", "full"
        else:
            status, plan = "sent", "none"
        invoices.append({
            "number": LONG_NUMBER if n == 42 else f"INV-{1001 + n}",
            "client_id": client,
            "site_id": rng.choice(sites_of[client]) if client in sites_of and rng.random() < 0.6 else None,
            "issue_date": issued.isoformat(),
            "due_date": (issued + dt.timedelta(days=30)).isoformat(),
            "status": status,
            "lines": lines,
            "notes": rng.choice([None, None, "Thank you for your business!", "Gate code 4411", "Call before arriving"]),
        })
        plans.append(plan)
    paid = [i for i, p in enumerate(plans) if p == "full"]
    sent = [i for i, inv in enumerate(invoices) if inv["status"] == "sent"]
    if paid:
        plans[paid[len(paid) // 2]] = "split"
    for i in sent[:3]:
        plans[i] = "partial"
    return invoices, plans


def _demo_payments(rng: random.Random, today: dt.date, invoices: list[dict[str, Any]], invoice_ids: list[str],
                   plans: list[str]) -> list[dict[str, Any]]:
    from qbosync_desktop.sandbox.work.rules import compute

    payments = []
    for invoice, iid, plan in zip(invoices, invoice_ids, plans, strict=True):
        if plan == "none":
            continue
        total = Decimal(compute("invoices", {**invoice, "lines": [dict(ln) for ln in invoice["lines"]]})["total"])
        issued = dt.date.fromisoformat(invoice["issue_date"])
        if plan == "full":
            parts = [total]
        elif plan == "split":
            half = (total / 2).quantize(Decimal("0.01"))
            parts = [half, total - half]
        else:
            parts = [(total * Decimal("0.4")).quantize(Decimal("0.01"))]
        for n, amount in enumerate(parts):
            if amount <= 0:
                continue
            paid_on = min(today, issued + dt.timedelta(days=rng.randint(0, 20) + 7 * n))
            method = rng.choice(["card", "card", "check", "cash", "bank_transfer"])
            payments.append({"invoice_id": iid, "client_id": invoice["client_id"], "amount": _money(amount),
                             "date": paid_on.isoformat(), "method": method,
                             "reference": f"CHK {rng.randint(1000, 9999)}" if method == "check" else None})
    return payments


CONTRACTORS = [  # name, email, company, phone
    ("Hank Rivera", "hank@riveraelectric.example", "Rivera Electric", "(303) 555-0311"),
    ("Sofia Marquez", "sofia@marquezhvac.example", "Marquez HVAC", "(720) 555-0144"),
    ("Ben Okafor", "ben.okafor@example.com", None, "(720) 555-0190"),
    ("Lena Fischer", "lena@fischerroofing.example", "Fischer Roofing", "(303) 555-0456"),
    ("Mountain Crane Rentals", "dispatch@mtncrane.example", "Mountain Crane Rentals", "(303) 555-0777"),
    ("Priya Shah", "priya.shah@example.com", None, "(720) 555-0923"),
]


def _load_contractors(store: WorkStore, rng: random.Random, today: dt.date, created: Any) -> None:
    contract_count = [2, 1, 1, 2, 1, 1]
    contract_ids = iter(store.reserve_contract_ids(sum(contract_count)))
    contractors = []
    for (name, email, company, phone), n in zip(CONTRACTORS, contract_count, strict=True):
        contracts = []
        for k in range(n):
            start = today - dt.timedelta(days=rng.randint(120, 400))
            ended = k == 0 and n == 2
            contracts.append({
                "id": next(contract_ids), "title": f"{company or name} - {'2023 ' if ended else ''}service contract",
                "start_date": start.isoformat(),
                "end_date": (today - dt.timedelta(days=100)).isoformat() if ended else None,
                "status": "ended" if ended else "active"})
        contractors.append({"name": name, "email": email, "phone": phone, "company_name": company,
                            "contracts": contracts, "created_at": created(rng.randint(120, 400))})
    contractor_ids = store.bulk_insert("contractors", contractors)
    invoices = []
    statuses = ["approved"] * 8 + ["paid"] * 7 + ["submitted"] * 3 + ["draft", "rejected"]
    rng.shuffle(statuses)
    concept_names = [c[0] for c in CONCEPTS]
    for n, status in enumerate(statuses):
        k = n % len(contractors)
        contractor = contractors[k]
        active = [c for c in contractor["contracts"] if c["status"] == "active"]
        issued = today - dt.timedelta(days=rng.randint(0, 85))
        lines = []
        for concept in rng.sample(concept_names, rng.randint(1, 3)):
            amount = Decimal(rng.randint(40, 2400)) + Decimal(rng.randint(0, 99)) / 100
            lines.append({"concept": concept, "description": f"{concept} - week of {issued.isoformat()}",
                          "amount": _money(amount)})
        invoices.append({"contractor_id": contractor_ids[k], "contract_id": active[0]["id"],
                         "number": f"{contractor['name'].split()[0][:4].upper()}-{2400 + n}",
                         "date": issued.isoformat(), "due_date": (issued + dt.timedelta(days=15)).isoformat(),
                         "lines": lines, "status": status})
    store.bulk_insert("contractor-invoices", invoices)


#: name, percent, active. Percent strings as Work writes them (up to three decimals).
TAX_RATES = [
    ("Denver", "8.81", True),
    ("Boulder", "8.845", True),
    ("Lakewood", "7.5", True),
    ("Mountain Resort District", "9.975", True),
    ("Denver (before 2025)", "8.31", False),
]
#: The line whose 1.5 units at 0.33 make 0.495 → 0.50 (round half up): PEX offcuts sold at scrap price.
ROUNDING_LINE = {"item": "PEX Pipe 10 ft", "quantity": "1.5", "unit_price": "0.33",
                 "description": "PEX offcut, 15 ft at scrap price (0.33 per 10 ft)"}


def _load_books(store: WorkStore, today: dt.date, clients: dict[str, str], items: dict[str, str],
                site_count: dict[str, int]) -> None:
    """The "books" records (issue 14): tax, discounts, terms, payment corrections, credits, refunds.

    Added after everything else and without the random generator, so the older demo records stay
    exactly as they were (and with them the counts other tests rely on). Made through the Work-user
    handle, as a person would, so edits and voids carry real versions and timestamps.
    """
    from qbosync_desktop.sandbox.work.user import WorkUser

    user = WorkUser(store)
    rates = {name: store.create("tax-rates", {"name": name, "percent": pct, "active": active})["id"]
             for name, pct, active in TAX_RATES}

    def site(client: str, label: str, city: str, postal: str, rate: str) -> str:
        assert site_count.get(clients[client], 0) < 3, client  # no client has more than three sites
        address = {"line1": "100 Market St", "line2": None, "city": city, "state": "CO", "postal_code": postal,
                   "country": "US"}
        return user.add_site(clients[client], label, address=address, tax_rate_id=rates[rate])["id"]

    def day(days_ago: int) -> str:
        return (today - dt.timedelta(days=days_ago)).isoformat()

    def line(item: str, quantity: str = "1", *, taxable: bool = False, price: str | None = None,
             discount: dict[str, str] | None = None, description: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"item_id": items[item], "description": description or item, "quantity": quantity,
                               "taxable": taxable, "discount": discount}
        if price is not None:
            out["unit_price"] = price
        return out

    def invoice(number: str, client: str, lines: list[dict[str, Any]], days_ago: int, **fields: Any) -> dict[str, Any]:
        days = {"Net 15": 15, "Due on receipt": 0}.get(str(fields.get("terms")), 30)
        return user.add_invoice(clients[client], lines, number=number, issue_date=day(days_ago),
                                due_date=day(days_ago - days), **fields)

    # INV-2001: Denver 8.81 %, mixed taxable lines, Net 30; the check was first typed 10.00 short, then corrected.
    taproom = site("Mile High Brewing Co.", "Taproom", "Denver", "80202", "Denver")
    inv = invoice("INV-2001", "Mile High Brewing Co.", [
        line("Garbage Disposal", taxable=True), line("Hourly Labor", "1.5"), line("PEX Pipe 10 ft", "3", taxable=True)],
        52, site_id=taproom, tax_rate_id=rates["Denver"], terms="Net 30")
    payment = user.record_payment(inv["id"], str(Decimal(inv["total"]) - 10), date=day(40), method="check",
                                  reference="CHK 5120")
    user.edit_payment(payment["id"], amount=inv["total"], reference="CHK 5210")

    # INV-2002: Boulder 8.845 %, a 10 % line discount and a 25.00 invoice discount, Net 15; paid in
    # full, then 40.00 of it refunded as a goodwill gesture (a partial refund against the payment).
    clinic = site("Foothills Vet Clinic", "Clinic", "Boulder", "80302", "Boulder")
    inv = invoice("INV-2002", "Foothills Vet Clinic", [
        line("Sump Pump Install", taxable=True, discount={"kind": "percent", "value": "10"}),
        line("Faucet Cartridge", "2", taxable=True), line("Service Call")],
        45, site_id=clinic, tax_rate_id=rates["Boulder"], discount={"kind": "amount", "value": "25.00"},
        terms="Net 15")
    payment = user.record_payment(inv["id"], date=day(38), method="card")
    user.add_refund("40.00", payment_id=payment["id"], date=day(30), method="card", reference="Goodwill refund")

    # INV-2003: the tax-exempt client; taxable goods, no tax. A 20.00 credit applied to it was voided
    # (issued by mistake), so its balance is the whole total again.
    inv = invoice("INV-2003", TAX_EXEMPT, [line("Garbage Disposal", taxable=True), line("Leak Repair")], 33,
                  terms="Net 30")
    mistaken = user.add_credit_note(clients[TAX_EXEMPT], amount="20.00", invoice_id=inv["id"], number="CN-0001",
                                    date=day(31), notes="Issued by mistake")
    user.void_credit_note(mistaken["id"])

    # INV-2004: Mountain Resort District 9.975 %, a 5 % invoice discount, due on receipt; a returned
    # cartridge credited (with its tax) and applied to the invoice, which stays partly open.
    lodge = site("Cherry Creek Apartments", "Ski Lodge Units", "Breckenridge", "80424", "Mountain Resort District")
    inv = invoice("INV-2004", "Cherry Creek Apartments", [
        line("Water Heater Install", taxable=True), line("Faucet Cartridge", "3", taxable=True),
        line("Hourly Labor", "2")],
        27, site_id=lodge, tax_rate_id=rates["Mountain Resort District"], discount={"kind": "percent", "value": "5"},
        terms="Due on receipt")
    user.add_credit_note(clients["Cherry Creek Apartments"], lines=[line("Faucet Cartridge", taxable=True)],
                         invoice_id=inv["id"], tax_rate_id=rates["Mountain Resort District"], number="CN-0002",
                         date=day(20), notes="Returned one unused cartridge")

    # INV-2005: 1.5 × 0.33 = 0.495 → 0.50; Denver tax on the offcut only (0.50 × 8.81 % = 0.04405 → 0.04).
    r = ROUNDING_LINE
    inv = invoice("INV-2005", "Ann Lee", [
        line("Service Call"),
        line(r["item"], r["quantity"], price=r["unit_price"], description=r["description"], taxable=True)],
        18, tax_rate_id=rates["Denver"], terms="Net 30")

    # INV-2006: Lakewood 7.5 %; the check bounced (voided) and the client paid by card; a refund
    # keyed against the card payment by mistake was voided.
    shop = site("Union Station Deli", "Kitchen", "Lakewood", "80226", "Lakewood")
    inv = invoice("INV-2006", "Union Station Deli", [line("Garbage Disposal", taxable=True), line("Drain Cleaning")],
                  40, site_id=shop, tax_rate_id=rates["Lakewood"], terms="Net 30")
    bounced = user.record_payment(inv["id"], date=day(35), method="check", reference="CHK 871")
    user.void_payment(bounced["id"])
    card = user.record_payment(inv["id"], date=day(28), method="card")
    wrong = user.add_refund("15.00", payment_id=card["id"], date=day(26), method="card")
    user.void_refund(wrong["id"])

    # An open credit (no invoice) for a missed appointment, 25.00 of it refunded.
    credit = user.add_credit_note(clients["Red Rocks Yoga"], amount="60.00", number="CN-0003", date=day(15),
                                  notes="Missed appointment - goodwill credit")
    user.add_refund("25.00", credit_note_id=credit["id"], date=day(12), method="check", reference="CHK 6001")
