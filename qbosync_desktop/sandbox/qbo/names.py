"""Rules for QBO's name lists: Customer (with sub-customers), Vendor, Item and Account.

Name lists are never deleted, only made inactive (``Active: false``). DisplayName is unique across
customers and vendors (6240) even when the other record is inactive; that is what makes a careless
sync fail on "Ann Lee" when a vendor "Ann Lee" exists.
"""

from __future__ import annotations

from typing import Any

from qbosync_desktop.core import qbo_limits
from qbosync_desktop.sandbox.qbo.faults import (
    ApiFault,
    business,
    duplicate_item_name,
    duplicate_name,
    not_found,
    parent_required,
    required,
)
from qbosync_desktop.sandbox.qbo.refs import (
    boolean,
    check_lengths,
    check_name,
    home_currency,
    money,
    name_ref,
    ref_value,
    resolve,
)
from qbosync_desktop.sandbox.qbo.storage import Company

DISPLAY_NAME_MAX = qbo_limits.DISPLAY_NAME
ITEM_NAME_MAX = qbo_limits.ITEM_NAME
ACCOUNT_NAME_MAX = qbo_limits.ACCOUNT_NAME
ITEM_TYPES = ("Service", "NonInventory")
INCOME_TYPES = ("Income", "Other Income")
EXPENSE_TYPES = ("Expense", "Other Expense", "Cost of Goods Sold")
DEPOSIT_TYPES = ("Bank", "Other Current Asset")
#: AccountType -> (Classification, default AccountSubType)
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "Income": ("Revenue", "ServiceFeeIncome"),
    "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
    "Expense": ("Expense", "OtherMiscellaneousServiceCost"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
    "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Bank": ("Asset", "Checking"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"),
    "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Fixed Asset": ("Asset", "OtherFixedAssets"),
    "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Equity": ("Equity", "OwnersEquity"),
}


def invalid_enum(element: str, value: Any) -> ApiFault:
    return ApiFault(2170, "Invalid Enumeration", f"Invalid Enumeration : {value} is not a valid {element}", element)


def _party_name(company: Company, entity: str, obj: dict[str, Any], previous: dict[str, Any] | None) -> str:
    """DisplayName (derived from the person or company name when absent) and its uniqueness."""
    raw = obj.get("DisplayName")
    if raw in (None, ""):
        person = " ".join(str(obj[k]).strip() for k in ("GivenName", "MiddleName", "FamilyName") if obj.get(k))
        raw = person or obj.get("CompanyName")
    name = check_name(raw, "DisplayName", DISPLAY_NAME_MAX)
    own = (entity, str(previous["Id"])) if previous else None
    if company.lookup("party", name) - {own}:
        raise duplicate_name()
    obj["DisplayName"] = name
    obj.setdefault("PrintOnCheckName", name)
    return name


def _contact(entity: str, obj: dict[str, Any]) -> None:
    """Intuit's field lengths (2050) and its e-mail rule: "The PrimaryEmailAddress attribute must
    contain an at sign (@) and dot (.)" (Customer and Vendor business rules). Intuit documents no
    code for the e-mail refusal; the practice server answers it as a business validation (6000)."""
    check_lengths(entity, obj)
    email = (obj.get("PrimaryEmailAddr") or {}).get("Address") if isinstance(obj.get("PrimaryEmailAddr"), dict) else None
    if email is not None and ("@" not in str(email) or "." not in str(email).rsplit("@", 1)[-1]):
        raise business(f"Invalid email address: {email}", "PrimaryEmailAddr.Address")


def _keep_balances(obj: dict[str, Any], previous: dict[str, Any] | None, *keys: str) -> None:
    for key in keys:
        obj[key] = previous.get(key, 0) if previous else 0


def normalize_customer(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None, _opts: Any) -> dict[str, Any]:
    name = _party_name(company, "Customer", obj, previous)
    _contact("Customer", obj)
    obj["Active"] = boolean(obj.get("Active"))
    parent_id = ref_value(obj.get("ParentRef"))
    if boolean(obj.get("Job"), default=False) and parent_id is None:
        raise parent_required()
    if parent_id is not None:
        parent = company.get("Customer", parent_id)
        if parent is None or parent.get("Active") is False:
            raise not_found("ParentRef")
        if previous is not None and _is_descendant(company, parent_id, str(previous["Id"])):
            raise business("A customer cannot be a sub-customer of itself or of its own sub-customer", "ParentRef")
        obj["ParentRef"] = {"value": parent_id}
        obj["Job"] = True
        obj["BillWithParent"] = boolean(obj.get("BillWithParent"), default=False)
        obj["Level"] = int(parent.get("Level", 0)) + 1
        obj["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}"
    else:
        obj.pop("ParentRef", None)
        obj.pop("Level", None)
        obj["Job"] = False
        obj["BillWithParent"] = False
        obj["FullyQualifiedName"] = name
    _keep_balances(obj, previous, "Balance", "BalanceWithJobs")
    obj.setdefault("CurrencyRef", home_currency(company))
    obj.setdefault("PreferredDeliveryMethod", "Print")
    obj["Taxable"] = boolean(obj.get("Taxable"), default=True)
    return obj


def _is_descendant(company: Company, candidate: str, ancestor: str) -> bool:
    """True when ``candidate`` is ``ancestor`` or below it (a ParentRef cycle)."""
    seen = set()
    current: str | None = candidate
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        node = company.get("Customer", current)
        current = ref_value(node.get("ParentRef")) if node else None
    return False


def customer_saved(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """A renamed customer renames its sub-customers' FullyQualifiedName ("Parent:Child")."""
    if previous is None or previous.get("FullyQualifiedName") == obj.get("FullyQualifiedName"):
        return
    for child in company.all("Customer"):
        if ref_value(child.get("ParentRef")) == str(obj["Id"]):
            updated = dict(child)
            updated["FullyQualifiedName"] = f"{obj['FullyQualifiedName']}:{child['DisplayName']}"
            updated["Level"] = int(obj.get("Level", 0)) + 1
            company.bump("Customer", updated)
            customer_saved(company, updated, child)


def normalize_vendor(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None, _opts: Any) -> dict[str, Any]:
    _party_name(company, "Vendor", obj, previous)
    _contact("Vendor", obj)
    obj["Active"] = boolean(obj.get("Active"))
    obj["Vendor1099"] = boolean(obj.get("Vendor1099"), default=False)
    _keep_balances(obj, previous, "Balance")
    obj.setdefault("CurrencyRef", home_currency(company))
    return obj


def _account_of(company: Company, obj: dict[str, Any], key: str, allowed: tuple[str, ...], what: str) -> None:
    acct = resolve(company, "Account", obj.get(key), key, needed=False)
    if acct is None:
        obj.pop(key, None)
        return
    if acct.get("AccountType") not in allowed:
        raise business(f"{key} must be {what} account; '{acct.get('Name')}' is {acct.get('AccountType')}", key)
    obj[key] = name_ref(acct, "Name")


def normalize_item(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None, _opts: Any) -> dict[str, Any]:
    name = check_name(obj.get("Name"), "Name", ITEM_NAME_MAX)
    own = ("Item", str(previous["Id"])) if previous else None
    if company.lookup("item", name) - {own}:
        raise duplicate_item_name()
    obj["Name"] = name
    obj["FullyQualifiedName"] = name
    check_lengths("Item", obj)
    item_type = obj.get("Type") or "Service"
    if item_type not in ITEM_TYPES:
        raise invalid_enum("Type", item_type)
    obj["Type"] = item_type
    if item_type == "Service" and ref_value(obj.get("IncomeAccountRef")) is None:
        raise required("IncomeAccountRef")
    _account_of(company, obj, "IncomeAccountRef", INCOME_TYPES, "an income")
    _account_of(company, obj, "ExpenseAccountRef", EXPENSE_TYPES, "an expense or cost of goods sold")
    obj["UnitPrice"] = money(obj.get("UnitPrice"), "UnitPrice", needed=False)
    obj["Active"] = boolean(obj.get("Active"))
    obj.setdefault("Taxable", False)
    return obj


def normalize_account(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None, _opts: Any) -> dict[str, Any]:
    name = check_name(obj.get("Name"), "Name", ACCOUNT_NAME_MAX)
    own = ("Account", str(previous["Id"])) if previous else None
    if company.lookup("account", name) - {own}:
        raise ApiFault(6240, "Duplicate Name Exists Error", "The name supplied already exists. : Another account is already using this name.")
    acct_type = obj.get("AccountType")
    if not acct_type:
        raise required("AccountType")
    if acct_type not in ACCOUNT_TYPES:
        raise invalid_enum("AccountType", acct_type)
    classification, sub_type = ACCOUNT_TYPES[acct_type]
    obj["Name"] = name
    obj["FullyQualifiedName"] = name
    obj["Classification"] = classification
    obj.setdefault("AccountSubType", sub_type)
    obj["Active"] = boolean(obj.get("Active"))
    obj["SubAccount"] = False
    obj["CurrentBalance"] = previous.get("CurrentBalance", 0) if previous else 0
    obj.setdefault("CurrencyRef", home_currency(company))
    return obj


TERM_NAME_MAX = 31


def normalize_term(company: Company, obj: dict[str, Any], previous: dict[str, Any] | None, _opts: Any) -> dict[str, Any]:
    """Sales terms (``Type: STANDARD``): Name unique, DueDays a whole number of days, 0 or more."""
    name = check_name(obj.get("Name"), "Name", TERM_NAME_MAX)
    own = ("Term", str(previous["Id"])) if previous else None
    if company.lookup("term", name) - {own}:
        raise ApiFault(6240, "Duplicate Name Exists Error", "The name supplied already exists. : Another term is already using this name.")
    try:
        days = int(obj.get("DueDays") or 0)
    except (TypeError, ValueError):
        raise ApiFault(2010, "Request has invalid or unsupported property", "DueDays must be a whole number") from None
    if days < 0:
        raise business("DueDays cannot be negative", "DueDays")
    obj.update({"Name": name, "DueDays": days, "Type": "STANDARD", "Active": boolean(obj.get("Active"))})
    obj.setdefault("DiscountPercent", 0)
    obj.setdefault("DiscountDays", 0)
    return obj
