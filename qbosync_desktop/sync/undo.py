"""Undo a sync run (issue 15 part 2): reverse what one run wrote, from its audit log, exactly once.

What a run wrote is in its audit rows (``before`` and ``after`` of every write). :func:`plan` turns
them into the writes that reverse them - and reads QuickBooks first, so the preview is true now:

* a **transaction the run created** (invoice, payment, bill, credit memo, refund) is **deleted**,
  with its current ``SyncToken``; its link is removed;
* a **name the run created** (customer, sub-customer, item, vendor) is **made inactive** with a
  sparse update (QuickBooks cannot delete names); its link is kept but no longer counts as in step;
* a **record the run updated** gets its recorded ``before`` back (a sparse update, or a full one for
  a transaction whose update was full: QuickBooks replaces lines all or nothing);
* on the **Work side**, a client (or site) the run imported from QuickBooks is made inactive, and
  client fields the run changed get their values before back (with the version check);
* a **link** the run made to an existing record is forgotten (nothing is written anywhere);
* a **void** cannot be reversed (QuickBooks has no "un-void"): listed, counted, nothing sent.

Refusals - later work depends on the run: a payment or credit recorded in QuickBooks against an
invoice the run created; a later sync changed the same record; QuickBooks' value of an updated field
is no longer what the run wrote; a later QuickBooks transaction uses a name the run created. Each
such record is *blocked* with the reason. The person either stops there, or undoes everything else
and keeps the blocked records (``skip_blocked``; each one is an audited, counted skip).

Exactly once: every QuickBooks write goes through the outbox (persisted ``requestid``; its answer is
applied by :mod:`.undo_apply` in the outbox's transaction, which marks the audit row reversed in
:class:`UndoneWrite`); every Work write is a persisted :class:`WorkWrite` with its Idempotency-Key,
re-checked against Work before it is sent again. A re-run after a crash first replays what was in
flight, then plans only what is left.

Afterwards the person chooses: ``hold`` (the records stay held: every sync skips them, counted as
"held", until ``release``) or ``sync`` (the next sync is free to send Work's records again). In both
cases the Work cursors of the kinds touched start again from the beginning, so the next sync looks at
those records (and shows the holds) instead of passing them by. The undo is itself a Run (kind
``undo``) with audit rows (action ``undo``, ``before`` = the value reversed, ``after`` = the value put
back).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from qbosync_desktop.connectors.qbo.query import quote
from qbosync_desktop.core.errors import Cancelled, QboSyncError, QuickBooksError, WorkApiError
from qbosync_desktop.core.json_types import JsonObject
from qbosync_desktop.core.money import cents
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.audit import AuditEntry
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.outbox import OutboxEntry, WorkWrite
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.store.models.runs import Cursor, Run
from qbosync_desktop.store.models.undo import UndoHold, UndoneWrite
from qbosync_desktop.sync import audit, outbox, undo_apply
from qbosync_desktop.sync.clients import inbound
from qbosync_desktop.sync.clients import outbound as clients_out
from qbosync_desktop.sync.clients.fields import FIELDS, qbo_patch, qbo_values, work_patch, work_values
from qbosync_desktop.sync.engine import Observer, SyncEngine
from qbosync_desktop.sync.flows import bills, credits, invoices, items, payments, refunds, vendors
from qbosync_desktop.sync.plan import Change
from qbosync_desktop.sync.protocols import CancelFlag

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

#: Work kinds of QuickBooks transactions (deleted) and names (made inactive), with their entity.
TRANSACTIONS = {"credit_application": "Payment", "payment": "Payment", "refund": "RefundReceipt",
                "refund_receipt": "RefundReceipt", "credit_note": "CreditMemo", "credit_memo": "CreditMemo",
                "creditmemo": "CreditMemo", "invoice": "Invoice",
                "bill_payment": "BillPayment", "bill": "Bill"}
NAMES = {"site": "Customer", "client": "Customer", "vendor": "Vendor", "item": "Item"}
#: Order of the reversing writes: what applies to an invoice before the invoice, sub-customers before
#: their parent, transactions before the names they use.
ORDER = [*TRANSACTIONS, *NAMES]

#: Transactions a later QuickBooks entry may hang on a name the run created.
LATER_TXN_ENTITIES = ("Invoice", "Payment", "CreditMemo", "SalesReceipt", "RefundReceipt", "Bill", "Estimate",
                      "BillPayment")

#: The Work cursors to start again for each kind an undo touched (see the module text).
CURSORS = {
    "client": (clients_out.CURSOR, inbound.WORK_CURSOR),
    "site": (inbound.WORK_CURSOR,),
    "item": (items.CURSOR,),
    "invoice": (invoices.CURSOR,),
    "payment": (payments.CURSOR,),
    "credit_note": (credits.CURSOR,),
    "credit_application": (credits.APPLIED_CURSOR,),
    "refund": (refunds.CURSOR,),
    "vendor": (vendors.CURSOR,),
    "bill": (bills.CURSOR,),
}

HOLD = "hold"
SYNC = "sync"
MODES = (HOLD, SYNC)

#: Audit actions an undo reverses, and those that a later run's change to the same record shows.
REVERSIBLE = ("create", "update", "import", "link", "void")
LATER_CHANGES = ("create", "update", "import", "void")

CHUNK = 200


@dataclass
class UndoStep:
    """One reversing action for one record (what the preview lists, and the run then does)."""

    kind: str
    work_id: str | None
    qbo_id: str | None
    #: quickbooks | work | local (only this app's own records change)
    side: str
    #: delete | deactivate | restore | forget | none (not reversible)
    action: str
    entity: str
    label: str
    audit_ids: list[int]
    #: what will be sent (QuickBooks body, or the Work fields)
    body: JsonObject = field(default_factory=dict)
    #: the value the run left (reversed), and the value put back (for the undo's audit row)
    before: Any = None
    after: Any = None
    #: why this record cannot be undone now (later work depends on it); None: it can
    blocked: str | None = None
    #: a plain note (e.g. "already deleted in QuickBooks: only the link is removed")
    note: str = ""
    #: two-way merge bases to leave on the link (set once the mode is known)
    twoway: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the Work record's version (Work writes)
    version: int | None = None

    @property
    def writes(self) -> bool:
        return self.side in ("quickbooks", "work") and self.blocked is None and self.action != "none"

    def describe(self) -> str:
        # "Invoice INV-1003", "Payment of 89.60 …": the label's own kind word is not said twice
        first, _, rest = self.label.partition(" ")
        named = f"{self.entity} {rest}" if rest and first.lower() == self.entity.lower() else \
            f"{self.entity} {self.label}"
        what = {"delete": f"Delete {named} in QuickBooks",
                "deactivate": (f"Make {named} inactive in QuickBooks" if self.side == "quickbooks"
                               else f"Make Work {self.kind} {self.label} inactive"),
                "restore": (f"Put back {named}'s previous values in QuickBooks"
                            if self.side == "quickbooks" else f"Put back Work {self.kind} {self.label}'s previous values"),
                "forget": f"Forget the link of {self.label} (nothing is written)",
                "deactivate_local": f"{self.label}: nothing to write",
                "none": f"{self.label}: cannot be undone"}.get(self.action, self.action)
        return what + (f" - {self.note}" if self.note else "")

    def to_dict(self) -> JsonObject:
        return {"kind": self.kind, "work_id": self.work_id, "qbo_id": self.qbo_id, "side": self.side,
                "action": self.action, "entity": self.entity, "label": self.label, "text": self.describe(),
                "body": self.body, "before": self.before, "after": self.after, "blocked": self.blocked,
                "note": self.note, "audit_ids": self.audit_ids}


@dataclass
class UndoPlan:
    run_id: int
    run_kind: str
    steps: list[UndoStep] = field(default_factory=list)
    #: audit rows of the run already reversed by an earlier (maybe interrupted) undo
    already_undone: int = 0
    qbo_requests: int = 0

    @property
    def writes(self) -> list[UndoStep]:
        return [s for s in self.steps if s.writes]

    @property
    def blocked(self) -> list[UndoStep]:
        return [s for s in self.steps if s.blocked is not None]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps:
            key = "blocked" if s.blocked else ("not_reversible" if s.action == "none" else s.action)
            out[key] = out.get(key, 0) + 1
        return out

    def to_dict(self) -> JsonObject:
        return {"run_id": self.run_id, "run_kind": self.run_kind, "counts": self.counts(),
                "writes": len(self.writes), "blocked": len(self.blocked), "already_undone": self.already_undone,
                "qbo_requests": self.qbo_requests, "steps": [s.to_dict() for s in self.steps]}


@dataclass
class UndoResult:
    run_id: int | None
    undone_run_id: int
    state: str
    mode: str
    counts: dict[str, int] = field(default_factory=dict)
    kept: list[JsonObject] = field(default_factory=list)
    failed: list[JsonObject] = field(default_factory=list)
    qbo_requests: int = 0
    seconds: float = 0.0
    error: JsonObject | None = None

    def to_dict(self) -> JsonObject:
        return {"run_id": self.run_id, "undone_run_id": self.undone_run_id, "state": self.state, "mode": self.mode,
                "counts": self.counts, "kept": self.kept, "failed": self.failed, "qbo_requests": self.qbo_requests,
                "seconds": round(self.seconds, 3), "error": self.error}


class UndoRefused(QboSyncError):
    title = "This sync cannot be undone as asked"


# ---------------------------------------------------------------------------------------------------
# Planning


def _run(run_id: int) -> Run:
    run = Run.get_or_none(Run.id == run_id)
    if run is None:
        raise UndoRefused(f"There is no sync run {run_id}.",
                          hint="See the History tab or 'qbosync history' for the run numbers.")
    if run.kind in ("undo", "preview"):
        raise UndoRefused(f"Run {run_id} is an {run.kind}, not a sync: there is nothing of it to undo.",
                          hint="Pick the sync run you want to reverse.")
    if run.state == "running":
        raise UndoRefused(f"Sync run {run_id} has not finished.", hint="Wait for it to finish, then undo it.")
    return run


def _entity(kind: str, run_id: int, work_id: str | None) -> str:
    known = TRANSACTIONS.get(kind) or NAMES.get(kind)
    if known:
        return known
    row = OutboxEntry.select(OutboxEntry.entity).where(
        (OutboxEntry.run_id == run_id) & (OutboxEntry.kind == kind) & (OutboxEntry.work_id == work_id)).first()
    return str(row.entity) if row is not None else kind.capitalize()


def _strip(body: Any) -> dict[str, Any]:
    return {k: v for k, v in (body or {}).items() if k not in ("Id", "SyncToken", "sparse")} if isinstance(body, dict) else {}


def _same(now: Any, wanted: Any) -> bool:
    """Does QuickBooks' current value still equal what the run wrote? Dicts: the keys written."""
    if isinstance(wanted, dict):
        return isinstance(now, dict) and all(_same(now.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return True  # lines: QuickBooks adds its own (subtotal, ids); compared through the totals instead
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        try:
            return round(float(now), 2) == round(float(wanted), 2)
        except (TypeError, ValueError):
            return False
    return bool(now == wanted) or (now in (None, "") and wanted in (None, ""))


def _fields_side(row: AuditEntry) -> str | None:
    """For a client update row in the two-way merge's field names: which side it wrote."""
    keys = set((row.after or {}) if isinstance(row.after, dict) else {})
    if not keys or not keys <= set(FIELDS):
        return None
    return "work" if (row.message or "").startswith("Changed in QuickBooks") else "quickbooks"


def _steps_from_audit(run: Run, rows: list[AuditEntry]) -> list[UndoStep]:
    groups: dict[tuple[str, str | None, str], list[AuditEntry]] = {}
    for row in rows:
        if row.action not in REVERSIBLE:
            continue
        side = "quickbooks"
        if row.action == "import":
            side = "work"
        elif row.action == "update" and row.kind in ("client", "site"):
            side = _fields_side(row) or "quickbooks"
        groups.setdefault((row.kind, row.work_id, side), []).append(row)
    steps: list[UndoStep] = []
    for (kind, wid, side), grp in groups.items():
        actions = [r.action for r in grp]
        ids = [r.id for r in grp]
        qbo_id = next((r.qbo_id for r in grp if r.qbo_id), None)
        entity = _entity(kind, run.id, wid)
        label = _label(kind, wid, grp)
        step = UndoStep(kind, wid, qbo_id, side, "none", entity, label, ids)
        if "create" in actions:
            last = grp[-1].after
            step.before = _strip(last)
            if kind in TRANSACTIONS or entity in TRANSACTIONS.values():
                step.action = "delete"
            elif kind in NAMES:
                step.action, step.after = "deactivate", {"Active": False}
            else:
                step.note = "QuickBooks has no way to remove this kind of record"
        elif "import" in actions:
            step.action = "deactivate"
            step.body, step.after = {"active": False}, {"active": False}
            step.before = {"active": True}
        elif "update" in actions:
            ups = [r for r in grp if r.action == "update"]
            first = ups[0].before
            if not isinstance(first, dict) or not first:
                step.note = "the values before this sync were not recorded"
            else:
                step.action = "restore"
                after: dict[str, Any] = {}
                for r in ups:
                    after.update(_strip(r.after))
                step.before, step.after = after, _strip(first)
        elif "void" in actions:
            step.note = "a void cannot be reversed in QuickBooks (it has no 'un-void')"
        elif "link" in actions:
            step.side, step.action = "local", "forget"
        steps.append(step)
    steps.sort(key=lambda s: (ORDER.index(s.kind) if s.kind in ORDER else len(ORDER), s.side, str(s.work_id)))
    return steps


def _label(kind: str, wid: str | None, grp: list[AuditEntry]) -> str:
    """The record as a person finds it: its number or name; a form with neither (a payment, a credit
    applied) by its amount and customer, with its Work id."""
    words = kind.replace("_", " ")
    for r in grp:
        for body in (r.after, r.before):
            if isinstance(body, dict):
                for key in ("DocNumber", "DisplayName", "Name", "name"):
                    if body.get(key):
                        prefix = f"{words} " if key == "DocNumber" else ""
                        return f"{prefix}{body[key]}".strip()
    for r in grp:
        for body in (r.after, r.before):
            if isinstance(body, dict) and body.get("TotalAmt") is not None:
                amount = cents(body["TotalAmt"])
                if not amount:  # a credit applied is a payment of 0: its line says how much
                    lines = body.get("Line")
                    amount = sum((cents(ln.get("Amount")) for ln in lines if isinstance(ln, dict)), Decimal(0)) \
                        if isinstance(lines, list) else amount
                ref = body.get("CustomerRef")
                customer = ref.get("name") if isinstance(ref, dict) else None
                return (f"{words} of {amount:,.2f}" + (f" from {customer}" if customer else "")
                        + f" (Work id {wid})")
    probs = Problem.select(Problem.details).where((Problem.kind == kind) & (Problem.work_id == wid)).first()
    record = (probs.details or {}).get("record") if probs is not None else None
    return str(record or f"{words} (Work id {wid})")


def _read_current(ctx: RunContext, steps: list[UndoStep]) -> dict[tuple[str, str], JsonObject]:
    """QuickBooks' records as they are now, by (entity, Id): one query per entity and 200 ids."""
    wanted: dict[str, set[str]] = {}
    for s in steps:
        if s.side == "quickbooks" and s.qbo_id and s.action in ("delete", "deactivate", "restore"):
            wanted.setdefault(s.entity, set()).add(str(s.qbo_id))
    out: dict[tuple[str, str], JsonObject] = {}
    for entity, ids in wanted.items():
        ordered = sorted(ids, key=lambda x: (len(x), x))
        for i in range(0, len(ordered), CHUNK):
            chunk = tuple(ordered[i:i + CHUNK])
            extra = " AND Active IN (true, false)" if entity in NAMES.values() else ""
            for row in ctx.qbo.query(entity, where=f"Id IN {quote(chunk)}{extra}", order_by="Id"):
                out[(entity, str(row.get("Id")))] = row
    return out


def _later_runs(run: Run, steps: list[UndoStep]) -> dict[tuple[str, str | None], int]:
    """(kind, work id) → the first later sync run that changed the same record (not reversed since)."""
    undo_runs = [r.id for r in Run.select(Run.id).where(Run.kind == "undo")]
    keys = {(s.kind, s.work_id) for s in steps if s.work_id is not None}
    out: dict[tuple[str, str | None], int] = {}
    if not keys:
        return out
    reversed_ids = UndoneWrite.select(UndoneWrite.audit_id)
    q = (AuditEntry.select(AuditEntry.kind, AuditEntry.work_id, AuditEntry.run_id)
         .where((AuditEntry.run_id > run.id) & (AuditEntry.action.in_(LATER_CHANGES))
                & ~(AuditEntry.id.in_(reversed_ids)) & ~(AuditEntry.run_id.in_(undo_runs or [-1])))
         .order_by(AuditEntry.id))
    for row in q:
        key = (row.kind, row.work_id)
        if key in keys and key not in out:
            out[key] = int(row.run_id or 0)
    return out


def _check(ctx: RunContext, run: Run, steps: list[UndoStep]) -> None:
    """Fill in bodies from QuickBooks' current records, and block what later work depends on."""
    current = _read_current(ctx, steps)
    later = _later_runs(run, steps)
    deleting = {(s.entity, str(s.qbo_id)) for s in steps if s.action == "delete" and s.qbo_id}
    for s in steps:
        if s.work_id is not None and (s.kind, s.work_id) in later and s.action != "none":
            s.blocked = (f"A later sync (run {later[(s.kind, s.work_id)]}) changed this record too. Undo that run "
                         "first, or keep this record as it is.")
            continue
        if s.side != "quickbooks" or s.action not in ("delete", "deactivate", "restore"):
            continue
        now = current.get((s.entity, str(s.qbo_id)))
        if now is None:
            if s.action == "delete":
                s.side, s.action, s.note = "local", "forget", "already deleted in QuickBooks: only the link is removed"
            else:
                s.blocked = f"QuickBooks no longer has {s.entity} {s.qbo_id}."
            continue
        token = str(now.get("SyncToken"))
        if s.action == "delete":
            s.body = {"Id": str(s.qbo_id), "SyncToken": token}
            others = [lk for ln in now.get("Line") or [] for lk in ln.get("LinkedTxn") or []
                      if (lk.get("TxnType"), str(lk.get("TxnId"))) not in deleting
                      and lk.get("TxnType") in ("Payment", "CreditMemo", "BillPaymentCheck", "BillPayment",
                                                "ReceivePayment", "Deposit")]
            others += [lk for lk in now.get("LinkedTxn") or []
                       if (lk.get("TxnType"), str(lk.get("TxnId"))) not in deleting
                       and lk.get("TxnType") in ("Payment", "CreditMemo", "BillPayment", "ReceivePayment")]
            if others:
                lk = others[0]
                s.blocked = (f"A {lk.get('TxnType')} (QuickBooks id {lk.get('TxnId')}) was recorded against it in "
                             "QuickBooks after this sync. Deleting it would unapply that money. Keep this "
                             f"{s.entity.lower()}, or remove that {lk.get('TxnType')} in QuickBooks first.")
        elif s.action == "deactivate":
            if now.get("Active") is False:
                s.side, s.action, s.note = "local", "forget", "already inactive in QuickBooks"
                s.action = "deactivate_local"
            s.body = {"Id": str(s.qbo_id), "SyncToken": token, "Active": False, "sparse": True}
            if s.entity == "Customer":
                s.twoway = {"qbo": {"active": False}, "qbo_seen": {"active": False}}
        elif s.action == "restore":
            _restore_body(s, now, token)
    _block_used_names(ctx, run, steps, deleting)


def _restore_body(s: UndoStep, now: JsonObject, token: str) -> None:
    wrote, back = dict(s.before or {}), dict(s.after or {})
    if set(wrote) <= set(FIELDS) and s.entity == "Customer":  # the two-way merge's field names
        values = qbo_values(now)
        changed = [f for f, v in wrote.items() if values.get(f) != v]
        if changed:
            s.blocked = (f"{', '.join(changed)} changed in QuickBooks after this sync (now "
                         f"{', '.join(repr(values.get(f)) for f in changed)}). Keep it, or change it by hand.")
            return
        s.body = qbo_patch(back, now, qbo_id=str(s.qbo_id), sync_token=token)
        s.twoway = {"qbo": back, "qbo_seen": back}
        return
    changed = [k for k, v in wrote.items() if k not in ("Line", "sparse") and not _same(now.get(k), v)]
    if changed:
        s.blocked = (f"{', '.join(sorted(changed))} changed in QuickBooks after this sync. Keep it as it is now, "
                     "or change it by hand.")
        return
    full = s.entity in TRANSACTIONS.values()
    # A field that had no value before is sent as null: a sparse update clears it that way.
    body = {**back, "Id": str(s.qbo_id), "SyncToken": token}
    if not full:
        body["sparse"] = True
        missing = sorted(k for k in wrote if k not in back)
        if missing:
            s.note = f"{', '.join(missing)} had no value recorded before this sync: left as they are"
    s.body = body


def _block_used_names(ctx: RunContext, run: Run, steps: list[UndoStep], deleting: set[tuple[str, str]]) -> None:
    """A name the run created that a transaction staying in QuickBooks uses stays active: a blocked
    transaction of this run, or one made in QuickBooks (or by a later sync) since the run began."""
    names = {(s.entity, str(s.qbo_id)): s for s in steps if s.action == "deactivate" and s.side == "quickbooks"
             and s.blocked is None}
    if not names:
        return
    kept = [s for s in steps if s.blocked is not None and s.action == "delete"]
    users: list[tuple[str, JsonObject]] = [(s.entity, {"Id": s.qbo_id, **(s.before or {})}) for s in kept]
    if run.started_at:
        since = quote(run.started_at.replace(microsecond=0, tzinfo=_dt.timezone.utc))
        for entity in LATER_TXN_ENTITIES:
            try:
                rows = list(ctx.qbo.query(entity, where=f"MetaData.LastUpdatedTime >= {since}", order_by="Id"))
            except QuickBooksError as exc:
                if exc.fatal or exc.transient:
                    raise
                continue  # an entity this company does not have
            users += [(entity, r) for r in rows if (entity, str(r.get("Id"))) not in deleting]
    for entity, txn in users:
        refs = [("Customer", (txn.get("CustomerRef") or {}).get("value")),
                ("Vendor", (txn.get("VendorRef") or {}).get("value"))]
        for ln in txn.get("Line") or []:
            for detail in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
                refs.append(("Item", ((ln.get(detail) or {}).get("ItemRef") or {}).get("value")))
        for ref_entity, ref in refs:
            step = names.get((ref_entity, str(ref))) if ref is not None else None
            if step is not None and step.blocked is None:
                doc = txn.get("DocNumber") or txn.get("Id")
                step.blocked = (f"The {entity} {doc} in QuickBooks uses it and stays, so it stays active. "
                                f"Remove or change that {entity.lower()} first to make it inactive.")


#: Work records an undo writes back: clients (deactivated, or fields restored) and sites (deactivated;
#: Work deletes neither, docs/work-api.md)
WORK_KINDS = ("client", "site")


def _work_now(ctx: RunContext, kind: str, work_id: str) -> tuple[Any, dict[str, Any]]:
    """The Work record as it is now, and its values in the merge's field names (a site: ``active``)."""
    if kind == "site":
        site = ctx.work.get_site(work_id)
        return site, {"active": bool(site.active)}
    client = ctx.work.get_client(work_id)
    return client, work_values(client)


def _work_side(ctx: RunContext, steps: list[UndoStep]) -> None:
    """Read the Work clients the Work-side steps change (their version, and what they hold now)."""
    for s in steps:
        if s.side != "work" or s.blocked is not None or s.action == "none" or s.work_id is None:
            continue
        if s.kind not in WORK_KINDS:
            s.action, s.note = "none", "only Work clients and sites are reversed on the Work side; change this one by hand"
            continue
        try:
            record, now = _work_now(ctx, s.kind, str(s.work_id))
        except WorkApiError as exc:
            if exc.fatal or exc.transient:
                raise
            s.blocked = f"Work no longer has this {s.kind} ({exc.message})."
            continue
        s.version = record.version
        if s.action == "deactivate":
            if not record.active:
                s.action, s.side, s.note = "deactivate_local", "local", "already inactive in Work"
            if s.kind == "client":
                s.twoway = {"work": {"active": False}}
            continue
        if s.kind == "site":  # sites are only ever imported (made inactive above), never changed
            s.action, s.note = "none", "a site's earlier values were not recorded; change it by hand"
            continue
        wrote, back = dict(s.before or {}), dict(s.after or {})
        changed = [f for f, v in wrote.items() if now.get(f) != v]
        if changed:
            s.blocked = f"{', '.join(changed)} changed in Work after this sync. Keep it, or change it by hand."
            continue
        s.body = work_patch(back, now)
        s.twoway = {"work": back}


def plan(ctx: RunContext, run_id: int) -> UndoPlan:
    """What undoing ``run_id`` would write, now (reads QuickBooks and Work; writes nothing)."""
    run = _run(run_id)
    before = ctx.qbo_requests
    done = {u.audit_id for u in UndoneWrite.select(UndoneWrite.audit_id).join(
        AuditEntry, on=(UndoneWrite.audit_id == AuditEntry.id)).where(AuditEntry.run_id == run.id)}
    rows = [r for r in AuditEntry.select().where(AuditEntry.run_id == run.id).order_by(AuditEntry.id)
            if r.id not in done]
    steps = _steps_from_audit(run, rows)
    _check(ctx, run, steps)
    _work_side(ctx, steps)
    return UndoPlan(run.id, run.kind, steps, already_undone=len(done), qbo_requests=ctx.qbo_requests - before)


# ---------------------------------------------------------------------------------------------------
# Doing it


def _info(step: UndoStep, run_id: int, undo_run_id: int | None, mode: str) -> JsonObject:
    twoway = dict(step.twoway)
    if mode == SYNC:
        # Leave the other side looking changed, so the next sync sends it again (see the module text).
        if step.side == "quickbooks" and "qbo" in twoway:
            twoway["work"] = dict(twoway["qbo"])
        elif step.side == "work" and "work" in twoway:
            twoway["qbo"] = dict(twoway["work"])
    info: JsonObject = {"audit_id": step.audit_ids[0], "audit_ids": step.audit_ids, "run_id": run_id,
                        "undo_run_id": undo_run_id,
                        "link": undo_apply.REMOVE if step.action in ("delete", "forget") else undo_apply.KEEP,
                        "twoway": twoway}
    if mode == HOLD:
        info["hold"] = f"undone by undo run {undo_run_id}"
    else:
        info["resync"] = True
        if step.kind == "site" and step.action == "deactivate":
            # sites sync only at onboarding: a later run's sites phase makes it active again
            info["reactivate"] = True if step.side == "quickbooks" else "work"
    return info


OUTCOME = {"delete": "deleted", "deactivate": "deactivated", "deactivate_local": "deactivated",
           "restore": "restored", "forget": "forgotten"}


def _phase(kind: str) -> str:
    return kind + "s"


def _qbo_change(step: UndoStep, info: JsonObject) -> Change:
    op = "delete" if step.action == "delete" else "update"
    meta: JsonObject = {"undo": info, "outcome": OUTCOME[step.action], "audit_action": "undo",
                        "before": step.before, "after": step.after if step.action != "delete" else None,
                        "message": step.describe(), "phase": _phase(step.kind), "label": step.label}
    return Change(step.kind, step.work_id, step.qbo_id, op, step.describe(), payload=dict(step.body),
                  entity=step.entity, label=step.label, meta=meta)


def _local(ctx: RunContext, step: UndoStep, info: JsonObject) -> None:
    with database.atomic():
        undo_apply.finish(info, kind=step.kind, work_id=step.work_id, qbo_id=step.qbo_id,
                          outcome=OUTCOME.get(step.action, step.action))
        audit.record("undo", step.kind, step.work_id, step.qbo_id, run_id=ctx.run_id, before=step.before,
                     after=None, message=step.describe())
    ctx.count(_phase(step.kind), OUTCOME.get(step.action, step.action))


def _work_key(step: UndoStep) -> str:
    digest = hashlib.sha256(json.dumps([step.audit_ids, step.body], sort_keys=True, default=str).encode())
    return "qbosync-undo-" + digest.hexdigest()[:40]


def _work_write(ctx: RunContext, ww: WorkWrite) -> bool:
    """Send one persisted Work undo write; True when Work holds it. Re-checked first: after a crash the
    write may already be in Work (its version moved on), and then it is not sent again."""
    meta = ww.meta or {}
    wid = str(meta["work_id"])
    body = dict(ww.body)
    record, now = _work_now(ctx, ww.kind, wid)
    update = ctx.work.update_site if ww.kind == "site" else ctx.work.update_client
    wanted = {f: v for f, v in (meta.get("values") or {}).items()}
    if not all(now.get(f) == v for f, v in wanted.items()):
        try:
            update(wid, record.version, idempotency_key=ww.idempotency_key, **body)
        except WorkApiError as exc:
            if exc.fatal or exc.transient:
                raise
            with database.atomic():
                ww.state = "failed"
                ww.save()
                audit.record("fail", ww.kind, wid, ww.qbo_id, run_id=ctx.run_id, before=wanted,
                             message=f"Work refused the undo write: {exc.message}")
            ctx.count(_phase(ww.kind), "failed")
            return False
    info = dict(meta["undo"])
    with database.atomic():
        ww.state, ww.work_id, ww.done_at = "done", wid, utcnow()
        ww.save()
        undo_apply.finish(info, kind=ww.kind, work_id=wid, qbo_id=ww.qbo_id, outcome=str(meta.get("outcome")))
        audit.record("undo", ww.kind, wid, ww.qbo_id, run_id=ctx.run_id, before=meta.get("before"), after=wanted,
                     message=str(meta.get("message", "")))
    ctx.count(_phase(ww.kind), str(meta.get("outcome")))
    return True


def _replay_work(ctx: RunContext) -> None:
    for ww in WorkWrite.select().where((WorkWrite.operation == "undo") & (WorkWrite.state == "pending")):
        ctx.check_cancel()
        _work_write(ctx, ww)


def _persist_work(ctx: RunContext, step: UndoStep, info: JsonObject) -> WorkWrite:
    values = step.after if isinstance(step.after, dict) else {}
    key = _work_key(step)
    with database.atomic():
        return WorkWrite.get_or_none(WorkWrite.idempotency_key == key) or WorkWrite.create(
            kind=step.kind, qbo_id=step.qbo_id or "", operation="undo", body=step.body, idempotency_key=key,
            state="pending", run_id=ctx.run_id,
            meta={"undo": info, "work_id": step.work_id, "values": values, "before": step.before,
                  "outcome": OUTCOME[step.action], "message": step.describe()})


def _refresh_tokens(ctx: RunContext, group: list[UndoStep]) -> None:
    """Take each record's SyncToken right before its write: reversing the writes before it (a payment
    deleted off an invoice, an invoice off a customer) moves QuickBooks' token on."""
    current = _read_current(ctx, group)
    for s in group:
        now = current.get((s.entity, str(s.qbo_id)))
        if now is not None and "SyncToken" in s.body:
            s.body["SyncToken"] = str(now.get("SyncToken"))


def _reset_cursors(kinds: Iterable[str]) -> None:
    names = {c for k in kinds for c in CURSORS.get(k, ())}
    if names:
        Cursor.delete().where(Cursor.name.in_(sorted(names))).execute()


def undo(engine: SyncEngine, run_id: int, *, mode: str, skip_blocked: bool = False,
         observer: Observer | None = None, cancel: CancelFlag | None = None) -> UndoResult:
    """Undo sync run ``run_id`` (see the module text). Holds the run lock: no sync runs meanwhile.

    Refuses (:class:`UndoRefused`) when later work depends on some record and ``skip_blocked`` is not
    set. ``mode``: :data:`HOLD` or :data:`SYNC`.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    observer = observer or Observer()
    cancel = cancel or threading.Event()
    started = time.monotonic()
    with engine.exclusive():
        engine.close_interrupted_runs()
        target = _run(run_id)
        undo_run = Run.create(kind="undo", started_at=utcnow(), state="running", counts={})
        ctx = engine.context(observer, cancel)
        ctx.run = undo_run
        observer.run_started(undo_run.id, 0)
        result = UndoResult(undo_run.id, target.id, "done", mode)
        fatal: BaseException | None = None
        try:
            # An interrupted undo (or sync) first finishes what it had in flight, exactly once.
            outbox.replay_unfinished(ctx)
            _replay_work(ctx)
            p = plan(ctx, target.id)
            if p.blocked and not skip_blocked:
                first = p.blocked[0]
                raise UndoRefused(
                    f"{len(p.blocked)} record(s) of sync run {target.id} cannot be undone because later work "
                    f"depends on them. First: {first.label}: {first.blocked}",
                    hint="Look at the preview ('qbosync undo RUN --dry-run'). Undo everything else and keep "
                         "those records with --skip-blocked, or resolve the reasons shown first.",
                    details={"blocked": [s.to_dict() for s in p.blocked]})
            for s in p.blocked:
                with database.atomic():
                    audit.record("skip", s.kind, s.work_id, s.qbo_id, run_id=undo_run.id,
                                 message=f"Kept, not undone: {s.blocked}")
                ctx.count(_phase(s.kind), "kept")
                result.kept.append(s.to_dict())
            for s in p.steps:
                if s.action == "none" and s.blocked is None:
                    with database.atomic():
                        audit.record("skip", s.kind, s.work_id, s.qbo_id, run_id=undo_run.id,
                                     message=f"Not undone: {s.note}")
                    ctx.count(_phase(s.kind), "not_reversible")
            for s in p.steps:
                if s.blocked is None and s.side == "local":
                    _local(ctx, s, _info(s, target.id, undo_run.id, mode))
            for kind in ORDER:
                ctx.check_cancel()
                group = [s for s in p.writes if s.kind == kind and s.side == "quickbooks"]
                if group:
                    _refresh_tokens(ctx, group)
                    outbox.submit(ctx, [_qbo_change(s, _info(s, target.id, undo_run.id, mode)) for s in group],
                                  phase=_phase(kind), total=len(group))
            for s in p.writes:
                if s.side == "work":
                    ctx.check_cancel()
                    _work_write(ctx, _persist_work(ctx, s, _info(s, target.id, undo_run.id, mode)))
            _reset_cursors({s.kind for s in p.steps if s.blocked is None})
            failed = OutboxEntry.select().where((OutboxEntry.run_id == undo_run.id) & (OutboxEntry.state == "failed"))
            result.failed = [{"kind": e.kind, "work_id": e.work_id, "label": (e.meta or {}).get("label"),
                              "error": e.last_error} for e in failed]
        except Cancelled as exc:
            result.state, result.error = "cancelled", exc.to_dict()
        except UndoRefused as exc:
            result.state, result.error = "refused", exc.to_dict()
            fatal = exc
        except QboSyncError as exc:
            result.state, result.error = "failed", exc.to_dict()
            fatal = exc
        except Exception as exc:  # a bug: recorded on the run, then raised
            result.state, result.error = "failed", {"type": type(exc).__name__, "message": str(exc)}
            fatal = exc
        undo_run.finished_at = utcnow()
        undo_run.state = result.state if result.state != "refused" else "failed"
        flat: dict[str, int] = {}
        for bucket in ctx.counts.values():
            for k, v in bucket.items():
                flat[k] = flat.get(k, 0) + v
        result.counts = flat
        undo_run.counts = ctx.counts
        undo_run.qbo_requests = result.qbo_requests = ctx.qbo_requests
        undo_run.error = result.error
        with database.atomic():
            undo_run.save()
    result.seconds = time.monotonic() - started
    if fatal is not None:
        raise fatal
    return result


def preview(engine: SyncEngine, run_id: int) -> UndoPlan:
    """The dry run: what :func:`undo` would write now. Reads only."""
    ctx = engine.context(Observer(), threading.Event())
    ctx.preview = True
    return plan(ctx, run_id)


def release(run_id: int) -> int:
    """Release the records held after undoing ``run_id``: the next sync treats them as usual (and
    reads their kinds from the beginning, so it sees them). Returns how many were released."""
    with database.atomic():
        rows = list(UndoHold.select().where((UndoHold.run_id == run_id) & (UndoHold.state == "held")))
        UndoHold.update(state="released", released_at=utcnow()).where(
            UndoHold.id.in_([h.id for h in rows] or [-1])).execute()
        _reset_cursors({h.kind for h in rows})
    return len(rows)


def holds() -> list[JsonObject]:
    return [{"kind": h.kind, "work_id": h.work_id, "qbo_id": h.qbo_id, "run_id": h.run_id,
             "undo_run_id": h.undo_run_id, "reason": h.reason}
            for h in UndoHold.select().where(UndoHold.state == "held").order_by(UndoHold.id)]


def link_of(kind: str, work_id: str) -> Link | None:
    return Link.get_or_none((Link.kind == kind) & (Link.work_id == work_id))
