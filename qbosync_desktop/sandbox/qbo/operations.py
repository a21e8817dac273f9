"""Create, read, update (full and sparse), void and delete — the same for every entity.

The per-entity rules live in :mod:`names` and :mod:`transactions`; this module owns what QBO does
the same way everywhere: read-only fields are ignored on input, an update needs the current
``SyncToken`` (stale → 5010) and increments it, a full update drops omitted writable fields while a
``"sparse": true`` update changes only what is sent, and name lists cannot be deleted.

All functions must be called with ``company.lock`` held.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qbosync_desktop.sandbox.qbo import credits, names, transactions
from qbosync_desktop.sandbox.qbo.faults import (
    ApiFault,
    business,
    invalid_request,
    not_found,
    required,
    stale_object,
    unsupported_operation,
)
from qbosync_desktop.sandbox.qbo.refs import name_ref, ref_value
from qbosync_desktop.sandbox.qbo.storage import Company
from qbosync_desktop.sandbox.qbo.transactions import WriteOptions

#: Fields QBO computes or owns; ignored when a client sends them.
READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "sparse", "FullyQualifiedName", "Level", "Balance",
             "BalanceWithJobs", "UnappliedAmt", "CurrentBalance", "RemainingCredit")

Normalizer = Callable[[Company, dict[str, Any], dict[str, Any] | None, WriteOptions], dict[str, Any]]
Hook = Callable[[Company, dict[str, Any] | None, dict[str, Any] | None], None]


@dataclass(frozen=True)
class EntityRules:
    normalize: Normalizer
    after_save: Hook | None = None
    void: Callable[[Company, dict[str, Any]], dict[str, Any]] | None = None
    before_delete: Callable[[Company, dict[str, Any]], None] | None = None
    after_delete: Callable[[Company, dict[str, Any]], None] | None = None
    deletable: bool = False


RULES: dict[str, EntityRules] = {
    "Customer": EntityRules(names.normalize_customer, after_save=names.customer_saved),
    "Vendor": EntityRules(names.normalize_vendor),
    "Item": EntityRules(names.normalize_item),
    "Account": EntityRules(names.normalize_account),
    "Invoice": EntityRules(transactions.normalize_invoice, void=transactions.void_invoice,
                           before_delete=transactions.delete_invoice, deletable=True),
    "Payment": EntityRules(transactions.normalize_payment, after_save=transactions.payment_saved,
                           void=transactions.void_payment, after_delete=transactions.delete_payment, deletable=True),
    "Bill": EntityRules(transactions.normalize_bill, deletable=True),
    "Term": EntityRules(names.normalize_term),
    "CreditMemo": EntityRules(credits.normalize_credit_memo, before_delete=credits.delete_credit_memo, deletable=True),
    "RefundReceipt": EntityRules(credits.normalize_refund_receipt, deletable=True),
}


def _rules(entity: str, operation: str) -> EntityRules:
    rules = RULES.get(entity)
    if rules is None:
        raise unsupported_operation(operation, entity)
    return rules


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}


def _finish(company: Company, entity: str, obj: dict[str, Any], obj_id: str, token: str) -> dict[str, Any]:
    obj["Id"] = obj_id
    obj["SyncToken"] = token
    obj["domain"] = "QBO"
    obj["sparse"] = False
    return company.put(entity, obj)


def read(company: Company, entity: str, obj_id: str) -> dict[str, Any]:
    obj = company.get(entity, obj_id)
    if obj is None:
        raise not_found("Id")
    return obj


def _check_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object")
    return body


def create(company: Company, entity: str, body: Any, opts: WriteOptions = WriteOptions()) -> dict[str, Any]:
    rules = _rules(entity, "create")
    obj = rules.normalize(company, _writable(_check_body(body)), None, opts)
    saved = _finish(company, entity, obj, company.new_id(entity), "0")
    if rules.after_save:
        rules.after_save(company, saved, None)
    return saved


def _current(company: Company, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    obj_id = body.get("Id")
    if obj_id in (None, ""):
        raise required("Id")
    existing = company.get(entity, str(obj_id))
    if existing is None:
        raise not_found("Id")
    token = body.get("SyncToken")
    if token in (None, ""):
        raise required("SyncToken")
    if str(token) != str(existing.get("SyncToken")):
        raise stale_object()
    return existing


def update(company: Company, entity: str, body: Any, opts: WriteOptions = WriteOptions(), *,
           sparse: bool | None = None) -> dict[str, Any]:
    rules = _rules(entity, "update")
    body = _check_body(body)
    existing = _current(company, entity, body)
    if sparse is None:
        sparse = body.get("sparse") in (True, "true")
    if sparse:
        obj = copy.deepcopy(existing)
        obj.update(_writable(body))
        if "Line" in body and "TxnTaxDetail" not in body:
            obj.pop("TxnTaxDetail", None)  # new lines: tax computed again, not the old amount kept as an override
    else:
        obj = _writable(body)
    obj = rules.normalize(company, obj, existing, opts)
    saved = _finish(company, entity, obj, str(existing["Id"]), str(int(existing["SyncToken"]) + 1))
    if rules.after_save:
        rules.after_save(company, saved, existing)
    return saved


def void(company: Company, entity: str, body: Any) -> dict[str, Any]:
    rules = _rules(entity, "void")
    if rules.void is None:
        raise unsupported_operation("void", entity)
    existing = _current(company, entity, _check_body(body))
    obj = rules.void(company, copy.deepcopy(existing))
    saved = _finish(company, entity, obj, str(existing["Id"]), str(int(existing["SyncToken"]) + 1))
    if rules.after_save:
        rules.after_save(company, saved, existing)
    return saved


def delete(company: Company, entity: str, body: Any) -> dict[str, Any]:
    rules = _rules(entity, "delete")
    if not rules.deletable:
        raise unsupported_operation("delete", entity)
    existing = _current(company, entity, _check_body(body))
    if rules.before_delete:
        rules.before_delete(company, existing)
    company.remove(entity, str(existing["Id"]))
    if rules.after_delete:
        rules.after_delete(company, existing)
    return {"status": "Deleted", "domain": "QBO", "Id": str(existing["Id"])}


#: The forms that name a customer (``CustomerRef``); a merge moves them to the surviving customer.
CUSTOMER_FORMS = ("Invoice", "Payment", "CreditMemo", "RefundReceipt")


def merge_customers(company: Company, merged_id: str, into_id: str) -> dict[str, Any]:
    """The web app's customer merge (:meth:`SandboxUser.merge_customers`): the forms and sub-customers of
    ``merged_id`` move to ``into_id``, then ``merged_id`` is deleted (a tombstone, for CDC)."""
    with company.write_lock():
        merged = company.get("Customer", merged_id)
        into = company.get("Customer", into_id)
        if merged is None or into is None:
            raise not_found("Id")
        if merged_id == into_id or ref_value(into.get("ParentRef")) == merged_id:
            raise business("a customer cannot be merged into itself or one of its sub-customers", "Id")
        for entity in CUSTOMER_FORMS:
            for obj in company.all(entity):
                if ref_value(obj.get("CustomerRef")) == merged_id:
                    moved = copy.deepcopy(obj)
                    moved["CustomerRef"] = name_ref(into)
                    company.bump(entity, moved)
        for child in company.all("Customer"):
            if ref_value(child.get("ParentRef")) == merged_id:
                moved = copy.deepcopy(child)
                moved["ParentRef"] = name_ref(into)
                moved["FullyQualifiedName"] = f"{into.get('FullyQualifiedName') or into['DisplayName']}:{child['DisplayName']}"
                company.bump("Customer", moved)
        company.remove("Customer", merged_id)
        return copy.deepcopy(into)


def write(company: Company, entity: str, body: Any, *, operation: str = "", include: str = "") -> dict[str, Any]:
    """Dispatch ``POST /{entity}?operation=...&include=...`` the way QBO reads those parameters."""
    operation = (operation or "").lower()
    include = (include or "").lower()
    opts = WriteOptions(allow_duplicate_doc_number="allowduplicatedocnum" in include)
    if operation == "delete":
        return delete(company, entity, body)
    if operation == "void" or (operation == "update" and include == "void"):
        return void(company, entity, body)
    if operation not in ("", "create", "update"):
        raise ApiFault(2010, "Request has invalid or unsupported property", f"Unknown operation {operation!r}")
    body = _check_body(body)
    if body.get("Id") not in (None, "") or operation == "update":
        return update(company, entity, body, opts)
    return create(company, entity, body, opts)
