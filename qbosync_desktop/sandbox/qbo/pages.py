"""HTML the sandbox serves to people: the OAuth consent page and a read-only view of the company.

The consent page is a real form (Connect / Cancel POST back to the authorize endpoint), so practice
mode shows the same step a user meets at Intuit. The company view lets a person rehearsing the sync
see what it did "in QuickBooks" without any QuickBooks.
"""

from __future__ import annotations

from html import escape
from typing import Any

from qbosync_desktop.sandbox.qbo.storage import Company

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933;max-width:70rem}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d9e2ec;padding:.4rem .6rem;text-align:left}"
    "th{background:#f0f4f8}nav a{margin-right:1rem}.inactive{color:#9aa5b1}"
    "button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}.connect{background:#2ca01c;color:#fff;border:0}"
)

#: path -> (entity, title, columns as (header, getter))
VIEWS: dict[str, tuple[str, str, list[tuple[str, Any]]]] = {
    "/customers": ("Customer", "Customers", [
        ("Id", lambda o: o["Id"]), ("Name", lambda o: o.get("FullyQualifiedName")),
        ("Email", lambda o: (o.get("PrimaryEmailAddr") or {}).get("Address")),
        ("City", lambda o: (o.get("BillAddr") or {}).get("City")),
        ("State", lambda o: (o.get("BillAddr") or {}).get("CountrySubDivisionCode")),
        ("Active", lambda o: "yes" if o.get("Active", True) else "no"), ("SyncToken", lambda o: o.get("SyncToken")),
    ]),
    "/invoices": ("Invoice", "Invoices", [
        ("Id", lambda o: o["Id"]), ("No.", lambda o: o.get("DocNumber")), ("Date", lambda o: o.get("TxnDate")),
        ("Customer", lambda o: (o.get("CustomerRef") or {}).get("name")),
        ("Tax", lambda o: f"{(o.get('TxnTaxDetail') or {}).get('TotalTax', 0):.2f}"),
        ("Total", lambda o: f"{o.get('TotalAmt', 0):.2f}"),
        ("Balance", lambda o: f"{o.get('Balance', 0):.2f}"), ("Note", lambda o: o.get("PrivateNote")),
    ]),
    "/creditmemos": ("CreditMemo", "Credit memos", [
        ("Id", lambda o: o["Id"]), ("No.", lambda o: o.get("DocNumber")), ("Date", lambda o: o.get("TxnDate")),
        ("Customer", lambda o: (o.get("CustomerRef") or {}).get("name")), ("Total", lambda o: f"{o.get('TotalAmt', 0):.2f}"),
        ("Credit left", lambda o: f"{o.get('Balance', 0):.2f}"),
    ]),
    "/refunds": ("RefundReceipt", "Refunds", [
        ("Id", lambda o: o["Id"]), ("No.", lambda o: o.get("DocNumber")), ("Date", lambda o: o.get("TxnDate")),
        ("Customer", lambda o: (o.get("CustomerRef") or {}).get("name")), ("Amount", lambda o: f"{o.get('TotalAmt', 0):.2f}"),
        ("Paid from", lambda o: (o.get("DepositToAccountRef") or {}).get("name")),
    ]),
    "/payments": ("Payment", "Payments", [
        ("Id", lambda o: o["Id"]), ("Date", lambda o: o.get("TxnDate")),
        ("Customer", lambda o: (o.get("CustomerRef") or {}).get("name")), ("Amount", lambda o: f"{o.get('TotalAmt', 0):.2f}"),
        ("Unapplied", lambda o: f"{o.get('UnappliedAmt', 0):.2f}"),
        ("Deposit to", lambda o: (o.get("DepositToAccountRef") or {}).get("name")), ("Note", lambda o: o.get("PrivateNote")),
    ]),
    "/vendors": ("Vendor", "Vendors", [
        ("Id", lambda o: o["Id"]), ("Name", lambda o: o.get("DisplayName")),
        ("Email", lambda o: (o.get("PrimaryEmailAddr") or {}).get("Address")),
        ("Active", lambda o: "yes" if o.get("Active", True) else "no"),
    ]),
    "/bills": ("Bill", "Bills", [
        ("Id", lambda o: o["Id"]), ("No.", lambda o: o.get("DocNumber")), ("Date", lambda o: o.get("TxnDate")),
        ("Vendor", lambda o: (o.get("VendorRef") or {}).get("name")), ("Total", lambda o: f"{o.get('TotalAmt', 0):.2f}"),
    ]),
}


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")


def _nav() -> str:
    links = "".join(f"<a href='{path}'>{escape(view[1])}</a>" for path, view in VIEWS.items())
    return f"<nav><a href='/'>Company</a>{links}</nav>"


def company_home(company: Company) -> str:
    info = company.get("CompanyInfo", "1") or {}
    name = str(info.get("CompanyName", "Practice company"))
    rows = "".join(
        f"<tr><td><a href='{path}'>{escape(title)}</a></td><td>{len(company.all(entity))}</td></tr>"
        for path, (entity, title, _cols) in VIEWS.items()
    )
    body = (f"{_nav()}<h1>{escape(name)}</h1><p>QuickBooks Online practice company (read-only view). "
            f"Company ID (realmId): <code>{escape(company.realm_id)}</code></p>"
            f"<table><tr><th>List</th><th>Records</th></tr>{rows}</table>")
    return _page(name, body)


def list_view(company: Company, path: str) -> str:
    entity, title, columns = VIEWS[path]
    head = "".join(f"<th>{escape(h)}</th>" for h, _ in columns)
    rows = []
    for obj in sorted(company.all(entity), key=lambda o: int(o["Id"])):
        cls = " class='inactive'" if obj.get("Active") is False else ""
        cells = "".join(f"<td>{escape(str(get(obj) if get(obj) is not None else ''))}</td>" for _, get in columns)
        rows.append(f"<tr{cls}>{cells}</tr>")
    body = f"{_nav()}<h1>{escape(title)}</h1><table><tr>{head}</tr>{''.join(rows) or ''}</table>"
    if not rows:
        body += "<p>None yet.</p>"
    return _page(title, body)


def consent(app_name: str, company_name: str, fields: dict[str, str]) -> str:
    hidden = "".join(f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in fields.items())
    body = (
        f"<h1>Connect {escape(app_name)} to {escape(company_name)}</h1>"
        f"<p>{escape(app_name)} is asking to read and change the accounting data of "
        f"<strong>{escape(company_name)}</strong> (customers, vendors, items, invoices, payments and bills).</p>"
        f"<form method='post' action='/connect/oauth2'>{hidden}"
        "<button class='connect' type='submit' name='decision' value='connect'>Connect</button>"
        "<button type='submit' name='decision' value='cancel'>Cancel</button></form>"
        "<p><small>This is the practice QuickBooks server on your own computer. Nothing is sent to Intuit.</small></p>"
    )
    return _page(f"Connect {app_name}", body)


def error_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
