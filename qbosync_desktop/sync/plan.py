"""What a phase plans: one Change per record, and the Phase protocol every flow implements.

A sync is an ordered list of phases, one per entity (:mod:`qbosync_desktop.sync.pipeline` gives the
order). Each phase has two halves:

* ``plan(ctx) -> list[Change]`` reads Work and (cached) QBO data and decides, per record, what will
  happen: create / link / update / skip / fail / void / import. It writes nothing anywhere.
* ``apply(ctx, changes)`` performs the plan: QBO writes through the outbox (exactly once), links,
  problems and the audit log.

Why one planner for both: the preview must show exactly what "Enable" then does (issue 7), and the
only way to guarantee that is that the run executes the very plan the preview displays.

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from qbosync_desktop.core.errors import QboSyncError
from qbosync_desktop.core.json_types import JsonObject

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

#: Actions a Change may carry. "fail" changes become problems; "skip" ones are audited with a reason.
ACTIONS = ("create", "link", "update", "skip", "fail", "void", "import")
#: Actions that write to QuickBooks (through the outbox).
WRITE_ACTIONS = ("create", "update", "void")


@dataclass
class Change:
    """One planned action for one record.

    ``kind`` is the Work-side kind (client, item, invoice, ...) and ``entity`` the QBO entity
    (Customer, Item, Invoice, ...). ``payload`` is the QBO body to send for writes. ``problem`` is
    the plain-language error for a "fail". ``meta`` carries what applying needs later (fingerprint,
    Work version, the before/after for the audit, the Work ``updated_at``).
    """

    kind: str
    work_id: str | None
    qbo_id: str | None
    action: str
    reason: str = ""
    payload: JsonObject | None = None
    problem: QboSyncError | None = None
    entity: str = ""
    label: str = ""
    meta: JsonObject = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
        """The stable JSON shape the preview shows (CLI ``--json`` and the UI list behind a number)."""
        out: JsonObject = {
            "kind": self.kind,
            "work_id": self.work_id,
            "qbo_id": self.qbo_id,
            "action": self.action,
            "label": self.label,
            "reason": self.reason,
        }
        if self.problem is not None:
            out["problem"] = self.problem.to_dict()
        return out


@runtime_checkable
class Phase(Protocol):
    """What every phase provides. ``name`` is the entity label shown to people ("clients")."""

    name: str

    def plan(self, ctx: RunContext) -> list[Change]: ...

    def apply(self, ctx: RunContext, changes: list[Change]) -> None: ...
