"""The Work demo server's pages for people: what a Work user does to money, in a browser.

The API leaves invoices, payments, credit notes and refunds read-only (in Work people make them in
the application). These pages are that application, small: a person rehearsing the sync in practice
mode can correct or void a payment, record one, credit an invoice or a client, refund a payment or
a credit, and void a credit or a refund; then watch the next sync carry it to QuickBooks. Every
action goes through :class:`~qbosync_desktop.sandbox.work.user.WorkUser`, so it obeys Work's rules
and bumps versions exactly as the tests' handle does.

The server listens on loopback only. Forms carry a token made when the server started: another web
page open in the same browser can send a form to 127.0.0.1 but cannot read this page to learn the
token, so it cannot make changes here (a POST without it → 403).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from html import escape

from werkzeug.wrappers import Request, Response

from qbosync_desktop.sandbox.work.rules import PAYMENT_METHODS, ApiError
from qbosync_desktop.sandbox.work.store import WorkStore
from qbosync_desktop.sandbox.work.user import WorkUser

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933;max-width:80rem}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d9e2ec;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#f0f4f8}nav a{margin-right:1rem}.void{color:#9aa5b1}"
    "form{display:inline}input{width:7rem}.error{background:#ffe3e3;padding:.6rem}.done{background:#e3f9e5;padding:.6rem}"
)
NAV = (("/", "Work (demo)"), ("/invoices", "Invoices"), ("/payments", "Payments"), ("/credit-notes", "Credit notes"),
       ("/refunds", "Refunds"))


class WorkPages:
    """GET a page, POST an action (then back to the page with what happened)."""

    def __init__(self, store: WorkStore, token: str) -> None:
        self.store = store
        self.token = token
        self.user = WorkUser(store)
        self.actions: dict[str, Callable[[dict[str, str]], str]] = {
            "edit-payment": self._edit_payment, "void-payment": self._void_payment,
            "record-payment": self._record_payment, "credit-invoice": self._credit_invoice,
            "credit-client": self._credit_client, "refund-payment": self._refund_payment,
            "refund-credit": self._refund_credit, "void-credit": self._void_credit, "void-refund": self._void_refund,
        }

    def respond(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        views = {"/": self._home, "/invoices": self._invoices, "/payments": self._payments,
                 "/credit-notes": self._credit_notes, "/refunds": self._refunds}
        if request.method == "GET" and path in views:
            return _html(self._page(path, views[path]()))
        if request.method == "POST" and path.startswith("/do/") and path[4:] in self.actions:
            form = {k: v.strip() for k, v in request.form.items()}
            if not hmac.compare_digest(form.get("token", "").encode(), self.token.encode()):
                return _html(_document("Not allowed", "<h1>Not allowed</h1><p>This form is out of date. "
                                       "Open the page again and repeat the change.</p>"), 403)
            back = form.get("back") if form.get("back") in views else "/"
            try:
                note = f"<p class='done'>{escape(self.actions[path[4:]](form))}</p>"
                status = 200
            except ApiError as exc:
                note, status = f"<p class='error'>Work did not accept this: {escape(exc.message)}</p>", exc.status
            except (KeyError, ValueError):
                note, status = "<p class='error'>Fill in every field of the form.</p>", 400
            return _html(self._page(back, views[back](), note), status)
        return _html(_document("Not found", "<h1>Not found</h1><p>There is no page here.</p>"), 404)

    # -- pages ------------------------------------------------------------------------------------
    def _page(self, path: str, body: str, note: str = "") -> str:
        nav = "".join(f"<a href='{href}'>{escape(title)}</a>" for href, title in NAV)
        title = dict(NAV)[path]
        return _document(title, f"<nav>{nav}</nav><h1>{escape(title)}</h1>{note}{body}")

    def _form(self, action: str, back: str, fields: str, label: str) -> str:
        return (f"<form method='post' action='/do/{action}'><input type='hidden' name='token' value='{self.token}'>"
                f"<input type='hidden' name='back' value='{back}'>{fields}<button>{escape(label)}</button></form>")

    def _home(self) -> str:
        company = self.store.company()
        rows = "".join(f"<tr><td><a href='{href}'>{escape(title)}</a></td><td>{self.store.count(href[1:])}</td></tr>"
                       for href, title in NAV[1:])
        return (f"<p>{escape(company['name'])}: the Work demo server. Changes made here reach the sync like "
                f"changes made in Work.</p><table><tr><th>List</th><th>Records</th></tr>{rows}</table>")

    def _names(self) -> dict[str, str]:
        return {c["id"]: c["name"] for c in self.store.all("clients")}

    def _invoices(self) -> str:
        names = self._names()
        rows = []
        for inv in reversed(self.store.all("invoices")):
            actions = ""
            if inv["status"] in ("sent", "paid") and inv["balance"] != "0.00":
                hid = f"<input type='hidden' name='invoice_id' value='{inv['id']}'>"
                actions = (self._form("record-payment", "/invoices", hid + _input("amount", inv["balance"]), "Record payment")
                           + self._form("credit-invoice", "/invoices", hid + _input("amount", ""), "Credit"))
            tax = f"{inv['tax']['amount']} ({inv['tax']['name']} {inv['tax']['percent']} %)" if inv["tax"] else ""
            rows.append(_row(inv["status"], inv["number"], names.get(inv["client_id"], ""), inv["issue_date"],
                             inv["terms"] or "", inv["discount_amount"], tax, inv["total"], inv["balance"], inv["status"],
                             html=actions))
        return _table(("Number", "Client", "Date", "Terms", "Discount", "Tax", "Total", "Balance", "Status", ""), rows)

    def _payments(self) -> str:
        names, numbers = self._names(), {i["id"]: i["number"] for i in self.store.all("invoices")}
        methods = "".join(f"<option>{m}</option>" for m in PAYMENT_METHODS)
        rows = []
        for pay in reversed(self.store.all("payments")):
            actions = ""
            if pay["status"] == "active":
                hid = f"<input type='hidden' name='payment_id' value='{pay['id']}'>"
                chosen = methods.replace(f"<option>{pay['method']}</option>", f"<option selected>{pay['method']}</option>")
                actions = (self._form("edit-payment", "/payments", hid + _input("amount", pay["amount"])
                                      + _input("date", pay["date"]) + f"<select name='method'>{chosen}</select>"
                                      + _input("reference", pay["reference"] or ""), "Save")
                           + self._form("void-payment", "/payments", hid, "Void")
                           + self._form("refund-payment", "/payments", hid + _input("amount", ""), "Refund"))
            rows.append(_row(pay["status"], pay["id"], numbers.get(pay["invoice_id"], ""), names.get(pay["client_id"], ""),
                             pay["amount"], pay["date"], pay["method"], pay["reference"] or "", pay["status"],
                             str(pay["version"]), html=actions))
        return _table(("Id", "Invoice", "Client", "Amount", "Date", "Method", "Reference", "Status", "Version", ""), rows)

    def _credit_notes(self) -> str:
        names, numbers = self._names(), {i["id"]: i["number"] for i in self.store.all("invoices")}
        clients = "".join(f"<option value='{cid}'>{escape(name)}</option>" for cid, name in sorted(
            names.items(), key=lambda kv: kv[1].casefold()))
        new = self._form("credit-client", "/credit-notes", f"<select name='client_id'>{clients}</select>"
                         + _input("amount", "") + _input("notes", ""), "Give an open credit")
        rows = []
        for credit in reversed(self.store.all("credit-notes")):
            actions = ""
            if credit["status"] == "active":
                hid = f"<input type='hidden' name='credit_note_id' value='{credit['id']}'>"
                actions = self._form("void-credit", "/credit-notes", hid, "Void")
                if not credit["invoice_id"]:
                    actions += self._form("refund-credit", "/credit-notes", hid + _input("amount", ""), "Refund")
            rows.append(_row(credit["status"], credit["number"], names.get(credit["client_id"], ""),
                             numbers.get(credit["invoice_id"] or "", "open credit"), credit["date"], credit["amount"],
                             credit["notes"] or "", credit["status"], html=actions))
        return f"<p>{new}</p>" + _table(("Number", "Client", "Applied to", "Date", "Amount", "Notes", "Status", ""), rows)

    def _refunds(self) -> str:
        names = self._names()
        rows = []
        for refund in reversed(self.store.all("refunds")):
            hid = f"<input type='hidden' name='refund_id' value='{refund['id']}'>"
            actions = self._form("void-refund", "/refunds", hid, "Void") if refund["status"] == "active" else ""
            rows.append(_row(refund["status"], refund["id"], names.get(refund["client_id"], ""),
                             refund["payment_id"] or refund["credit_note_id"] or "", refund["amount"], refund["date"],
                             refund["method"], refund["status"], html=actions))
        return _table(("Id", "Client", "Against", "Amount", "Date", "Method", "Status", ""), rows)

    # -- actions (each returns what happened, in words) --------------------------------------------
    def _edit_payment(self, form: dict[str, str]) -> str:
        fields = {k: form[k] for k in ("amount", "date", "method")}
        fields["reference"] = form.get("reference") or None  # type: ignore[assignment]
        pay = self.user.edit_payment(form["payment_id"], **fields)
        return f"Payment {pay['id']} saved (version {pay['version']})."

    def _void_payment(self, form: dict[str, str]) -> str:
        return f"Payment {self.user.void_payment(form['payment_id'])['id']} voided."

    def _record_payment(self, form: dict[str, str]) -> str:
        pay = self.user.record_payment(form["invoice_id"], form["amount"] or None)
        return f"Payment {pay['id']} of {pay['amount']} recorded."

    def _credit_invoice(self, form: dict[str, str]) -> str:
        invoice = self.store.get("invoices", form["invoice_id"])
        credit = self.user.add_credit_note(invoice["client_id"], amount=form["amount"], invoice_id=invoice["id"])
        return f"Credit note {credit['number']} of {credit['amount']} applied to {invoice['number']}."

    def _credit_client(self, form: dict[str, str]) -> str:
        credit = self.user.add_credit_note(form["client_id"], amount=form["amount"], notes=form.get("notes") or None)
        return f"Credit note {credit['number']} of {credit['amount']} given."

    def _refund_payment(self, form: dict[str, str]) -> str:
        refund = self.user.add_refund(form["amount"], payment_id=form["payment_id"])
        return f"Refund {refund['id']} of {refund['amount']} paid."

    def _refund_credit(self, form: dict[str, str]) -> str:
        refund = self.user.add_refund(form["amount"], credit_note_id=form["credit_note_id"])
        return f"Refund {refund['id']} of {refund['amount']} paid."

    def _void_credit(self, form: dict[str, str]) -> str:
        return f"Credit note {self.user.void_credit_note(form['credit_note_id'])['number']} voided."

    def _void_refund(self, form: dict[str, str]) -> str:
        return f"Refund {self.user.void_refund(form['refund_id'])['id']} voided."


def _input(name: str, value: str) -> str:
    return f"<input name='{name}' value='{escape(value)}' placeholder='{name}' aria-label='{name}'>"


def _row(status: str, *cells: str, html: str = "") -> str:
    cls = " class='void'" if status == "void" else ""
    return f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + f"<td>{html}</td></tr>"


def _table(headers: tuple[str, ...], rows: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>" + ("" if rows else "<p>None yet.</p>")


def _document(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="text/html; charset=utf-8")
