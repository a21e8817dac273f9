"""The phase pipeline shared by the preview and the run.

A sync is an ordered list of phases, one per entity (clients, sites, items, invoices, payments,
vendors, bills; engineer E inserts the inbound/two-way phases). Each phase has two halves:

* ``plan(ctx) -> list[Change]`` reads Work and (cached) QBO data and decides, per record, what will
  happen: create / link / update / skip / fail / void / import. It writes nothing anywhere.
* ``apply(ctx, changes)`` performs the plan: QBO writes through the outbox (exactly once), links,
  problems and the audit log.

Why one planner for both: the preview must show exactly what "Enable" then does (issue 7), and the
only way to guarantee that is that the run executes the very plan the preview displays.

Why this order: QBO references must exist before they are used - customers before invoices before
payments, items before invoices, vendors before bills. Within a phase, records are independent, so
they can go to QBO in batches of up to 30 (QBO's batch limit), several batches at once.

Extension point for other areas: :func:`register_phase` adds a phase factory before or after a named
built-in phase, so the two-way code (issue 7) does not edit this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from qbosync_desktop.errors import QboSyncError

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
    payload: dict[str, Any] | None = None
    problem: QboSyncError | None = None
    entity: str = ""
    label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape the preview shows (CLI ``--json`` and the UI list behind a number)."""
        out: dict[str, Any] = {
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


PhaseFactory = Callable[["RunContext"], "Phase | None"]

# Built-in phases in dependency order: (name, "module:factory"). A factory returns None when the
# settings turn its entity off. Imported lazily so that the pipeline's shape is readable here.
BUILTIN: list[tuple[str, str]] = [
    # issue 7: QuickBooks customers ⇄ Work clients (imports, matches, merged two-way updates) first,
    # so the outbound clients phase sees every link it made; sites (onboarding only) after clients.
    ("customers", "qbosync_desktop.sync.flows.clients_in:phase"),
    ("clients", "qbosync_desktop.sync.flows.clients_out:phase"),
    ("sites", "qbosync_desktop.sync.flows.sites:phase"),
    ("items", "qbosync_desktop.sync.flows.items:phase"),
    ("invoices", "qbosync_desktop.sync.flows.invoices:phase"),
    ("payments", "qbosync_desktop.sync.flows.payments:phase"),
    ("vendors", "qbosync_desktop.sync.flows.vendors:phase"),
    ("bills", "qbosync_desktop.sync.flows.bills:phase"),
]

_extra: list[tuple[str, str, PhaseFactory]] = []


def register_phase(factory: PhaseFactory, *, before: str | None = None, after: str | None = None) -> None:
    """Insert ``factory``'s phase before/after the built-in phase of that name (issue 7's inbound
    and two-way phases use this). Registering the same factory twice is a no-op."""
    if (before is None) == (after is None):
        raise ValueError("give exactly one of before= / after=")
    anchor, where = (before, "before") if before is not None else (after, "after")
    assert anchor is not None
    if any(f is factory for _, _, f in _extra):
        return
    _extra.append((where, anchor, factory))


def _load(ref: str) -> PhaseFactory:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_phases(ctx: RunContext) -> list[Phase]:
    """The ordered phases for ``ctx.settings``; entities switched off yield no phase."""
    factories: list[PhaseFactory] = []
    for name, ref in BUILTIN:
        factories += [f for where, anchor, f in _extra if where == "before" and anchor == name]
        factories.append(_load(ref))
        factories += [f for where, anchor, f in _extra if where == "after" and anchor == name]
    phases: list[Phase] = []
    for factory in factories:
        phase = factory(ctx)
        if phase is not None:
            phases.append(phase)
    return phases
