"""The "practice" company: a small home-services business, the same every time, in two flavours.

``us`` (default): in Oregon, with Automated Sales Tax (its per-state tax codes, ``tax.US_STATE_TAX``).
``ca``: the same business, names and amounts in British Columbia/Ontario, with Canadian tax codes
and rates (GST, HST, QST 9.975 %, PST...) that every invoice line names, in Canadian dollars.
Both have the sales terms Due on receipt, Net 15 and Net 30 (the company default, Id 3).

Its data is chosen to exercise the sync: several Income and Expense/COGS accounts for the dropdowns,
two bank accounts plus Undeposited Funds for the deposit choice, about fifteen customers — three with
sub-customers (Sites), one with no state (the seed's "unknown State" rule), an inactive one, and a
few whose names or emails are close to, but not exactly, the Work demo server's clients ("Ann Lee",
"Brightside Dental", "Carlos Nunez"...) so match review has work to do — items, vendors, open
invoices, a partial payment and an open bill. Everything goes through the normal create rules.
"""

from __future__ import annotations

from typing import Any

from qbosync_desktop.sandbox.qbo import operations, tax
from qbosync_desktop.sandbox.qbo.storage import Company

COMPANY_NAME = "Cedar & Pine Home Services"

ACCOUNTS: list[tuple[str, str, str]] = [
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Installation", "Income", "ServiceFeeIncome"),
    ("Subcontractors", "Cost of Goods Sold", "CostOfLaborCos"),
    ("Job Materials", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Travel Expense", "Expense", "Travel"),
    ("Equipment Rental", "Expense", "EquipmentRental"),
    ("Office Supplies", "Expense", "OfficeGeneralAdministrativeExpenses"),
    ("Business Checking", "Bank", "Checking"),
    ("Business Savings", "Bank", "Savings"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
]


def _addr(line1: str, city: str, state: str | None, postal: str) -> dict[str, str]:
    addr = {"Line1": line1, "City": city, "PostalCode": postal, "Country": "USA"}
    if state:
        addr["CountrySubDivisionCode"] = state
    return addr


def _person(given: str, family: str, email: str, phone: str, addr: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"DisplayName": f"{given} {family}", "GivenName": given, "FamilyName": family,
            "PrimaryEmailAddr": {"Address": email}, "PrimaryPhone": {"FreeFormNumber": phone}, "BillAddr": addr, **extra}


def _business(name: str, email: str, phone: str, addr: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"DisplayName": name, "CompanyName": name, "PrimaryEmailAddr": {"Address": email},
            "PrimaryPhone": {"FreeFormNumber": phone}, "BillAddr": addr, **extra}


CUSTOMERS: list[dict[str, Any]] = [
    _person("Ann", "Lee", "ann.lee@example.com", "(503) 555-0101", _addr("214 SE Oak St", "Portland", "OR", "97214")),
    _business("Brightside Dental LLC", "office@brightsidedental.example.com", "(503) 555-0102",
              _addr("88 NW 23rd Ave", "Portland", "OR", "97210")),
    _person("Carlos", "Núñez", "carlos.nunez@example.com", "(360) 555-0103", _addr("1520 Main St", "Vancouver", "WA", "98660")),
    _business("Green Valley HOA", "board@greenvalleyhoa.example.org", "(503) 555-0104",
              _addr("1 Green Valley Dr", "Beaverton", "OR", "97005")),
    _business("Maple Street Bakery", "hello@maplestreetbakery.example.com", "(503) 555-0105",
              _addr("402 Maple St", "Salem", "OR", "97301")),
    _business("Oakridge Property Management", "ap@oakridgepm.example.com", "(503) 555-0106",
              _addr("900 SW 5th Ave Suite 300", "Portland", "OR", "97204")),
    _person("Jenna", "Morales", "jenna.morales@example.net", "(503) 555-0107", _addr("77 River Rd", "Hood River", None, "97031")),
    _business("Harbor View Apartments", "manager@harborview.example.com", "(206) 555-0108",
              _addr("3100 Alki Ave SW", "Seattle", "WA", "98116")),
    _business("Sunrise Yoga Studio", "namaste@sunriseyoga.example.com", "(503) 555-0109",
              _addr("12 NE Alberta St", "Portland", "OR", "97211")),
    _person("Mark", "Thompson", "mthompson@example.org", "(541) 555-0110", _addr("5 Pine Cone Ln", "Bend", "OR", "97701")),
    _business("Riverside Community Church", "office@riversidecc.example.org", "(503) 555-0111",
              _addr("455 River Pkwy", "Milwaukie", "OR", "97222")),
    _business("Lakeside Veterinary Clinic", "frontdesk@lakesidevet.example.com", "(503) 555-0112",
              _addr("2300 Lake Blvd", "Lake Oswego", "OR", "97034")),
    _business("Blue Door Cafe", "owner@bluedoorcafe.example.com", "(503) 555-0113",
              _addr("61 Front St", "Astoria", "OR", "97103")),
    _person("Priya", "Shah", "priya.shah@example.com", "(425) 555-0114", _addr("18 Cedar Ct", "Bellevue", "WA", "98004")),
    _business("Old Mill Antiques", "info@oldmillantiques.example.com", "(503) 555-0115",
              _addr("9 Mill St", "Oregon City", "OR", "97045"), Active=False),
]

#: (parent DisplayName, sub-customer DisplayName, address)
SUB_CUSTOMERS: list[tuple[str, str, dict[str, str]]] = [
    ("Green Valley HOA", "Clubhouse", _addr("10 Green Valley Dr", "Beaverton", "OR", "97005")),
    ("Green Valley HOA", "Pool House", _addr("12 Green Valley Dr", "Beaverton", "OR", "97005")),
    ("Maple Street Bakery", "Maple Street Bakery - Warehouse", _addr("17 Industrial Way", "Salem", None, "97301")),
    ("Oakridge Property Management", "12 Elm Court", _addr("12 Elm Ct", "Gresham", "OR", "97030")),
    ("Oakridge Property Management", "48 Birch Lane", _addr("48 Birch Ln", "Tigard", "OR", "97223")),
]

VENDORS: list[dict[str, Any]] = [
    _business("Northwest Plumbing Supply", "orders@nwplumbing.example.com", "(503) 555-0201",
              _addr("700 Industrial Ave", "Portland", "OR", "97217")),
    _business("Dave's Electrical Subcontracting", "dave@daveselectric.example.com", "(503) 555-0202",
              _addr("33 Spark Rd", "Gresham", "OR", "97030")),
    _business("Ace Equipment Rentals", "rentals@aceequip.example.com", "(503) 555-0203",
              _addr("1200 Rental Row", "Beaverton", "OR", "97006")),
    _business("Cascade Fuel & Fleet", "billing@cascadefuel.example.com", "(503) 555-0204",
              _addr("5 Depot St", "Portland", "OR", "97232")),
    _person("Lina", "Ortiz", "lina.ortiz@example.com", "(503) 555-0205", _addr("44 Elm St", "Portland", "OR", "97202")),
]

#: (name, type, unit price, income account, expense account, description)
ITEMS: list[tuple[str, str, float, str, str | None, str]] = [
    ("Hours", "Service", 85.0, "Services", None, "Labor, per hour"),
    ("Service Call", "Service", 120.0, "Services", None, "Trip charge and first half hour"),
    ("Installation", "Service", 250.0, "Installation", "Subcontractors", "Installation of customer equipment"),
    ("Maintenance Plan", "Service", 199.0, "Services", None, "Annual maintenance visit"),
    ("Materials", "NonInventory", 0.0, "Sales of Product Income", "Job Materials", "Parts and materials"),
]

#: (customer DisplayName, doc number, [(item, qty, unit price)])
INVOICES: list[tuple[str, str, list[tuple[str, float, float]]]] = [
    ("Ann Lee", "1001", [("Service Call", 1, 120.0), ("Hours", 2, 85.0)]),
    ("Brightside Dental LLC", "1002", [("Maintenance Plan", 1, 199.0)]),
    ("Clubhouse", "1003", [("Installation", 1, 250.0), ("Materials", 3, 42.5)]),
    ("12 Elm Court", "1004", [("Hours", 4, 85.0)]),
]


#: (name, DueDays) — ids 1, 2, 3 in this order; Preferences.SalesFormsPrefs.DefaultTerms is "3".
TERMS: list[tuple[str, int]] = [("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30)]

#: The Canadian company's places: US city -> (city, province, postal code). State OR -> BC, WA -> ON.
CA_PLACES: dict[str, tuple[str, str, str]] = {
    "Portland": ("Vancouver", "BC", "V6B 1A1"), "Beaverton": ("Burnaby", "BC", "V5H 2E2"),
    "Salem": ("Victoria", "BC", "V8W 1P6"), "Hood River": ("Kelowna", "BC", "V1Y 6H2"),
    "Bend": ("Kamloops", "BC", "V2C 1A1"), "Milwaukie": ("Richmond", "BC", "V6X 1A5"),
    "Lake Oswego": ("North Vancouver", "BC", "V7M 1A1"), "Astoria": ("Nanaimo", "BC", "V9R 5H9"),
    "Oregon City": ("Surrey", "BC", "V3T 1V8"), "Gresham": ("Coquitlam", "BC", "V3B 7N5"),
    "Tigard": ("Langley", "BC", "V3A 4R3"), "Vancouver": ("Toronto", "ON", "M5V 2T6"),
    "Seattle": ("Ottawa", "ON", "K1P 5G4"), "Bellevue": ("Mississauga", "ON", "L5B 3C2"),
}
#: The Canadian company's tax code per item (services: GST only in BC; goods: GST + PST).
CA_ITEM_CODES = {"Materials": "GST/PST BC"}


def _localise(value: Any, flavour: str) -> Any:
    """The Canadian company's copy of a seed value: addresses moved to Canada (recursively)."""
    if flavour != tax.CA:
        return value
    if isinstance(value, list):
        return [_localise(v, flavour) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _localise(v, flavour) for k, v in value.items()}
    if "City" in out and out.get("Country") == "USA":
        city, province, postal = CA_PLACES.get(str(out["City"]), (str(out["City"]), "BC", "V6B 1A1"))
        out.update({"City": city, "PostalCode": postal, "Country": "Canada"})
        if "CountrySubDivisionCode" in out:
            out["CountrySubDivisionCode"] = province
    return out


def seed_practice(company: Company, flavour: str = tax.US) -> None:
    """Create the practice company (call once, on an empty company, with the lock held).

    ``flavour``: ``"us"`` (Automated Sales Tax) or ``"ca"`` (Canadian tax codes and rates)."""
    if flavour not in tax.FLAVOURS:
        raise ValueError(f"unknown company flavour {flavour!r}")
    canadian = flavour == tax.CA
    company.put("CompanyInfo", _localise({
        "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False, "CompanyName": COMPANY_NAME,
        "LegalName": COMPANY_NAME + (" Ltd." if canadian else " LLC"), "Country": "CA" if canadian else "US",
        "SupportedLanguages": "en",
        "CompanyAddr": _addr("1200 SE Division St", "Portland", "OR", "97202"),
        "Email": {"Address": "books@cedarandpine.example.com"}, "FiscalYearStartMonth": "January",
        "CompanyStartDate": "2020-01-01", "NameValue": [{"Name": "QBOIndustryType", "Value": "Home Services"}],
    }, flavour))
    company.put("Preferences", {
        "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False,
        "SalesFormsPrefs": {"CustomTxnNumbers": False, "AllowDeposit": True, "DefaultTerms": {"value": "3"},
                            "AllowDiscount": True},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "CAD" if canadian else "USD"}},
        "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False},
        "TaxPrefs": {"UsingSalesTax": True} if canadian else {"UsingSalesTax": True, "PartnerTaxEnabled": True},
    })
    tax.seed_tax(company, flavour)
    ids: dict[tuple[str, str], str] = {}

    def make(entity: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        obj = operations.create(company, entity, body)
        ids[(entity, key)] = str(obj["Id"])
        return obj

    for term_name, days in TERMS:
        make("Term", {"Name": term_name, "DueDays": days}, term_name)
    for name, acct_type, sub_type in ACCOUNTS:
        make("Account", {"Name": name, "AccountType": acct_type, "AccountSubType": sub_type}, name)
    for body in CUSTOMERS:
        make("Customer", _localise(body, flavour), body["DisplayName"])
    for parent, name, addr in SUB_CUSTOMERS:
        make("Customer", {"DisplayName": name, "ParentRef": {"value": ids[("Customer", parent)]}, "Job": True,
                          "BillWithParent": True, "BillAddr": _localise(addr, flavour)}, name)
    for body in VENDORS:
        make("Vendor", _localise(body, flavour), body["DisplayName"])
    codes = {c["Name"]: str(c["Id"]) for c in company.all("TaxCode")}
    for name, item_type, price, income, expense, description in ITEMS:
        body: dict[str, Any] = {"Name": name, "Type": item_type, "UnitPrice": price, "Description": description,
                                "IncomeAccountRef": {"value": ids[("Account", income)]}}
        if expense:
            body["ExpenseAccountRef"] = {"value": ids[("Account", expense)]}
        make("Item", body, name)
    for customer, doc, lines in INVOICES:
        make("Invoice", {
            "CustomerRef": {"value": ids[("Customer", customer)]}, "DocNumber": doc,
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": round(qty * price, 2),
                      "SalesItemLineDetail": {"ItemRef": {"value": ids[("Item", item)]}, "Qty": qty, "UnitPrice": price,
                                              **({"TaxCodeRef": {"value": codes[CA_ITEM_CODES.get(item, "GST")]}}
                                                 if canadian else {})}}
                     for item, qty, price in lines],
        }, doc)
    operations.create(company, "Payment", {
        "CustomerRef": {"value": ids[("Customer", "Ann Lee")]}, "TotalAmt": 100.0, "PaymentRefNum": "4417",
        "Line": [{"Amount": 100.0, "LinkedTxn": [{"TxnId": ids[("Invoice", "1001")], "TxnType": "Invoice"}]}],
    })
    operations.create(company, "Bill", {
        "VendorRef": {"value": ids[("Vendor", "Northwest Plumbing Supply")]}, "DocNumber": "NWP-20931",
        "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 412.75, "Description": "Copper fittings",
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids[("Account", "Job Materials")]}}}],
    })
