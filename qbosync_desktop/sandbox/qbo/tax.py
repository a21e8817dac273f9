"""Sales tax as QBO computes it, for the two company flavours (docs/qbo-sandbox.md, "Sales tax").

* **US with Automated Sales Tax (AST)** — ``Preferences.TaxPrefs.PartnerTaxEnabled``. Lines say only
  whether they are taxable (``TaxCodeRef`` ``TAX``/``NON``; none → the item's ``Taxable``); the tax
  code comes from the destination address (the transaction's ``ShipAddr``, else the customer's
  ``ShipAddr``, else the company address) and a non-taxable customer pays none. A request carrying
  ``TxnTaxDetail.TotalTax`` overrides the amount: AST honours it and prorates it across the rates of
  the code it assigned.
* **Non-US (Canada)** — every sales line names a ``TaxCode``; each of the code's ``TaxRate`` s is
  charged on the net amount of the lines using it. ``TxnTaxDetail.TaxLine`` amounts sent by the
  client override the computed amount of their rate (``OverrideDeltaAmount`` records the difference).

Tax per rate is rounded once, half away from zero, on the rate's whole taxable amount. A discount is
spread over the lines in proportion to their amounts before tax (``ApplyTaxAfterDiscount``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qbosync_desktop.core.money import prorate
from qbosync_desktop.sandbox.qbo.faults import ApiFault, business
from qbosync_desktop.sandbox.qbo.refs import decimal, name_ref, ref_value, resolve, to_cents
from qbosync_desktop.sandbox.qbo.storage import Company

US = "us"
CA = "ca"
FLAVOURS = (US, CA)
ZERO = Decimal(0)
HUNDRED = Decimal(100)

#: The AST engine's rates, by destination state: (tax code name, [(rate name, percent, agency)]).
#: A deliberately small, fixed table (practice data, not a tax service); states not listed use
#: ``US_OTHER_STATES``. Oregon has no sales tax — it is the practice company's own state.
US_STATE_TAX: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "OR": ("Oregon", [("Oregon (no sales tax)", "0", "Oregon Department of Revenue")]),
    "WA": ("Washington", [("Washington State", "6.5", "Washington State Department of Revenue"),
                          ("Washington Local", "2.4", "Washington State Department of Revenue")]),
    "CA": ("California", [("California State", "7.25", "California Department of Tax and Fee Administration")]),
    "NY": ("New York", [("New York State", "4", "New York State Department of Taxation"),
                        ("New York City", "4.875", "New York State Department of Taxation")]),
    "TX": ("Texas", [("Texas State", "6.25", "Texas Comptroller"), ("Texas Local", "2", "Texas Comptroller")]),
    # the Work demo company's state: its clients' invoices get a two-rate code
    "CO": ("Colorado", [("Colorado State", "2.9", "Colorado Department of Revenue"),
                        ("Denver Local", "5.91", "City and County of Denver")]),
}
US_OTHER_STATES = ("Other states", [("State sales tax", "6", "State Department of Revenue")])

#: Canadian rates and codes: rates (name, percent, agency), codes (name, [rate names], taxable).
CA_RATES: list[tuple[str, str, str]] = [
    ("GST", "5", "Canada Revenue Agency"),
    ("HST ON", "13", "Canada Revenue Agency"),
    ("QST", "9.975", "Revenu Québec"),
    ("PST BC", "7", "British Columbia Ministry of Finance"),
    ("Zero-rated", "0", "Canada Revenue Agency"),
    ("Exempt", "0", "Canada Revenue Agency"),
]
CA_CODES: list[tuple[str, list[str], bool]] = [
    ("GST", ["GST"], True),
    ("HST ON", ["HST ON"], True),
    ("GST/QST QC", ["GST", "QST"], True),
    ("GST/PST BC", ["GST", "PST BC"], True),
    ("Zero-rated", ["Zero-rated"], True),
    ("Exempt", ["Exempt"], False),
]
LINE_CODE = "Line.SalesItemLineDetail.TaxCodeRef"


def flavour(company: Company) -> str | None:
    """``"ca"`` for a Canadian company, ``"us"`` for a US company with AST, ``None`` without sales tax."""
    info = company.get("CompanyInfo", "1") or {}
    if info.get("Country") == "CA":
        return CA
    prefs = company.get("Preferences", "1") or {}
    if (prefs.get("TaxPrefs") or {}).get("PartnerTaxEnabled"):
        return US
    return None


# --- seeding ------------------------------------------------------------------------------------

def _put(company: Company, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    obj = {"Id": company.new_id(entity), "SyncToken": "0", "domain": "QBO", "sparse": False, **body}
    return company.put(entity, obj)


def _seed_code(company: Company, name: str, rates: list[dict[str, Any]], taxable: bool = True,
               description: str | None = None) -> dict[str, Any]:
    return _put(company, "TaxCode", {
        "Name": name, "Description": description or name, "Active": True, "Hidden": False, "Taxable": taxable,
        "TaxGroup": len(rates) > 1,
        "SalesTaxRateList": {"TaxRateDetail": [
            {"TaxRateRef": name_ref(r, "Name"), "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0} for r in rates]},
        "PurchaseTaxRateList": {"TaxRateDetail": []},
    })


def _seed_rate(company: Company, name: str, percent: str, agency: str) -> dict[str, Any]:
    return _put(company, "TaxRate", {
        "Name": name, "Description": name, "Active": True, "RateValue": float(Decimal(percent)),
        "AgencyRef": {"value": "1", "name": agency}, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly",
    })


def seed_tax(company: Company, which: str) -> None:
    """The tax lists QBO sets up itself: AST's per-state codes (US) or the Canadian codes (CA)."""
    if which == US:
        for code_name, rates in [*US_STATE_TAX.values(), US_OTHER_STATES]:
            made = [_seed_rate(company, *r) for r in rates]
            _seed_code(company, code_name, made, description=f"Automated Sales Tax: {code_name}")
        return
    by_name = {name: _seed_rate(company, name, pct, agency) for name, pct, agency in CA_RATES}
    for code_name, rate_names, taxable in CA_CODES:
        _seed_code(company, code_name, [by_name[n] for n in rate_names], taxable)


# --- computing ----------------------------------------------------------------------------------

@dataclass
class SalesLine:
    """One SalesItemLineDetail line as the tax computation sees it."""

    line: dict[str, Any]
    amount: Decimal
    item: dict[str, Any]
    net: Decimal = ZERO  # after its share of the discount


def _code_by_name(company: Company, name: str) -> dict[str, Any] | None:
    return next((c for c in company.all("TaxCode") if c.get("Name") == name), None)


def _rates_of(company: Company, code: dict[str, Any]) -> list[dict[str, Any]]:
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    rates = [company.get("TaxRate", str(ref_value(d.get("TaxRateRef")))) for d in details]
    return [r for r in rates if r is not None]


def _destination_state(company: Company, obj: dict[str, Any], customer: dict[str, Any]) -> str | None:
    for addr in (obj.get("ShipAddr"), customer.get("ShipAddr"),
                 (company.get("CompanyInfo", "1") or {}).get("CompanyAddr")):
        if isinstance(addr, dict) and addr.get("CountrySubDivisionCode"):
            return str(addr["CountrySubDivisionCode"]).upper()
    return None


def _ast_code(company: Company, state: str | None) -> dict[str, Any] | None:
    name = US_STATE_TAX.get(state or "", US_OTHER_STATES)[0]
    return _code_by_name(company, name)


def _invalid_us_code(value: str) -> ApiFault:
    return ApiFault(6100, "Invalid Line TaxCode in the request",
                    f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{value}", LINE_CODE)


def _tax_line(rate: dict[str, Any], base: Decimal, amount: Decimal, delta: Decimal | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"TaxRateRef": name_ref(rate, "Name"), "PercentBased": True,
                              "TaxPercent": rate.get("RateValue", 0), "NetAmountTaxable": float(to_cents(base))}
    if delta is not None:
        detail["OverrideDeltaAmount"] = float(delta)
    return {"Amount": float(amount), "DetailType": "TaxLineDetail", "TaxLineDetail": detail}


def _rate_tax(rate: dict[str, Any], base: Decimal) -> Decimal:
    return to_cents(base * decimal(rate.get("RateValue", 0), "RateValue") / HUNDRED)


def compute(company: Company, obj: dict[str, Any], customer: dict[str, Any] | None,
            lines: list[SalesLine]) -> Decimal:
    """Set ``obj["TxnTaxDetail"]`` (and each line's ``TaxCodeRef``); return the total tax."""
    which = flavour(company)
    sent = obj.get("TxnTaxDetail")
    requested: dict[str, Any] = sent if isinstance(sent, dict) else {}
    if which == US:
        return _compute_us(company, obj, customer or {}, lines, requested)
    if which == CA:
        return _compute_ca(company, obj, lines, requested)
    obj["TxnTaxDetail"] = {"TotalTax": 0}
    return ZERO


def _compute_us(company: Company, obj: dict[str, Any], customer: dict[str, Any], lines: list[SalesLine],
                requested: dict[str, Any]) -> Decimal:
    taxable_base = ZERO
    for sl in lines:
        detail = sl.line["SalesItemLineDetail"]
        code = ref_value(detail.get("TaxCodeRef"))
        if code is None:
            taxable = bool(sl.item.get("Taxable"))
        elif code.upper() in ("TAX", "NON"):
            taxable = code.upper() == "TAX"
        else:
            raise _invalid_us_code(code)
        detail["TaxCodeRef"] = {"value": "TAX" if taxable else "NON"}
        if taxable and customer.get("Taxable", True) is not False:
            taxable_base += sl.net
    code_obj = _ast_code(company, _destination_state(company, obj, customer))
    rates = _rates_of(company, code_obj) if code_obj else []
    computed = [_rate_tax(r, taxable_base) for r in rates]
    override = requested.get("TotalTax")
    result: dict[str, Any] = {}
    if code_obj is not None:
        result["TxnTaxCodeRef"] = name_ref(code_obj, "Name")
    if override is None or override == "":
        total = sum(computed, ZERO)
        result["TaxLine"] = [_tax_line(r, taxable_base, amt, None) for r, amt in zip(rates, computed, strict=True)]
    else:
        total = to_cents(decimal(override, "TxnTaxDetail.TotalTax"))
        if total < 0:
            raise business("TxnTaxDetail.TotalTax cannot be negative", "TxnTaxDetail.TotalTax")
        shares = prorate(total, [decimal(r.get("RateValue", 0), "RateValue") for r in rates])
        result["TaxLine"] = [_tax_line(r, taxable_base, share, share - amt)
                             for r, share, amt in zip(rates, shares, computed, strict=True)]
    result["TotalTax"] = float(total)
    obj["TxnTaxDetail"] = result
    return total



def _compute_ca(company: Company, obj: dict[str, Any], lines: list[SalesLine], requested: dict[str, Any]) -> Decimal:
    bases: dict[str, Decimal] = {}
    rates: dict[str, dict[str, Any]] = {}
    for sl in lines:
        detail = sl.line["SalesItemLineDetail"]
        if ref_value(detail.get("TaxCodeRef")) is None:
            raise business("Make sure all your transactions have a GST/HST rate before you save.", LINE_CODE)
        code = resolve(company, "TaxCode", detail.get("TaxCodeRef"), LINE_CODE)
        assert code is not None
        detail["TaxCodeRef"] = {"value": str(code["Id"])}
        for rate in _rates_of(company, code):
            rid = str(rate["Id"])
            rates[rid] = rate
            bases[rid] = bases.get(rid, ZERO) + sl.net
    supplied: dict[str, Decimal] = {}
    for tax_line in requested.get("TaxLine") or []:
        detail = (tax_line or {}).get("TaxLineDetail") or {}
        ref = ref_value(detail.get("TaxRateRef"))
        if ref is None or tax_line.get("Amount") in (None, ""):
            continue
        rid = ref
        if rid not in rates:
            raise business(f"TaxRateRef {rid} is not a rate of any line's tax code",
                           "TxnTaxDetail.TaxLine.TaxLineDetail.TaxRateRef")
        supplied[rid] = to_cents(decimal(tax_line["Amount"], "TxnTaxDetail.TaxLine.Amount"))
    out, total = [], ZERO
    for rid in sorted(rates, key=int):
        computed = _rate_tax(rates[rid], bases[rid])
        amount = supplied.get(rid, computed)
        out.append(_tax_line(rates[rid], bases[rid], amount, amount - computed if rid in supplied else None))
        total += amount
    obj["TxnTaxDetail"] = {"TotalTax": float(total), "TaxLine": out}
    return total
