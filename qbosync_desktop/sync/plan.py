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

    from qbosync_desktop.store.models.outbox import OutboxEntry
    from qbosync_desktop.sync.context import RunContext

#: Actions a Change may carry. "fail" changes become problems; "skip" ones are audited with a reason.
#: "delete" is for sales forms QuickBooks cannot void (a credit memo, a refund receipt voided in Work)
#: and for an undo's reversal of a created transaction (sync/undo.py).
ACTIONS = ("create", "link", "update", "skip", "fail", "void", "delete", "import")
#: Actions that write to QuickBooks (through the outbox).
WRITE_ACTIONS = ("create", "update", "void", "delete")


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
        if self.meta.get("changes"):
            # An existing QuickBooks record this change would alter (or, linked, leaves as it is):
            # field by field, before → after (issue 15, sync/rules/keep.py).
            out["changes"] = self.meta["changes"]
        return out


@runtime_checkable
class Phase(Protocol):
    """What every phase provides. ``name`` is the entity label shown to people ("clients")."""

    name: str

    def plan(self, ctx: RunContext) -> list[Change]: ...

    def apply(self, ctx: RunContext, changes: list[Change]) -> None: ...


# ---------------------------------------------------------------------------------------------------
# Optional hooks. The engine and the outbox know no specific flow: a phase that needs more than
# plan/apply provides one of these, and generic code asks ``isinstance(phase, Hook)``.


@runtime_checkable
class Prefetches(Protocol):
    """A phase whose Work reads can start in the background when the run starts."""

    def prefetch(self, ctx: RunContext) -> None: ...


@runtime_checkable
class Probes(Protocol):
    """A phase with a Work change feed of its own (not a :class:`Prefetches` list) whose first page
    can be read when an incremental run starts, alongside every other phase's reader."""

    def probe(self, ctx: RunContext) -> None: ...


@runtime_checkable
class Streams(Protocol):
    """A phase that plans and applies in one pass in a run (never in a preview). Returns how many
    changes there were."""

    def stream(self, ctx: RunContext) -> int: ...


@runtime_checkable
class Settles(Protocol):
    """A phase with work to finish once every phase has applied (e.g. reading back its own writes).

    The engine calls ``settle`` only in a run whose outbox work is all finished; it returns True when
    it did something, and the engine then commits the cursors it staged."""

    def settle(self, ctx: RunContext) -> bool: ...


class StalePolicy(Protocol):
    """How a flow answers a stale SyncToken (QuickBooks 5010) on an outbox entry it governs.

    Without a policy the outbox re-reads the record and re-sends the same body with the current
    SyncToken (Work owns what it sends). A two-way flow may instead decide per entry: the pipeline
    lists the policies (``pipeline.STALE_POLICIES``), the run carries them (``ctx.stale_policies``)."""

    def governs(self, entry: OutboxEntry) -> bool:
        """Is this entry's 5010 the policy's to decide (also on a second 5010 in a row)?"""
        ...

    def resend_meta(self, ctx: RunContext, entry: OutboxEntry, meta: JsonObject,
                    current: JsonObject) -> JsonObject | None:
        """``current`` is the record as re-read. Return the meta to re-send the entry with (the
        outbox sets the current SyncToken), or None when the policy recorded the entry otherwise
        (e.g. deferred it to the next merge)."""
        ...
