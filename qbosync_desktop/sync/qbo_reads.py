"""QuickBooks records a read set aside (issue 16): one problem each, closed once read fine again.

The QuickBooks connector leaves out of a query or change feed a record that lacks its Id or SyncToken
or carries an amount that is not a number (``QboClient.take_unreadable``), so one odd record never
stops a sync. After each phase the engine turns each into an open problem of its kind, keyed
``qbo:<Id>`` like other QuickBooks-only problems (the customers phase reads such customers again on
every run), naming the record, the field and the value. A record sent without its Id is named by its
DisplayName, Name or DocNumber and keyed ``qbo:no-id:<Entity>:<name>`` (``qbo:no-id:<Entity>`` when
nothing names it: "a Customer record with no name or Id"), so it is one problem however many runs meet
it. At the start of a run the records with such an open problem are watched (``QboClient.watch``);
one a later read returns in good shape closes its problem: by its Id, or for one sent without an Id
by a record of that name read with its Id (the customers phase reads such customers again by name on
every run); the unnamed one when an answer listing that entity's records has every Id again. A
connector without these methods (a test double) sets nothing aside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qbosync_desktop.core.errors import QboRecordUnreadable
from qbosync_desktop.store.db import database
from qbosync_desktop.store.models.problems import Problem
from qbosync_desktop.sync import problems

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.connectors.qbo.client import QboUnreadable
    from qbosync_desktop.sync.context import RunContext

#: the code of these problems (``Problem.code`` and ``details.code``)
CODE = "qbo-unreadable"
#: QuickBooks entity → the kind its problems are kept under
KINDS = {"Customer": "client", "Vendor": "vendor", "Item": "item", "Invoice": "invoice", "Payment": "payment",
         "Bill": "bill", "CreditMemo": "credit_note", "RefundReceipt": "refund"}


def kind_of(entity: str) -> str:
    return KINDS.get(entity, entity.lower())


def watch(ctx: RunContext) -> None:
    """Tell the connector which set-aside records still have an open problem."""
    watcher = getattr(ctx.qbo, "watch", None)
    if watcher is None:
        return
    rows = Problem.select(Problem.details).where((Problem.code == CODE) & (Problem.state == "open"))
    watcher({(str(d.get("entity")), str(d.get("key") or d.get("qbo_id"))) for p in rows if (d := p.details or {})})


def who(u: QboUnreadable) -> str:
    """The record as the problem names it: "Customer “Ann Lee” (Id 58)", "a Customer record with no name
    or Id"."""
    if u.id:
        return f"{u.entity} \u201c{u.name}\u201d (Id {u.id})" if u.name else f"{u.entity} with Id {u.id}"
    return f"{u.entity} \u201c{u.name}\u201d" if u.name else f"a {u.entity} record with no name or Id"


def no_id_names(entity: str) -> list[str]:
    """The names of the ``entity`` records with an open problem because QuickBooks sent them without
    their Id (the customers phase reads them again by name)."""
    rows = Problem.select(Problem.details).where((Problem.code == CODE) & (Problem.state == "open")
                                                 & (Problem.work_id.startswith(f"qbo:no-id:{entity}:")))
    return sorted({str(d["name"]) for p in rows if (d := p.details or {}).get("name")})


def record(ctx: RunContext, phase: str) -> None:
    """Open a problem for each record the reads of ``phase`` set aside; close those read fine again."""
    take = getattr(ctx.qbo, "take_unreadable", None)
    again = getattr(ctx.qbo, "take_readable_again", None)
    bad = list(take()) if take is not None else []
    fine = set(again()) if again is not None else set()
    if ctx.preview or (not bad and not fine):
        return
    opened: list[Any] = []
    with database.atomic():
        for u in bad:
            fine.discard((u.entity, u.key))
            subject = who(u)
            err = QboRecordUnreadable(
                f"QuickBooks sent {'the ' if u.id or u.name else ''}{subject} in {u.where} {u.reason}. The sync "
                "left it out; everything else syncs.",
                details={"entity": u.entity, "qbo_id": u.id or None, "key": u.key, "name": u.name, "field": u.field,
                         "value": u.value, "code": CODE})
            key = f"qbo:{u.key}"
            known = Problem.get_or_none((Problem.kind == kind_of(u.entity)) & (Problem.work_id == key)
                                        & (Problem.state == "open"))
            p = problems.open_problem(kind_of(u.entity), key, err, run_id=ctx.run_id, qbo_id=u.id or None,
                                      extra={"record": f"{u.entity} {u.name or u.id or 'without a name or Id'} "
                                                       "in QuickBooks"})
            before = (known.details or {}) if known is not None else None
            # seen again unchanged (the same field and value, whichever read met it) is not news
            if before is None or (before.get("field"), before.get("value")) != (u.field, u.value):
                ctx.count(phase, "failed")
                opened.append(p)
        for entity, rid in fine:
            problems.close_problem(kind_of(entity), f"qbo:{rid}")
    ctx.state.open_problems.clear()
    for p in opened:
        ctx.observer.problem(problems.problem_dict(p))
