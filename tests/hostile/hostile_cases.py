"""The hostile-data corpus (issue 16 part 6): the cases, how each is put into Work, and what it expects.

Each :class:`Case` is one Work record (a client, an item, an invoice or a payment) that a careless
user, an import script or an attacker could leave in Work. :func:`seed` writes them all into an empty
Work practice server - valid ones through the "Work user" handle (the same checks as Work's API),
the ones Work's own rules refuse (an invalid date or e-mail, a 0-line invoice, an absurd amount, a
0.00 payment, a payment for an unknown invoice...) with ``WorkStore.bulk_insert`` / ``bulk_edit``:
the documented test-only way to put a malformed record in Work (docs/work-api.md, "Malformed
records"), because legacy data, imports and other integrations do get such records into Work.

``expect`` is the outcome the corpus pins: ``"synced"`` (read back from QuickBooks with Work's values,
or their documented cleaned form) or ``"problem"`` (exactly one open problem naming the record, nothing
in QuickBooks). Where the rule is "clean it or refuse it" the pin follows the decision documented in
docs/sync-engine.md ("Validate before sending"): control, bidi and zero-width characters are cleaned
(synced), an invalid e-mail, an over-long company name or phone, an absurd amount or date, a 0.00 or
negative payment are refused (one problem). ``None`` would accept either outcome; no case uses it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Characters that must never reach QuickBooks: C0/C1 controls, bidi embeddings/overrides/isolates,
#: zero-width and other invisible format characters (Unicode category Cf) - and the BOM.
BIDI_AND_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d",
                      "\u202e", "\u2060", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\u00ad", "\u061c"}


JOINERS = {"\u200c", "\u200d"}


def forbidden(ch: str) -> bool:
    return ch in BIDI_AND_INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf")


def _joining(text: str, i: int) -> bool:
    """A zero-width (non-)joiner is spelling in Persian and Indic scripts and in emoji sequences: it
    may stay between two visible non-ASCII characters (docs/sync-engine.md, "Validate before
    sending"), never next to a Latin letter, a space, another invisible character or an edge."""
    around = (text[i - 1] if i > 0 else "", text[i + 1] if i + 1 < len(text) else "")
    return all(c and ord(c) > 0x7F and not c.isspace() and not forbidden(c) for c in around)


def bad_chars(text: str) -> list[str]:
    return [f"U+{ord(ch):04X}" for i, ch in enumerate(text)
            if forbidden(ch) and not (ch in JOINERS and _joining(text, i))]


def cleaned_forms(text: str) -> set[str]:
    """What Work's text may legitimately become in QuickBooks: unchanged (trimmed), or with the forbidden
    characters dropped, or turned into spaces (runs of spaces then collapsed) - the two documented ways
    of cleaning. Each also in NFC, the normal form QuickBooks' own screens produce."""
    dropped = "".join(ch for i, ch in enumerate(text) if not forbidden(ch) or (ch in JOINERS and _joining(text, i)))
    spaced = " ".join("".join(" " if forbidden(ch) else ch for ch in text).split())
    forms = {text.strip(), dropped.strip(), " ".join(dropped.split()), spaced}
    return forms | {unicodedata.normalize("NFC", f) for f in forms}


TODAY = dt.date.today()
RECENT = (TODAY - dt.timedelta(days=10)).isoformat()
START_DATE = dt.date(1900, 1, 1)  # the corpus's "Sync invoices dated from": far-past dates are in range


@dataclass
class Case:
    id: str
    kind: str  # client | item | invoice | payment
    what: str
    expect: str | None  # "synced" | "problem" | None (either)
    work_id: str = ""
    label: str = ""  # the Work name or number a problem must name
    fields: dict[str, Any] = field(default_factory=dict)  # the Work values the read-back compares
    limits: dict[str, int] = field(default_factory=dict)  # Intuit's length of a QBO field checked here


@dataclass
class Corpus:
    cases: list[Case]
    anchor_client: str = ""
    service_item: str = ""

    def by_id(self, case_id: str) -> Case:
        return next(c for c in self.cases if c.id == case_id)


def _address(**over: Any) -> dict[str, Any]:
    base = {"line1": "1 Main St", "line2": None, "city": "Denver", "state": "CO", "postal_code": "80202",
            "country": "US"}
    return {**base, **over}


# -- clients: (id, what, expect, Work fields, Intuit limits, through the API?) ----------------------
LONG = "Rocky Mountain Regional Property Management and Facilities Maintenance Cooperative "
CLIENTS: list[tuple[str, str, str | None, dict[str, Any], dict[str, int], bool]] = [
    ("client-nul", "name with a NUL control character", "synced", {"name": "Nul\x00Byte Services"}, {}, True),
    ("client-bel", "name with a BEL control character", "synced", {"name": "Bell\x07 Ringers Ltd"}, {}, True),
    ("client-rlo", "name with a right-to-left override", "synced", {"name": "Invoice\u202efdp.exe Traders"}, {}, True),
    ("client-zwsp", "name with zero-width spaces", "synced", {"name": "Zero\u200bWidth\u200b Cleaning"}, {}, True),
    ("client-only-zwsp", "name that is only zero-width and bidi characters", "problem",
     {"name": "\u200b\u200d\u202e"}, {}, False),
    ("client-bad-email", "invalid e-mail address", "problem",
     {"name": "Invalid Email Roofing", "email": "not an e-mail@@example"}, {}, False),
    ("client-name-600", "name of 600 characters (QuickBooks allows 500)", "problem",
     {"name": (LONG * 8)[:600]}, {}, False),
    ("client-name-255", "name of 255 characters (Work's most; QuickBooks allows 500)", "synced",
     {"name": ("Long " + LONG * 4)[:255]}, {"DisplayName": 500}, True),
    ("client-company-255", "company name of 255 characters (QuickBooks allows 100)", "problem",
     {"name": "Long Company Name Client", "company_name": (LONG * 4)[:255]}, {"CompanyName": 100}, True),
    ("client-first-last-long", "first and last names of 100 characters", "synced",
     {"name": "Long Person Name", "first_name": "F" * 100, "last_name": "L" * 100},
     {"GivenName": 100, "FamilyName": 100}, True),
    ("client-phone-50", "phone of 50 characters (QuickBooks allows 30)", "problem",
     {"name": "Long Phone Plumbing", "phone": "+1 (303) 555-0100 ext. 12345 ask for the manager!!"},
     {"FreeFormNumber": 30}, True),
    ("client-double-quotes", 'double quotes', "synced", {"name": 'The "Best" Plumbers'}, {}, True),
    ("client-apostrophe", "apostrophe (O'Brien; QBO query escaping)", "synced", {"name": "O'Brien Roofing"}, {}, True),
    ("client-backslash", "backslashes (QBO query escaping)", "synced",
     {"name": "Back\\slash Supply \\'Co\\'"}, {}, True),
    ("client-sql", "SQL-looking name", "synced", {"name": "Robert'); DROP TABLE Customer;--"}, {}, True),
    ("client-like", "% and _ (LIKE wildcards)", "synced", {"name": "100% Clean_Co"}, {}, True),
    ("client-emoji", "emoji", "synced", {"name": "Sunny \u2600 Cafe \U0001F355"}, {}, True),
    ("client-arabic", "right-to-left text (Arabic)", "synced", {"name": "مؤسسة النور للصيانة"}, {}, True),
    ("client-hebrew", "right-to-left text (Hebrew)", "synced", {"name": "שירותי ניקיון כהן"}, {}, True),
    ("client-case-a", "name differing only by case (first)", "synced", {"name": "Acme Widgets"}, {}, True),
    ("client-case-b", "name differing only by case (second)", "problem", {"name": "ACME WIDGETS"}, {}, True),
    ("client-space-a", "name differing only by spacing (first)", "synced", {"name": "Delta Services"}, {}, True),
    ("client-space-b", "name differing only by spacing (second)", "problem", {"name": "Delta   Services"}, {}, True),
    ("client-padded", "leading and trailing spaces", "synced", {"name": "   Padded Name Ltd   "}, {}, True),
    ("client-tab", "tab inside the name", "problem", {"name": "Tab\tSeparated Inc"}, {}, True),
    ("client-newline", "line break inside the name", "problem", {"name": "Two\nLines LLC"}, {}, True),
    ("client-colon", "colon in the name (QuickBooks refuses)", "problem", {"name": "Smith: Commercial"}, {}, True),
    ("client-nfd", "decomposed accents (Unicode NFD)", "synced", {"name": "Cafe\u0301 Rene\u0301e"}, {}, True),
    ("client-nfc-a", "accents composed (NFC), first of a pair", "synced", {"name": "Crème Brûlée Bakery"}, {}, True),
    ("client-nfd-b", "the same name decomposed (NFD): looks identical", "problem",
     {"name": "Cre\u0300me Bru\u0302le\u0301e Bakery"}, {}, True),
    ("client-case-of-qbo-customer", "name differing only by case from a QuickBooks customer", "synced",
     {"name": "BLUE DOOR CAFE"}, {}, True),
    ("client-vendor-name", "name of a QuickBooks vendor (names are unique across both)", "problem",
     {"name": "Ace Equipment Rentals"}, {}, True),
    ("client-html", "HTML and an ampersand", "synced", {"name": "<script>alert(1)</script> & Sons"}, {}, True),
    ("client-format-string", "format-string placeholders", "synced", {"name": "{0} %s %(name)s {{x}} Co"}, {}, True),
    ("client-format-colon", "format-string placeholders in a refused name (the problem's text)", "problem",
     {"name": "Bad: {0} %s {name}"}, {}, True),
    ("client-zalgo", "stacked combining marks", "synced", {"name": "Z\u0337\u0321a\u0338l\u0335g\u0336o Repairs"}, {}, True),
    ("client-nbsp", "no-break spaces", "synced", {"name": "Non\u00a0Breaking\u00a0Space Co"}, {}, True),
    ("client-persian-zwnj", "Persian name spelt with a zero-width non-joiner", "synced",
     {"name": "شرکت می\u200cخواهیم"}, {}, True),
    ("client-emoji-zwj", "emoji sequence joined by zero-width joiners", "synced",
     {"name": "Family \U0001F468\u200d\U0001F469\u200d\U0001F467 Dental"}, {}, True),
    ("client-germany", "foreign country (Germany)", "synced",
     {"name": "Müller Bau GmbH", "billing_address": _address(line1="Hauptstraße 5", city="Berlin", state=None,
                                                               postal_code="10115", country="Germany")}, {}, True),
    ("client-japan", "foreign country (Japan, Japanese address)", "synced",
     {"name": "山田工業株式会社", "billing_address": _address(line1="千代田区丸の内1-1", city="東京", state="東京都",
                                                           postal_code="100-0005", country="Japan")}, {}, True),
    ("client-canada", "foreign country (Canada)", "synced",
     {"name": "Tremblay Rénovations", "billing_address": _address(line1="12 rue Sainte-Catherine", city="Montréal",
                                                                 state="QC", postal_code="H2X 1Z4",
                                                                 country="Canada")}, {}, True),
]

ITEMS: list[tuple[str, str, str | None, dict[str, Any], bool]] = [
    ("item-quotes", "item name with apostrophe, inch mark and backslash", "synced",
     {"name": "O'Neil 1/2\" Pipe \\ Fitting", "unit_price": "12.50"}, True),
    ("item-name-150", "item name of 150 characters (QuickBooks allows 100)", "problem",
     {"name": ("Industrial " + LONG * 2)[:150], "unit_price": "10.00"}, True),
    ("item-case-of-qbo-item", "item name differing only by case from a QuickBooks item", "synced",
     {"name": "service call", "unit_price": "120.00"}, True),
    ("item-bidi", "item name with a right-to-left override", "synced",
     {"name": "Filter\u202e Cartridge", "unit_price": "5.00"}, True),
]


#: (id, what, expect, the client case it belongs to (None: the anchor client), Work fields)
SITES: list[tuple[str, str, str | None, str | None, dict[str, Any]]] = [
    ("site-rlo", "site name with a right-to-left override", "synced", None, {"name": "Unit\u202e 5"}),
    ("site-colon", "site name with a colon (sent with a dash: 'Site (Client)' rule)", "synced", None,
     {"name": "Bldg: A"}),
    ("site-apostrophe", "site of the O'Brien client, with an apostrophe and a backslash", "synced",
     "client-apostrophe", {"name": "O'Hare Hangar \\ 3"}),
    ("site-twin-a", "site name (first)", "synced", None, {"name": "Main Office"}),
    ("site-twin-b", "the same site name again for the same client, differing by case and spacing", "problem",
     None, {"name": "main  office"}),
    ("site-japan", "site abroad (Japanese address)", "synced", "client-japan",
     {"name": "大阪支店", "address": _address(line1="北区梅田1-1", city="大阪", state="大阪府", postal_code="530-0001",
                                           country="Japan")}),
    ("site-long", "site of 255 characters of a client of 255 ('Site (Client)' over 500 is cut)", "synced",
     "client-name-255", {"name": ("Warehouse " + LONG * 4)[:255]}),
]

#: Contractors (QuickBooks vendors): (id, what, expect, Work fields, through the API?)
CONTRACTORS: list[tuple[str, str, str | None, dict[str, Any], bool]] = [
    ("contractor-bel", "contractor name with a BEL control character", "synced", {"name": "Spark\x07 Electric Subs"}, True),
    ("contractor-arabic", "contractor name in Arabic", "synced", {"name": "مقاولات الخليج"}, True),
    ("contractor-client-name", "contractor named like a client (names are unique across both)", "problem",
     {"name": "O'Brien Roofing"}, True),
    ("contractor-bad-email", "contractor with an invalid e-mail address", "problem",
     {"name": "Bad Mail Drywall", "email": "drywall@@example"}, False),
]
CONTRACT = [{"title": "Corpus contract", "start_date": "2026-01-01", "end_date": None, "status": "active",
             "id": None}]

#: The invoice and payment cases, in the order :func:`seed` writes them (their records need ids from Work).
INVOICE_IDS = [
    "invoice-ordinary", "invoice-feb-30", "invoice-negative", "invoice-absurd-total", "invoice-9999-12-31",
    "invoice-far-past", "invoice-far-future", "invoice-0-lines", "invoice-1000-lines", "invoice-missing-item",
    "invoice-duplicate-a", "invoice-duplicate-b", "invoice-number-22", "invoice-quoted-number",
    "invoice-rtl-emoji-lines", "invoice-control-memo", "invoice-long-memo", "invoice-memo-5000",
    "invoice-client-refused", "invoice-foreign-client", "invoice-rounding", "invoice-zero-total",
    "invoice-leap-day", "invoice-unicode-number", "invoice-paid-in-thirds",
]
CREDIT_IDS = ["credit-ordinary", "credit-applied", "credit-zero", "credit-absurd", "refund-ordinary",
              "refund-larger-than-payment", "refund-zero"]
POISON_IDS = ["client-active-not-boolean", "item-price-not-a-number", "payment-unknown-method",
              "invoice-unknown-status"]
BILL_IDS = ["bill-ordinary", "bill-bidi-description", "bill-absurd-amount", "bill-negative", "bill-unmapped-concept",
            "bill-refused-contractor", "bill-0-lines"]
PAYMENT_IDS = [
    "payment-ordinary", "payment-zero", "payment-negative", "payment-unknown-invoice", "payment-void-invoice",
    "payment-larger-than-invoice", "payment-on-1000-lines", "payment-9999-12-31", "payment-long-reference",
    "payment-third-1", "payment-third-2", "payment-third-3", "payment-apostrophe-client",
    "payment-on-refused-invoice",
]
#: The tally lines of the runs in this session, for the terminal summary (``conftest.py``).
TALLY: list[str] = []


def _line(item_id: str, price: str = "100.00", quantity: str = "1", description: str = "Service call") -> dict[str, Any]:
    amount = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))
    return {"item_id": item_id, "description": description, "quantity": quantity, "unit_price": price,
            "taxable": False, "discount": None, "amount": str(amount)}


def _raw_invoice(number: str, client_id: str, lines: list[dict[str, Any]], *, issue_date: str = RECENT,
                 status: str = "sent", notes: str | None = None) -> dict[str, Any]:
    """An invoice record as stored (bulk_insert computes its amounts), skipping the API's checks."""
    return {"number": number, "client_id": client_id, "site_id": None, "issue_date": issue_date,
            "due_date": None, "status": status, "lines": lines, "notes": notes, "tax": None, "discount": None,
            "terms": None}


def seed(work: Any) -> Corpus:
    """Write every case into the (empty) Work practice server; return the cases with their Work ids."""
    user, store = work.user, work.store
    cases: list[Case] = []

    service = user.add_item("Corpus Service Call", "100.00")["id"]
    anchor = user.add_client("Corpus Anchor Client", email="anchor@example.com")["id"]

    for cid, what, expect, fields, limits, via_api in CLIENTS:
        if via_api:
            wid = user.add_client(fields["name"], **{k: v for k, v in fields.items() if k != "name"})["id"]
        else:
            wid = store.bulk_insert("clients", [{"active": True, **fields}])[0]
        cases.append(Case(cid, "client", what, expect, wid, fields["name"].strip(), fields, limits))

    for kid, what, expect, fields, via_api in CONTRACTORS:
        if via_api:
            wid = user.add_contractor(fields["name"], contracts=[{k: v for k, v in CONTRACT[0].items() if k != "id"}],
                                      **{k: v for k, v in fields.items() if k != "name"})["id"]
        else:
            contracts = [{**CONTRACT[0], "id": store.reserve_contract_ids(1)[0]}]
            wid = store.bulk_insert("contractors", [{"contracts": contracts, "phone": None, "company_name": None,
                                                      **fields}])[0]
        cases.append(Case(kid, "vendor", what, expect, wid, fields["name"].strip(), fields))

    for iid, what, expect, fields, via_api in ITEMS:
        wid = (user.add_item(fields["name"], fields["unit_price"])["id"] if via_api
               else store.bulk_insert("items", [{"kind": "service", "active": True, **fields}])[0])
        cases.append(Case(iid, "item", what, expect, wid, fields["name"], fields))

    by_id = {c.id: c for c in cases}
    for sid, what, expect, owner, fields in SITES:
        client = by_id[owner].work_id if owner else anchor
        wid = user.add_site(client, fields["name"], **{k: v for k, v in fields.items() if k != "name"})["id"]
        cases.append(Case(sid, "site", what, expect, wid, fields["name"], {**fields, "client_id": client}))
    apostrophe = by_id["client-apostrophe"].work_id
    quote_item = by_id["item-quotes"].work_id

    def api_invoice(case_id: str, what: str, expect: str | None, client: str, lines: list[dict[str, Any]],
                    **kw: Any) -> Case:
        rec = user.add_invoice(client, lines, **kw)
        case = Case(case_id, "invoice", what, expect, rec["id"], rec["number"], rec)
        cases.append(case)
        return case

    def raw_invoice(case_id: str, what: str, expect: str | None, record: dict[str, Any]) -> Case:
        wid = store.bulk_insert("invoices", [record])[0]
        case = Case(case_id, "invoice", what, expect, wid, record["number"], store.get("invoices", wid))
        cases.append(case)
        return case

    # -- invoices --------------------------------------------------------------------------------
    ordinary = api_invoice("invoice-ordinary", "an ordinary invoice among the hostile ones", "synced", anchor,
                           [{"item_id": service}], number="HC-1000", issue_date=RECENT)
    raw_invoice("invoice-feb-30", "dated 2026-02-30 (no such day)", "problem",
                _raw_invoice("HC-1001", anchor, [_line(service)], issue_date="2026-02-30"))
    api_invoice("invoice-negative", "total of -100.00", "problem", anchor,
                [{"item_id": service, "unit_price": "-100.00"}], number="HC-1002", issue_date=RECENT)
    raw_invoice("invoice-absurd-total", "total of 99,999,999,999,990.00", "problem",
                _raw_invoice("HC-1003", anchor, [_line(service, price="99999999999990.00")]))
    raw_invoice("invoice-9999-12-31", "dated 9999-12-31", "problem",
                _raw_invoice("HC-1004", anchor, [_line(service)], issue_date="9999-12-31"))
    api_invoice("invoice-far-past", "dated 1901-03-15 (far past, after the start date)", "synced", anchor,
                [{"item_id": service}], number="HC-1005", issue_date="1901-03-15")
    api_invoice("invoice-far-future", "dated 2099-06-30 (far future)", "problem", anchor,
                [{"item_id": service}], number="HC-1006", issue_date="2099-06-30")
    raw_invoice("invoice-0-lines", "no lines at all (total 0.00)", "problem",
                _raw_invoice("HC-1007", anchor, []))
    # valid, but written in one insert: through the Work-user handle each line costs two item look-ups
    big = raw_invoice("invoice-1000-lines", "1,000 lines", "synced", _raw_invoice(
        "HC-1008", anchor, [_line(service, price=f"{1 + n % 97}.{n % 100:02d}", description=f"Visit {n + 1}")
                            for n in range(1000)]))
    raw_invoice("invoice-missing-item", "a line naming an item Work does not have", "problem",
                _raw_invoice("HC-1009", anchor, [_line(service), _line("it_999999")]))
    api_invoice("invoice-duplicate-a", "duplicate invoice number (first)", "synced", anchor,
                [{"item_id": service}], number="HC-DUP", issue_date=RECENT)
    api_invoice("invoice-duplicate-b", "duplicate invoice number (second, another client)", "problem",
                by_id["client-case-a"].work_id, [{"item_id": service, "unit_price": "55.00"}],
                number="HC-DUP", issue_date=RECENT)
    api_invoice("invoice-number-22", "invoice number of 22 characters (QuickBooks allows 21)", "problem", anchor,
                [{"item_id": service}], number="HC-2222222222222222222", issue_date=RECENT)
    quoted = api_invoice("invoice-quoted-number", "number and lines with apostrophes and backslashes", "synced",
                         apostrophe, [{"item_id": quote_item, "quantity": "3",
                                       "description": "O'Neil's \\ \"special\" fitting"}],
                         number="O'B\\7", issue_date=RECENT)
    api_invoice("invoice-rtl-emoji-lines", "line descriptions in Arabic, Hebrew and emoji", "synced",
                by_id["client-arabic"].work_id,
                [{"item_id": service, "description": "صيانة شهرية"}, {"item_id": service, "description": "ניקוי"},
                 {"item_id": service, "description": "\U0001F527 fix"}], number="HC-1010", issue_date=RECENT)
    api_invoice("invoice-control-memo", "memo with NUL, BEL and a right-to-left override", "synced", anchor,
                [{"item_id": service}], number="HC-1011", issue_date=RECENT,
                notes="Thanks\x00 for\x07 your \u202ebusiness")
    api_invoice("invoice-long-memo", "memo of 4,000 characters (the private note holds 4,000)", "synced", anchor,
                [{"item_id": service}], number="HC-1012", issue_date=RECENT, notes=("Long memo. " * 400)[:4000])
    raw_invoice("invoice-memo-5000", "memo of 5,000 characters (shortened to 4,000, ending in an ellipsis)", "synced",
                _raw_invoice("HC-1020", anchor, [_line(service)], notes=("Longer memo! " * 400)[:5000]))
    refused = api_invoice("invoice-client-refused", "invoice for a client QuickBooks refused (name too long)", "problem",
                by_id["client-name-600"].work_id, [{"item_id": service}], number="HC-1013", issue_date=RECENT)
    api_invoice("invoice-foreign-client", "invoice for a client abroad (Japan)", "synced",
                by_id["client-japan"].work_id, [{"item_id": service, "quantity": "2.5", "unit_price": "33.33"}],
                number="HC-1014", issue_date=RECENT)
    api_invoice("invoice-rounding", "a line of 0.3333 x 0.03 (rounds to 0.01)", "synced", anchor,
                [{"item_id": service, "quantity": "0.3333", "unit_price": "0.03"},
                 {"item_id": service, "quantity": "1.005", "unit_price": "9.99"}], number="HC-1016", issue_date=RECENT)
    api_invoice("invoice-zero-total", "one line of 0.00 (total 0.00)", "synced", anchor,
                [{"item_id": service, "unit_price": "0.00"}], number="HC-1017", issue_date=RECENT)
    api_invoice("invoice-leap-day", "dated 2028-02-29 (a real leap day)", "synced", anchor,
                [{"item_id": service}], number="HC-1018", issue_date="2028-02-29")
    api_invoice("invoice-unicode-number", "number in Cyrillic with a numero sign", "synced", anchor,
                [{"item_id": service}], number="Сч-№42", issue_date=RECENT)
    thirds = api_invoice("invoice-paid-in-thirds", "paid in three payments of 33.33, 33.33 and 33.34", "synced",
                         anchor, [{"item_id": service}], number="HC-1019", issue_date=RECENT)
    paid = api_invoice("invoice-to-void", "invoice paid, then voided in Work before any sync", None, anchor,
                       [{"item_id": service}], number="HC-1015", issue_date=RECENT)
    cases.remove(paid)  # a void never synced is a documented counted skip; the payment below is the case

    # -- payments --------------------------------------------------------------------------------
    def api_payment(case_id: str, what: str, expect: str | None, invoice_id: str, amount: str, **kw: Any) -> Case:
        rec = user.record_payment(invoice_id, amount, **kw)
        case = Case(case_id, "payment", what, expect, rec["id"], f"payment {rec['id']}", rec)
        cases.append(case)
        return case

    def raw_payment(case_id: str, what: str, expect: str | None, invoice_id: str, client_id: str, amount: str,
                    date: str = RECENT) -> Case:
        record = {"invoice_id": invoice_id, "client_id": client_id, "amount": amount, "date": date,
                  "method": "check", "reference": None, "status": "active"}
        wid = store.bulk_insert("payments", [record])[0]
        case = Case(case_id, "payment", what, expect, wid, f"payment {wid}", store.get("payments", wid))
        cases.append(case)
        return case

    def carrier(number: str, price: str = "100.00") -> str:
        """An ordinary invoice of its own for each refused payment, so a refusal moves no other case's balance."""
        return str(user.add_invoice(anchor, [{"item_id": service, "unit_price": price}], number=number,
                                    issue_date=RECENT)["id"])

    api_payment("payment-ordinary", "an ordinary part payment", "synced", ordinary.work_id, "40.00")
    raw_payment("payment-zero", "a 0.00 payment", "problem", carrier("HC-P01"), anchor, "0.00")
    raw_payment("payment-negative", "a -25.00 payment", "problem", carrier("HC-P02"), anchor, "-25.00")
    raw_payment("payment-unknown-invoice", "for an invoice Work does not have", "problem", "in_999999", anchor,
                "10.00")
    api_payment("payment-void-invoice", "for an invoice voided in Work", "problem", paid.work_id, "100.00")
    store.bulk_edit("invoices", {paid.work_id: {"status": "void"}})
    raw_payment("payment-larger-than-invoice", "larger than its invoice (150.00 on 100.00)", "problem",
                carrier("HC-P03"), anchor, "150.00")
    api_payment("payment-on-1000-lines", "paying the 1,000-line invoice in full", "synced", big.work_id,
                str(Decimal(big.fields["total"])))
    raw_payment("payment-9999-12-31", "dated 9999-12-31", "problem", carrier("HC-P04"), anchor, "5.00",
                date="9999-12-31")
    api_payment("payment-long-reference", "reference of 100 characters with quotes (QuickBooks' field holds 21)",
                "synced", carrier("HC-P05"), "60.00", reference=("Chk #42 'O\\'Brien' \"memo\" " * 5)[:100])
    for n, amount in enumerate(("33.33", "33.33", "33.34")):
        api_payment(f"payment-third-{n + 1}", f"payment {n + 1} of 3 ({amount})", "synced", thirds.work_id, amount,
                    reference=f"third {n + 1}")
    api_payment("payment-apostrophe-client", "for the O'Brien invoice with a quoted number", "synced",
                quoted.work_id, "37.50")
    api_payment("payment-on-refused-invoice", "for an invoice QuickBooks could not take", "problem",
                refused.work_id, "20.00")
    by_id = {c.id: c for c in cases}
    # -- credit notes (QuickBooks credit memos) and refunds (refund receipts) -------------------------
    def credit(case_id: str, what: str, expect: str | None, number: str, amount: str, *,
               invoice_id: str | None = None, raw: bool = False) -> Case:
        if raw:
            wid = store.bulk_insert("credit-notes", [{
                "number": number, "client_id": anchor, "invoice_id": invoice_id, "date": RECENT, "lines": [],
                "tax": None, "amount": amount, "status": "active", "notes": None}])[0]
        else:
            wid = user.add_credit_note(anchor, amount=amount, invoice_id=invoice_id, number=number, date=RECENT)["id"]
        case = Case(case_id, "credit_note", what, expect, wid, number, store.get("credit-notes", wid))
        cases.append(case)
        return case

    def refund(case_id: str, what: str, expect: str | None, payment_id: str, amount: str, *, raw: bool = False) -> None:
        if raw:
            wid = store.bulk_insert("refunds", [{
                "client_id": anchor, "payment_id": payment_id, "credit_note_id": None, "amount": amount,
                "date": RECENT, "method": "check", "reference": None, "status": "active"}])[0]
        else:
            wid = user.add_refund(amount, payment_id=payment_id, date=RECENT)["id"]
        cases.append(Case(case_id, "refund", what, expect, wid, f"Refund of {amount} on {RECENT}",
                          store.get("refunds", wid)))

    credit("credit-ordinary", "an ordinary credit of 20.00, not applied", "synced", "CN-HC-1", "20.00")
    credit("credit-applied", "a credit of 25.00 applied to an invoice", "synced", "CN-HC-2", "25.00",
           invoice_id=carrier("HC-P06"))
    credit("credit-zero", "a credit of 0.00", "problem", "CN-HC-3", "0.00", raw=True)
    credit("credit-absurd", "a credit of 99,999,999,999,990.00", "problem", "CN-HC-4", "99999999999990.00", raw=True)
    refunded = by_id["payment-long-reference"].work_id
    refund("refund-ordinary", "a refund of 10.00 of a 60.00 payment", "synced", refunded, "10.00")
    refund("refund-larger-than-payment", "a refund of 999.00 of a 60.00 payment", "problem", refunded, "999.00",
           raw=True)
    refund("refund-zero", "a refund of 0.00", "problem", refunded, "0.00", raw=True)

    # -- records that do not parse (poison isolation): written valid, then broken in the store ---------
    def broken(case_id: str, what: str, kind: str, resource: str, work_id: str, label: str,
               patch: dict[str, Any], expect: str = "problem") -> None:
        store.bulk_edit(resource, {work_id: patch})
        cases.append(Case(case_id, kind, what, expect, work_id, label, store.get(resource, work_id)
                          if resource != "invoices" else {**patch, "number": label}))

    poison_client = user.add_client("Poison Active Flag Ltd")["id"]
    broken("client-active-not-boolean", "a client whose 'active' is the text \"yes\"", "client", "clients",
           poison_client, "Poison Active Flag Ltd", {"active": "yes"})
    poison_item = user.add_item("Poison Price Item", "5.00")["id"]
    broken("item-price-not-a-number", "an item whose price is \"12,50\"", "item", "items", poison_item,
           "Poison Price Item", {"unit_price": "12,50"})
    poison_payment = user.record_payment(carrier("HC-P07"), "30.00")["id"]
    # A method the sync does not use (QuickBooks gets no payment method): read leniently, the money
    # still lands (a new method in Work must not stop payments). Not a non-numeric amount: the demo
    # server sums payment amounts into balances and would answer 500 itself (docs/work-api.md).
    broken("payment-unknown-method", "a payment whose method is \"crypto\" (not used by the sync)", "payment",
           "payments", poison_payment, f"payment {poison_payment}", {"method": "crypto"}, expect="synced")
    poison_invoice = user.add_invoice(anchor, [{"item_id": service}], number="HC-1021", issue_date=RECENT)["id"]
    broken("invoice-unknown-status", "an invoice whose status is \"archived\" (no such status)", "invoice",
           "invoices", poison_invoice, "HC-1021", {"status": "archived"})

    # -- contractor invoices (QuickBooks bills) ---------------------------------------------------
    vendor = by_id["contractor-arabic"].work_id

    def bill(case_id: str, what: str, expect: str | None, contractor: str, lines: list[dict[str, Any]],
             number: str, *, raw: bool = False, date: str = RECENT) -> None:
        if raw:
            contract = store.get("contractors", contractor)["contracts"][0]["id"]
            wid = store.bulk_insert("contractor-invoices", [{
                "contractor_id": contractor, "contract_id": contract, "number": number, "date": date,
                "due_date": None, "status": "approved", "lines": lines}])[0]
        else:
            wid = user.add_contractor_invoice(contractor, lines, number=number, date=date, status="approved")["id"]
        cases.append(Case(case_id, "bill", what, expect, wid, number, store.get("contractor-invoices", wid)))

    bill("bill-ordinary", "an ordinary contractor invoice", "synced", vendor,
         [{"concept": "Labor", "description": "Framing", "amount": "500.00"}], "CI-HC-1")
    bill("bill-bidi-description", "a line description with a right-to-left override and a NUL", "synced", vendor,
         [{"concept": "Materials", "description": "Lumber\u202e\x00 and nails", "amount": "120.55"}], "CI-HC-2")
    bill("bill-absurd-amount", "a line of 99,999,999,999,990.00", "problem", vendor,
         [{"concept": "Labor", "description": None, "amount": "99999999999990.00"}], "CI-HC-3", raw=True)
    bill("bill-negative", "a total of -50.00", "problem", vendor,
         [{"concept": "Travel", "description": "refund?", "amount": "-50.00"}], "CI-HC-4")
    bill("bill-unmapped-concept", "a concept Work does not have (not mapped to an account)", "problem", vendor,
         [{"concept": "Bribes", "description": None, "amount": "10.00"}], "CI-HC-5", raw=True)
    bill("bill-refused-contractor", "for a contractor QuickBooks refused (name taken)", "problem",
         by_id["contractor-client-name"].work_id, [{"concept": "Labor", "description": None, "amount": "75.00"}],
         "CI-HC-6")
    bill("bill-0-lines", "no lines at all", "problem", vendor, [], "CI-HC-7", raw=True)
    return Corpus(cases, anchor_client=anchor, service_item=service)

