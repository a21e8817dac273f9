"""The phase pipeline shared by the preview and the run: which phases run, in which order.

A sync is an ordered list of phases, one per entity. Each phase plans (reads, decides, writes nothing)
and applies (writes through the outbox); see :mod:`qbosync_desktop.sync.plan`. The preview runs only the
plans, so it shows exactly what "Enable" then does.

Why this order: QBO references must exist before they are used - customers before invoices before
payments, items before invoices, vendors before bills; credit notes after invoices (a credit memo
needs its items, its application needs the invoice), refunds after payments and credit notes. The
proof (reading back totals and balances) is the credit applications phase's settle step, once every
phase has applied (sync/proof.py). The two-way customers phase comes first so the
outbound clients phase sees every link it made; sites (onboarding only) after clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from qbosync_desktop.sync.clients import inbound, outbound, stale
from qbosync_desktop.sync.flows import bills, credits, invoices, items, payments, refunds, sites, vendors
from qbosync_desktop.sync.plan import Phase, StalePolicy

if TYPE_CHECKING:  # pragma: no cover
    from qbosync_desktop.sync.context import RunContext

PhaseFactory = Callable[["RunContext"], "Phase | None"]

#: Phase factories in dependency order. A factory returns None when the settings turn its entity off.
PHASES: tuple[PhaseFactory, ...] = (
    inbound.phase,
    outbound.phase,
    sites.phase,
    items.phase,
    invoices.phase,
    credits.phase,
    payments.phase,
    credits.applications_phase,
    refunds.phase,
    vendors.phase,
    bills.phase,
)


#: How a stale SyncToken (5010) is answered, for the outbox entries a flow governs (every run carries
#: them, whatever the settings: a replay may meet an entry written before a setting changed). An
#: entry none governs is re-sent with the current SyncToken.
STALE_POLICIES: tuple[StalePolicy, ...] = (stale.POLICY,)


def build_phases(ctx: RunContext) -> list[Phase]:
    """The ordered phases for ``ctx.settings``; entities switched off yield no phase."""
    return [phase for phase in (factory(ctx) for factory in PHASES) if phase is not None]
