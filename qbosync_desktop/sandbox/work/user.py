"""Acting "as a Work user would": the changes people make in Work while the sync is running.

Tests, drills and practice mode use this handle to edit a client, add or void an invoice, record,
correct or void a payment, issue a credit note, pay a refund or add a contractor invoice, and then
watch the sync pick the change up. Every change goes through the same validation and versioning as
the API, so it bumps ``version`` and ``updated_at`` exactly like a change made in the real Work
application. (Invoices, payments, credit notes and refunds are read-only through the API: in Work
people make them in the application, which is what this handle stands for.)

When money settles an invoice, the invoice's status follows its balance as Work's application does:
a ``sent`` invoice whose balance reaches 0.00 becomes ``paid``; a ``paid`` invoice whose balance
rises again (a payment voided or lowered, a credit voided) goes back to ``sent``. Only that status
change bumps the invoice's version; the ``balance`` itself is computed when the invoice is read.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from qbosync_desktop.sandbox.work.rules import ApiError
from qbosync_desktop.sandbox.work.store import WorkStore


class WorkUser:
    """Changes to Work data. Methods return the record as the API would show it (a dict)."""

    def __init__(self, store: WorkStore) -> None:
        self.store = store

    # -- company --------------------------------------------------------------------------------
    def set_company(self, **fields: Any) -> dict[str, Any]:
        """E.g. ``set_company(default_state=None)`` to rehearse the "unknown State" error."""
        return self.store.update("company", self.store.company()["id"], fields)

    # -- clients and sites ----------------------------------------------------------------------
    def add_client(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.store.create("clients", {"name": name, **fields})

    def edit_client(self, client_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update("clients", client_id, fields)

    def deactivate_client(self, client_id: str) -> dict[str, Any]:
        return self.edit_client(client_id, active=False)

    def reactivate_client(self, client_id: str) -> dict[str, Any]:
        return self.edit_client(client_id, active=True)

    def add_site(self, client_id: str, name: str, **fields: Any) -> dict[str, Any]:
        return self.store.create("sites", {"client_id": client_id, "name": name, **fields})

    def edit_site(self, site_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update("sites", site_id, fields)

    def deactivate_site(self, site_id: str) -> dict[str, Any]:
        return self.edit_site(site_id, active=False)

    # -- items ----------------------------------------------------------------------------------
    def add_item(self, name: str, unit_price: str, kind: str = "service", **fields: Any) -> dict[str, Any]:
        return self.store.create("items", {"name": name, "unit_price": unit_price, "kind": kind, **fields})

    def edit_item(self, item_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update("items", item_id, fields)

    # -- invoices and payments ------------------------------------------------------------------
    def add_invoice(self, client_id: str, lines: list[dict[str, Any]], *, number: str | None = None,
                    issue_date: str | None = None, due_date: str | None = None, status: str = "sent",
                    site_id: str | None = None, notes: str | None = None, tax_rate_id: str | None = None,
                    discount: dict[str, Any] | None = None, terms: str | None = None) -> dict[str, Any]:
        """Lines need ``item_id``; ``quantity`` defaults to 1, ``unit_price`` and ``description`` to the item's,
        ``taxable`` to false; a line may carry a ``discount``. ``tax_rate_id`` charges that rate on the
        taxable lines; ``discount`` is ``{"kind": "percent"|"amount", "value": "..."}``."""
        today = dt.date.today()
        issue = issue_date or today.isoformat()
        body = {
            "number": number or self._next_invoice_number(),
            "client_id": client_id,
            "site_id": site_id,
            "issue_date": issue,
            "due_date": due_date or (dt.date.fromisoformat(issue) + dt.timedelta(days=30)).isoformat(),
            "status": status,
            "lines": [self._line(line) for line in lines],
            "notes": notes,
            "tax": {"rate_id": tax_rate_id} if tax_rate_id else None,
            "discount": discount,
            "terms": terms,
        }
        return self.store.create("invoices", body)

    def _line(self, line: dict[str, Any], *, credit: bool = False) -> dict[str, Any]:
        item = self.store.get("items", line["item_id"])
        out = {"item_id": line["item_id"], "description": line.get("description", item["name"]),
               "quantity": str(line.get("quantity", "1")), "unit_price": str(line.get("unit_price", item["unit_price"])),
               "taxable": bool(line.get("taxable", False))}
        if not credit:
            out["discount"] = line.get("discount")
        return out

    def _next_invoice_number(self) -> str:
        numbers = [r["number"] for r in self.store.all("invoices")]
        highest = max((int(n[4:]) for n in numbers if n.startswith("INV-") and n[4:].isdigit()), default=1000)
        return f"INV-{highest + 1}"

    def edit_invoice(self, invoice_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields; ``tax_rate_id="tx_2"`` (or ``None``) picks the tax rate charged."""
        if "lines" in fields:
            fields["lines"] = [self._line(line) for line in fields["lines"]]
        if "tax_rate_id" in fields:
            rate = fields.pop("tax_rate_id")
            fields["tax"] = {"rate_id": rate} if rate else None
        return self.store.update("invoices", invoice_id, fields)

    def void_invoice(self, invoice_id: str) -> dict[str, Any]:
        return self.store.update("invoices", invoice_id, {"status": "void"})

    def balance(self, invoice_id: str) -> Decimal:
        """Total − active payments − active credits applied (the invoice's ``balance``)."""
        return self.store.balance(invoice_id)

    def _settle(self, invoice_id: str | None) -> None:
        """The invoice's status follows its balance (see the module docstring)."""
        if not invoice_id:
            return
        invoice = self.store.get("invoices", invoice_id)
        balance = Decimal(invoice["balance"])
        if invoice["status"] == "sent" and balance <= 0 < Decimal(invoice["total"]):
            self.store.update("invoices", invoice_id, {"status": "paid"})
        elif invoice["status"] == "paid" and balance > 0:
            self.store.update("invoices", invoice_id, {"status": "sent"})

    def record_payment(self, invoice_id: str, amount: str | None = None, *, date: str | None = None,
                       method: str = "card", reference: str | None = None) -> dict[str, Any]:
        """Record a payment (default: the whole balance); a fully paid invoice becomes ``paid``."""
        invoice = self.store.get("invoices", invoice_id)
        balance = self.store.unsettled(invoice_id)  # a void invoice is refused by Work's rules (422) below
        value = Decimal(amount) if amount is not None else balance
        if value > balance:
            raise ApiError(422, "unprocessable", f"The payment ({value}) is more than the balance ({balance}).",
                           {"field": "amount"})
        payment = self.store.create("payments", {
            "invoice_id": invoice_id, "client_id": invoice["client_id"], "amount": str(value),
            "date": date or dt.date.today().isoformat(), "method": method, "reference": reference,
        })
        if value == balance and invoice["status"] != "paid":
            self.store.update("invoices", invoice_id, {"status": "paid"})
        return payment

    def edit_payment(self, payment_id: str, **fields: Any) -> dict[str, Any]:
        """Correct a payment (``amount``, ``date``, ``method``, ``reference``); the invoice's status follows."""
        payment = self.store.update("payments", payment_id, fields)
        self._settle(payment["invoice_id"])
        return payment

    def void_payment(self, payment_id: str) -> dict[str, Any]:
        """Void a payment (a bounced check, a payment recorded twice): it no longer counts."""
        payment = self.store.update("payments", payment_id, {"status": "void"})
        self._settle(payment["invoice_id"])
        return payment

    # -- tax rates, credit notes and refunds ----------------------------------------------------
    def add_tax_rate(self, name: str, percent: str, **fields: Any) -> dict[str, Any]:
        return self.store.create("tax-rates", {"name": name, "percent": percent, **fields})

    def edit_tax_rate(self, rate_id: str, **fields: Any) -> dict[str, Any]:
        """Invoices keep the name and percent they were charged with until they are edited."""
        return self.store.update("tax-rates", rate_id, fields)

    def add_credit_note(self, client_id: str, *, lines: list[dict[str, Any]] | None = None, amount: str | None = None,
                        invoice_id: str | None = None, tax_rate_id: str | None = None, number: str | None = None,
                        date: str | None = None, notes: str | None = None) -> dict[str, Any]:
        """A credit to a client: ``lines`` (like invoice lines, without discounts) or a plain ``amount``.
        With ``invoice_id`` the whole credit is applied to that invoice (at most its balance)."""
        count = self.store.count("credit-notes")
        credit = self.store.create("credit-notes", {
            "number": number or f"CN-{count + 1:04d}", "client_id": client_id, "invoice_id": invoice_id,
            "date": date or dt.date.today().isoformat(),
            "lines": [self._line(line, credit=True) for line in lines or []],
            "tax": {"rate_id": tax_rate_id} if tax_rate_id else None,
            "amount": str(amount) if amount is not None else None, "notes": notes,
        })
        self._settle(invoice_id)
        return credit

    def void_credit_note(self, credit_note_id: str) -> dict[str, Any]:
        credit = self.store.update("credit-notes", credit_note_id, {"status": "void"})
        self._settle(credit["invoice_id"])
        return credit

    def add_refund(self, amount: str, *, payment_id: str | None = None, credit_note_id: str | None = None,
                   date: str | None = None, method: str = "card", reference: str | None = None) -> dict[str, Any]:
        """Pay money back against a payment or an unapplied credit note (at most what is left of it)."""
        source = (self.store.get("payments", payment_id) if payment_id
                  else self.store.get("credit-notes", credit_note_id or ""))
        return self.store.create("refunds", {
            "client_id": source["client_id"], "payment_id": payment_id, "credit_note_id": credit_note_id,
            "amount": str(amount), "date": date or dt.date.today().isoformat(), "method": method,
            "reference": reference,
        })

    def void_refund(self, refund_id: str) -> dict[str, Any]:
        return self.store.update("refunds", refund_id, {"status": "void"})

    # -- contractors ----------------------------------------------------------------------------
    def add_contractor(self, name: str, contracts: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
        return self.store.create("contractors", {"name": name, "contracts": contracts or [], **fields})

    def edit_contractor(self, contractor_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update("contractors", contractor_id, fields)

    def add_contractor_invoice(self, contractor_id: str, lines: list[dict[str, Any]], *,
                               contract_id: str | None = None, number: str | None = None,
                               date: str | None = None, due_date: str | None = None,
                               status: str = "submitted") -> dict[str, Any]:
        """Lines are ``{"concept", "description", "amount"}``; the contract defaults to the first active one."""
        contractor = self.store.get("contractors", contractor_id)
        if contract_id is None:
            active = [c for c in contractor["contracts"] if c["status"] == "active"] or contractor["contracts"]
            if not active:
                raise ApiError(422, "unprocessable", "This contractor has no contract.", {"field": "contract_id"})
            contract_id = active[0]["id"]
        issued = date or dt.date.today().isoformat()
        count = self.store.count("contractor-invoices")
        return self.store.create("contractor-invoices", {
            "contractor_id": contractor_id, "contract_id": contract_id,
            "number": number or f"CI-{contractor_id.split('_')[-1]}-{count + 1:04d}", "date": issued,
            "due_date": due_date or (dt.date.fromisoformat(issued) + dt.timedelta(days=15)).isoformat(),
            "lines": [{"concept": ln["concept"], "description": ln.get("description"), "amount": str(ln["amount"])}
                      for ln in lines],
            "status": status,
        })

    def edit_contractor_invoice(self, invoice_id: str, **fields: Any) -> dict[str, Any]:
        return self.store.update("contractor-invoices", invoice_id, fields)

    def add_concept(self, name: str, description: str | None = None) -> dict[str, Any]:
        return self.store.create("invoice-concepts", {"name": name, "description": description})
