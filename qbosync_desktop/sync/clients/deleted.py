"""Linked customers QuickBooks' change feed reports deleted (issue 16): one problem, and no writes.

QuickBooks Online cannot delete a customer (the API only makes it inactive); a customer disappears
when a person merges it into another in the web app, by renaming it to that customer's name. The
change feed then lists it as ``{"Id": "58", "status": "Deleted"}`` - its Id only, nothing about which
customer it went into (Intuit's change data capture reference; QBO_API_NOTES "CDC"), and its forms
now belong to the other customer.

For a customer linked to a Work client the sync

* opens one plain problem of the client naming the customer (:class:`QboCustomerDeleted`) and marks
  the link (``Link.synced["qbo_deleted"]`` = the deleted Id, :func:`~qbosync_desktop.sync.context.
  qbo_deleted`). The link is kept: removing it would make the next sync create the customer again,
  undoing a bookkeeper's merge behind their back;
* writes nothing to it: the two-way merge leaves the pair alone, the outbound clients phase refuses
  to update it (the same problem, not counted again), and an invoice, payment, credit note or refund
  of the client is its own problem naming the reason (``RunContext.will_exist`` is False for a marked
  link; ``payments.check`` for a payment of an invoice synced before) instead of QuickBooks' 2500
  "Invalid Reference Id" after a request (a new site is the counted skip ``client_not_synced``);
* closes the problem by itself once the link is fixed: removed (Reconcile's Re-create on the
  client's "was deleted in QuickBooks" row; the next sync creates the client again, or links it to
  an unlinked customer of the same name) or pointed at another customer.

An unlinked deleted customer needs nothing: no Work client depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from qbosync_desktop.core.errors import QboCustomerDeleted
from qbosync_desktop.store.models.base import utcnow
from qbosync_desktop.store.models.links import Link
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import audit, problems
from qbosync_desktop.sync.context import QBO_DELETED, QBO_DELETED_CODE, qbo_deleted
from qbosync_desktop.sync.plan import Change

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

KIND = "client"
ENTITY = "Customer"
#: the code of these problems (``Problem.code`` and ``details.code``)
CODE = QBO_DELETED_CODE


def _names(link: Link) -> tuple[str, str]:
    """(the customer's name in QuickBooks, the client's name in Work) as the link last knew them."""
    synced = link.synced or {}
    tw = synced.get("twoway") or {}
    sent = (synced.get("sent") or {}).get("DisplayName")
    qbo = (tw.get("qbo_seen") or {}).get("name") or (tw.get("qbo") or {}).get("name") or sent
    work = (tw.get("work") or {}).get("name") or sent
    return str(qbo or f"Id {link.qbo_id}"), str(work or link.work_id)


def problem(link: Link, qbo_id: str) -> QboCustomerDeleted:
    qbo_name, work_name = _names(link)
    return QboCustomerDeleted(
        f"Customer \u201c{qbo_name}\u201d was deleted or merged in QuickBooks (Id {qbo_id}). The Work client "
        f"\u201c{work_name}\u201d is linked to it, so the sync no longer writes that client - or its invoices, "
        "payments, credit notes and refunds - to QuickBooks, and does not create it again on its own.",
        details={"code": CODE, "qbo_id": qbo_id, "customer": qbo_name, "client": work_name})


def changes(ctx: RunContext, deleted: Iterable[str]) -> list[Change]:
    """One planned failure per linked client whose customer the read reported deleted, unless its link
    is marked already (its problem is open: the change feed reports a deletion again when the cursor's
    second comes back, and the run's read-back of its own writes covers it once more)."""
    ids = sorted({str(q) for q in deleted})
    if not ids:
        return []
    out = []
    for qid, link in sorted(ctx.links_by_qbo(KIND, ids).items()):
        if qbo_deleted(link):
            continue
        err = problem(link, qid)
        out.append(Change(KIND, link.work_id, qid, "fail", err.message, problem=err, entity=ENTITY,
                          label=_names(link)[1], meta={QBO_DELETED: qid}))
    return out


def refused(ctx: RunContext, link: Link, label: str) -> Change:
    """The outbound phase's answer for a client whose customer is gone: its one problem, unchanged."""
    err = problem(link, link.qbo_id)
    return Change(KIND, link.work_id, link.qbo_id, "fail", err.message, problem=err, entity=ENTITY, label=label,
                  meta={QBO_DELETED: link.qbo_id})


def mark(ctx: RunContext, planned: Iterable[Change]) -> None:
    """Mark the links of the planned failures (inside the caller's transaction); audited once."""
    for ch in planned:
        qid = ch.meta.get(QBO_DELETED)
        if ch.action != "fail" or not qid or ch.work_id is None:
            continue
        link = Link.get_or_none((Link.kind == KIND) & (Link.work_id == str(ch.work_id)))
        if link is None or link.qbo_id != qid or qbo_deleted(link):
            continue
        link.synced = {**(link.synced or {}), QBO_DELETED: qid}
        link.updated_at = utcnow()
        link.save()
        ctx.remember_link(link)
        audit.record("qbo_deleted", KIND, link.work_id, qid, run_id=ctx.run_id,
                     message=f"QuickBooks reported customer {qid} deleted (merged): nothing is written to it")


def close_fixed(ctx: RunContext) -> None:
    """Close the problems of clients whose link was fixed since: removed, or pointing elsewhere."""
    rows = list(Problem.select().where((Problem.kind == KIND) & (Problem.code == CODE) & (Problem.state == "open")))
    for p in rows:
        link = Link.get_or_none((Link.kind == KIND) & (Link.work_id == p.work_id))
        if link is not None and qbo_deleted(link):
            continue
        problems.close_problem(KIND, p.work_id)
        now: dict[str, Any] = {"qbo_id": link.qbo_id} if link is not None else {"link": None}
        audit.record("qbo_deleted_fixed", KIND, p.work_id, (p.details or {}).get("qbo_id"), run_id=ctx.run_id,
                     after=now, message="The link of a client whose customer was deleted in QuickBooks was fixed")
    if rows:
        ctx.state.open_problems.pop(KIND, None)
